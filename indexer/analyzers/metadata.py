"""The metadata analyzer: what the photo's other programs wrote of it (retrieval.metadata:
XMP embedded and in sidecars, IPTC, Google Takeout's JSON). It needs no pixels: the file
and its sidecars are read alone, so a library catches up, and a changed sidecar is read
again, without decoding or encoding anything."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from indexer.analyzers.base import Photo
from retrieval.faces.model import FACES_ANALYZER
from retrieval.faces.regions import name_from_regions
from retrieval.media.places import places_of
from retrieval.metadata.model import METADATA_ANALYZER, Metadata
from retrieval.metadata.read import read_metadata, sidecar_stamps
from retrieval.store.metadata import replace_metadata

if TYPE_CHECKING:
    from retrieval.library import Library


class MetadataAnalyzer:
    name = METADATA_ANALYZER
    version = 1
    picture_side = 0
    videos = True
    deferred = False  # no pixels: read as the photo becomes searchable
    shape = None
    # Its step names persons from other programs' face regions: once the faces
    # analyzer's has placed the new faces among the persons.
    finish_after = (FACES_ANALYZER,)

    def prepare(self, photo: Photo) -> Metadata:
        return read_metadata(photo.path)

    def analyze(self, prepared: Sequence[Any]) -> list[Metadata]:
        """The records, with the towns their positions are in (looked up together)."""
        located = [n for n, m in enumerate(prepared) if m.latitude is not None]
        places = places_of(
            [(prepared[n].latitude, prepared[n].longitude) for n in located]
        )
        found = list(prepared)
        for n, place in zip(located, places, strict=True):
            found[n] = replace(found[n], place=place)
        return found

    write = staticmethod(replace_metadata)

    def finish(self, library: Library) -> None:
        """Faces named in other programs name the persons found here (it runs after
        the faces analyzer's own step, which places new faces among the persons)."""
        name_from_regions(library.store)


def sidecars_changed(library: Library, folder: str | None = None) -> int:
    """The photos whose sidecars changed, came or went since they were read (those at or
    below `folder` when given) made due for the metadata analyzer again, which reads
    them alone: nothing is decoded or encoded. How many."""
    changed = [
        image_id
        for image_id, path, read in library.store.metadata_read(folder)
        if sidecar_stamps(path) != read
    ]
    if changed:
        library.store.forget_analysis(METADATA_ANALYZER, changed)
    return len(changed)
