"""What photosearch hands back to other photo programs: each photo's sidecar, as
retrieval.metadata.write merges it, for the photos of a library (or of one folder)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.metadata.embedded import read_embedded
from retrieval.metadata.model import Region
from retrieval.metadata.read import read_metadata
from retrieval.metadata.write import (
    Wanted,
    merged_sidecar,
    sidecar_path,
    write_atomically,
)
from retrieval.metadata.xmp import MAX_PACKET, XmpError
from retrieval.store.models import STATUS_OK

if TYPE_CHECKING:
    from retrieval.store import Store


@dataclass(frozen=True)
class Outcome:
    sidecar: Path
    # "written" (or would be, in a dry run), "unchanged", or "failed" with `reason`.
    state: str
    reason: str = ""


def wanted_sidecars(
    store: Store,
    *,
    label_sets: Sequence[str] = (),
    people: bool = False,
    under: str | None = None,
) -> Iterator[tuple[str, Wanted]]:
    """Each live photo (at or below `under`) with what its sidecar should say:
    its assigned tags of `label_sets` (all when none is named), and with `people` its
    named persons' faces."""
    states = store.file_states(under=[under] if under else None)
    photos = {s.image_id: path for path, s in states.items() if s.status == STATUS_OK}
    labels: dict[int, list[str]] = {}
    for name in label_sets or [None]:  # type: ignore[list-item]
        for tag in store.tags(assigned_only=True, label_set=name):
            labels.setdefault(tag.image_id, []).append(tag.label)
    faces = store.people_of(photos) if people else {}
    for image_id, path in sorted(photos.items(), key=lambda item: item[1]):
        regions = tuple(
            Region(
                p["name"],
                (
                    p["box"][0],
                    p["box"][1],
                    p["box"][2] - p["box"][0],
                    p["box"][3] - p["box"][1],
                ),
            )
            for p in faces.get(image_id, [])
            if p["name"] and p["t"] is None
        )
        yield (
            path,
            Wanted(
                keywords=tuple(sorted(set(labels.get(image_id, [])))),
                regions=regions,
                write_regions=people,
            ),
        )


def write_sidecars(
    items: Iterator[tuple[str, Wanted]],
    *,
    style: str,
    parent: str,
    dry_run: bool = False,
) -> Iterator[Outcome]:
    """Each photo's sidecar merged and written (not in a dry run) where it changes; a
    photo with nothing to say and no sidecar is passed over. Photos that share a
    sidecar (Lightroom's IMG_0001.xmp, for IMG_0001.CR2 and IMG_0001.JPG) give it the
    keywords of both, and the regions of the first."""
    shared: dict[Path, tuple[str, Wanted]] = {}
    for photo, wanted in items:
        sidecar = sidecar_path(photo, style)
        if sidecar in shared:
            first, before = shared[sidecar]
            keywords = tuple(sorted({*before.keywords, *wanted.keywords}))
            wanted = replace(
                before, keywords=keywords, regions=before.regions or wanted.regions
            )
            photo = first
        shared[sidecar] = (photo, wanted)
    for sidecar, (photo, wanted) in shared.items():
        exists = sidecar.is_file()
        if not exists and not wanted.keywords and not wanted.regions:
            continue
        try:
            existing = None
            if exists:
                if sidecar.stat().st_size > MAX_PACKET:
                    raise XmpError("over the size limit")
                existing = sidecar.read_bytes()
            if wanted.regions:
                wanted = replace(wanted, orientation=read_embedded(photo).orientation)
            if existing is None:
                wanted = replace(wanted, seed_keywords=read_metadata(photo).keywords)
            data = merged_sidecar(existing, wanted, parent, style)
        except (XmpError, OSError) as exc:
            yield Outcome(sidecar, "failed", f"cannot read it ({exc}); left as it is")
            continue
        if data is None:
            yield Outcome(sidecar, "unchanged")
            continue
        if not dry_run:
            try:
                write_atomically(sidecar, data)
            except OSError as exc:
                why = exc.strerror or type(exc).__name__
                yield Outcome(sidecar, "failed", f"cannot write it: {why}")
                continue
        yield Outcome(sidecar, "written")
