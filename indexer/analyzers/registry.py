"""Which analyzers run: every one a library's settings enable, besides CLIP (which every
indexed photo has); and the writers of every analyzer's records, enabled or not, so that a
photo whose content changed keeps no record any analyzer made of the old content."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from indexer.analyzers.base import Analyzer, writers
from indexer.analyzers.exif import ExifAnalyzer
from indexer.analyzers.faces import FaceAnalyzer
from indexer.analyzers.metadata import MetadataAnalyzer
from indexer.analyzers.text import TextAnalyzer
from indexer.analyzers.views import ViewsAnalyzer, shape_for, wanted
from retrieval.errors import UsageError
from retrieval.faces.model import FACES_ANALYZER
from retrieval.media.views import VIEWS_ANALYZER
from retrieval.metadata.model import METADATA_ANALYZER
from retrieval.model.protocol import Encoder
from retrieval.records import Shape
from retrieval.settings import Settings
from retrieval.store.analyses import AnalysisWriter
from retrieval.store.details import replace_details
from retrieval.store.faces import replace_faces
from retrieval.store.metadata import replace_metadata
from retrieval.store.text import replace_text
from retrieval.store.vectors import replace_views
from retrieval.text.model import TEXT_ANALYZER

# Every analyzer's records and the writer that replaces (or, given None, removes) them.
RECORD_WRITERS: Mapping[str, AnalysisWriter] = {
    ExifAnalyzer.name: replace_details,
    VIEWS_ANALYZER: replace_views,
    FACES_ANALYZER: replace_faces,
    TEXT_ANALYZER: replace_text,
    METADATA_ANALYZER: replace_metadata,
}


@dataclass(frozen=True)
class Spec:
    """What the library's status needs of an enabled analyzer, without loading it."""

    name: str
    version: int
    videos: bool
    deferred: bool
    shape: Shape | None


def specs(settings: Settings) -> list[Spec]:
    """The analyzers `settings` enable, in the order they run."""
    chosen = [Spec(ExifAnalyzer.name, ExifAnalyzer.version, True, False, None)]
    if wanted(settings):
        chosen.append(
            Spec(
                VIEWS_ANALYZER, ViewsAnalyzer.version, False, True, shape_for(settings)
            )
        )
    if settings.faces:
        chosen.append(Spec(FACES_ANALYZER, FaceAnalyzer.version, True, True, None))
    if settings.text:
        chosen.append(Spec(TEXT_ANALYZER, TextAnalyzer.version, True, True, None))
    if settings.metadata:
        chosen.append(
            Spec(METADATA_ANALYZER, MetadataAnalyzer.version, True, False, None)
        )
    return chosen


def enabled(settings: Settings, encoder: Encoder | None = None) -> list[Analyzer]:
    """The analyzers `settings` turn on, in the order they run. EXIF is always read,
    and what other programs wrote (XMP, IPTC, Takeout) unless turned off; a wide photo's
    views need the library's `encoder` (without one, none are made)."""
    names = [
        s.name
        for s in specs(settings)
        if s.name != VIEWS_ANALYZER or encoder is not None
    ]
    return by_name(names, settings, encoder)


def by_name(
    names: Sequence[str], settings: Settings, encoder: Encoder | None
) -> list[Analyzer]:
    """The analyzers of these names, in that order (a Ray worker runs exactly the
    driver's)."""

    def views() -> Analyzer:
        if encoder is None:
            raise ValueError("the views analyzer needs the library's encoder")
        return ViewsAnalyzer(settings, encoder)

    makers: dict[str, Callable[[], Analyzer]] = {
        ExifAnalyzer.name: ExifAnalyzer,
        VIEWS_ANALYZER: views,
        FACES_ANALYZER: lambda: FaceAnalyzer(settings),
        # On a core of its own where other analyzers of the second pass take the rest.
        TEXT_ANALYZER: lambda: TextAnalyzer(
            settings, threads=1 if {VIEWS_ANALYZER, FACES_ANALYZER} & set(names) else 0
        ),
        METADATA_ANALYZER: MetadataAnalyzer,
    }
    missing = [n for n in names if n not in makers]
    if missing:
        raise UsageError(
            f"unknown analyzer {', '.join(missing)}: this photosearch knows "
            f"{', '.join(makers)} (install the same version on every node)"
        )
    return [makers[n]() for n in names]


def every_writer(analyzers: Sequence[Analyzer] = ()) -> dict[str, AnalysisWriter]:
    """The writers of every known analyzer's records, and of these analyzers' (theirs
    win: an analyzer may keep track of what it wrote)."""
    return {**RECORD_WRITERS, **writers(analyzers)}
