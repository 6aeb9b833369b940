"""The analyzer interface, and running a batch of photos through analyzers.

An analyzer looks at a photo decoded once for all of them and yields a record of its own
per photo, which its `write` puts in its own tables (retrieval.store.analyses). It has a
name and a version: the store records which version looked at each image, so that a
library gets a new analyzer's records, or a newer version's, on its next `index` or from
the daemon (indexer.analyzers.backfill), and nothing else is computed again.

Its work comes in two steps, as CLIP's does: `prepare`, in the decode threads, for the
per-photo work (cropping, resizing, reading a file); `analyze`, on a batch, for the model.
Whatever one of them raises fails that analysis of that photo, recorded with its reason:
never the photo's other records, nor the batch.

Indexing runs in two passes (indexer.pipeline). The first makes a photo searchable: CLIP's
vector of its centre, and the analyzers that need no pixels (EXIF, other programs'
metadata), a batch per transaction. The second, `deferred` analyzers (the views of a wide
photo, faces, text), looks at photos already searchable, newest first, each decoded once
for all of them (indexer.analyzers.backfill).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from retrieval.errors import first_line
from retrieval.records import Analyzed, Shape

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from PIL import Image
    from sqlalchemy.orm import Session

    from retrieval.library import Library
    from retrieval.media.exif import PhotoInfo


@dataclass(frozen=True)
class Photo:
    """What analyzers look at: one file, decoded once for all of them."""

    path: str
    # Upright RGB, its short side at least the largest `picture_side` of the analyzers
    # (or the original's, if smaller); None: not decoded (the analyzers that need no
    # pixels read what they need themselves).
    picture: Image.Image | None = None
    # What the decoder read of its EXIF (or a video's container); None: not read.
    info: PhotoInfo | None = None


class Analyzer(Protocol):
    @property
    def name(self) -> str:
        """Its records' name in the store (the analyses table): never reused."""
        ...

    @property
    def version(self) -> int:
        """Bumped when its records change meaning: every photo is analysed again."""
        ...

    @property
    def picture_side(self) -> int:
        """The short side, in pixels, of the picture it needs; 0: none (it reads what it
        needs from the file or from `Photo.info`)."""
        ...

    @property
    def videos(self) -> bool:
        """Whether videos are its to analyse (a video's `Photo` has no picture)."""
        ...

    @property
    def deferred(self) -> bool:
        """Whether it runs in the second pass, once the photo is searchable (it needs
        pixels, or a model besides CLIP's first look); else in the first, with CLIP."""
        ...

    @property
    def shape(self) -> Shape | None:
        """Which photos are its to look at by their size (None: every photo)."""
        ...

    @property
    def finish_after(self) -> tuple[str, ...]:
        """The analyzers whose `finish` must run before its own, when they run too."""
        ...

    def prepare(self, photo: Photo) -> Any:
        """The per-photo part, thread-safe (decode threads run it)."""
        ...

    def analyze(self, prepared: Sequence[Any]) -> Sequence[Any]:
        """The records of a batch of prepared photos, in order."""
        ...

    def write(self, s: Session, rows: Sequence[tuple[int, Any]]) -> None:
        """Inside the batch's transaction: replace these images' records with these
        (None: remove them)."""
        ...

    def finish(self, library: Library) -> None:
        """After a run's writes (an `index`, a round of the daemon's): what needs the
        records of many photos together, such as grouping faces into persons."""
        ...


@dataclass(frozen=True)
class Failed:
    """A prepare step that raised: why."""

    reason: str


def reason_of(analyzer: Analyzer, exc: BaseException) -> str:
    return f"{analyzer.name}: {first_line(exc, 200)}"


def prepare_all(analyzers: Sequence[Analyzer], photo: Photo) -> dict[str, Any]:
    """Each analyzer's prepared input for one photo (a `Failed` where it raised)."""
    prepared: dict[str, Any] = {}
    for analyzer in analyzers:
        if photo.picture is None and analyzer.picture_side > 0 and not analyzer.videos:
            continue  # not decoded for it (a video): not its to look at here
        try:
            prepared[analyzer.name] = analyzer.prepare(photo)
        # An analyzer's own code may raise anything on one odd photo: that analysis
        # of that photo fails, and says why.
        except Exception as exc:  # noqa: BLE001
            prepared[analyzer.name] = Failed(reason_of(analyzer, exc))
    return prepared


def analyze_all(
    analyzers: Sequence[Analyzer], prepared: Sequence[dict[str, Any]]
) -> list[tuple[Analyzed, ...]]:
    """Each photo's outcomes, from its prepared inputs (see `prepare_all`): one batch
    per analyzer."""
    outcomes: list[list[Analyzed]] = [[] for _ in prepared]
    for analyzer in analyzers:
        mine = [
            (n, p[analyzer.name])
            for n, p in enumerate(prepared)
            if analyzer.name in p and not isinstance(p[analyzer.name], Failed)
        ]
        for n, p in enumerate(prepared):
            failed = p.get(analyzer.name)
            if isinstance(failed, Failed):
                outcomes[n].append(_failure(analyzer, failed.reason))
        if not mine:
            continue
        try:
            records = list(analyzer.analyze([item for _, item in mine]))
            if len(records) != len(mine):
                raise RuntimeError(
                    f"gave {len(records)} records for {len(mine)} photos"
                )
        except Exception as exc:  # noqa: BLE001  # see prepare_all
            reason = reason_of(analyzer, exc)
            for n, _ in mine:
                outcomes[n].append(_failure(analyzer, reason))
            continue
        for (n, _), record in zip(mine, records, strict=True):
            outcomes[n].append(Analyzed(analyzer.name, analyzer.version, record))
    return [tuple(o) for o in outcomes]


def _failure(analyzer: Analyzer, reason: str) -> Analyzed:
    return Analyzed(analyzer.name, analyzer.version, None, reason)


def picture_side(analyzers: Sequence[Analyzer]) -> int:
    """The short side a photo must be decoded at for all of these analyzers."""
    return max((a.picture_side for a in analyzers), default=0)


def writers(analyzers: Sequence[Analyzer]) -> dict[str, Any]:
    """The store's writers of these analyzers' records, by name."""
    return {a.name: a.write for a in analyzers}


def first_pass(analyzers: Sequence[Analyzer]) -> list[Analyzer]:
    """Those that run with CLIP, as a photo becomes searchable."""
    return [a for a in analyzers if not a.deferred]


def finish_order(analyzers: Sequence[Analyzer]) -> list[Analyzer]:
    """The analyzers in the order their `finish` steps must run: each after those it
    names in `finish_after`, else in the order given."""
    left = list(analyzers)
    ordered: list[Analyzer] = []
    while left:
        names = {a.name for a in left}
        ready = next(
            (a for a in left if not names.intersection(a.finish_after)), left[0]
        )
        ordered.append(ready)
        left.remove(ready)
    return ordered


def finish_all(analyzers: Sequence[Analyzer], library: Library) -> None:
    """Each analyzer's step after a run's writes, in their declared order; one that
    raises is logged, and the records written stay (the next run finishes again)."""
    for analyzer in finish_order(analyzers):
        try:
            analyzer.finish(library)
        except Exception as exc:  # noqa: BLE001  # see prepare_all
            log.warning("%s", reason_of(analyzer, exc))
