"""An existing library catching up with its analyzers: the photos an enabled analyzer has
not looked at (it is new, or of a newer version) are read again, each decoded once for
every analyzer that needs pixels, and their records written a batch per transaction.
CLIP is never run here: the vectors are there already.

A crash or a stop loses at most the batch in flight; the next run finds the rest, since
what was written is recorded (retrieval.store.analyses).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from indexer.analyzers.base import (
    Analyzer,
    Failed,
    Photo,
    analyze_all,
    picture_side,
    prepare_all,
    writers,
)
from retrieval.errors import DecodeError
from retrieval.faults import checkpoint
from retrieval.library import Library
from retrieval.media.decode import decode
from retrieval.media.video.probe import is_video
from retrieval.records import Analyzed

log = logging.getLogger(__name__)

BATCH = 64


@dataclass(frozen=True)
class _Due:
    image_id: int
    path: str
    analyzers: tuple[Analyzer, ...]  # those that have not looked at it


def due(
    library: Library, analyzers: Sequence[Analyzer], limit: int, after: int = 0
) -> list[_Due]:
    """The first `limit` images (by id, above `after`) some analyzer has to look at."""
    wanted: dict[int, tuple[str, list[Analyzer]]] = {}
    for analyzer in analyzers:
        for image_id, path in library.store.pending_analyses(
            analyzer.name,
            analyzer.version,
            limit,
            videos=analyzer.videos,
            after=after,
        ):
            wanted.setdefault(image_id, (path, []))[1].append(analyzer)
    first = sorted(wanted)[:limit]
    return [_Due(i, wanted[i][0], tuple(wanted[i][1])) for i in first]


def _prepared(item: _Due, max_pixels: int) -> dict[str, Any] | None:
    """The analyzers' prepared inputs for one image; None when its file is gone (its
    absence is the next scan's to deal with)."""
    side = picture_side(item.analyzers)
    photo = Photo(item.path)
    # A video is not decoded as a photo: the analyzers that take videos read it.
    if side > 0 and not is_video(item.path):
        try:
            decoded = decode(item.path, max_pixels=max_pixels, draft_size=side)
        except DecodeError as exc:
            if not os.path.lexists(item.path):
                return None
            # The pixel analyzers fail on this photo; the others still look at it.
            needing = [a for a in item.analyzers if a.picture_side > 0]
            rest = [a for a in item.analyzers if a.picture_side == 0]
            prepared: dict[str, Any] = {
                a.name: Failed(f"{a.name}: {exc}") for a in needing
            }
            prepared.update(prepare_all(rest, photo))
            return prepared
        photo = Photo(item.path, decoded.image, decoded.info)
    return prepare_all(item.analyzers, photo)


def backfill_batch(
    library: Library, analyzers: Sequence[Analyzer], after: int = 0
) -> tuple[int, int]:
    """Analyse one batch of the images due (the settings' batch size), in one
    transaction: (how many, the last id looked at; 0 when none was due)."""
    batch = due(library, analyzers, library.settings.batch_size or BATCH, after)
    if not batch:
        return 0, 0
    workers = library.settings.decode_workers or os.cpu_count() or 1
    max_pixels = library.settings.max_pixels
    with ThreadPoolExecutor(max_workers=min(workers, len(batch))) as pool:
        prepared = list(pool.map(lambda item: _prepared(item, max_pixels), batch))
    present = [(item, p) for item, p in zip(batch, prepared, strict=True) if p]
    outcomes = analyze_all(analyzers, [p for _, p in present])
    rows: list[tuple[int, Analyzed]] = [
        (item.image_id, outcome)
        for (item, _), found in zip(present, outcomes, strict=True)
        for outcome in found
        if any(a.name == outcome.analyzer for a in item.analyzers)
    ]
    library.store.write_analyses(rows, writers(analyzers))
    checkpoint("analyses-committed")
    for image_id, outcome in rows:
        if outcome.error is not None:
            log.warning("cannot analyse image %d: %s", image_id, outcome.error)
    return len(batch), batch[-1].image_id


def backfill(
    library: Library,
    analyzers: Sequence[Analyzer],
    *,
    stop: Callable[[], bool] | None = None,
    progress: bool = False,
) -> int:
    """Every image due analysed, a batch at a time, until none is left or `stop()`;
    how many were."""
    if not analyzers:
        return 0
    done, after = 0, 0
    bar = tqdm(unit="img", desc="analysing", disable=not progress, leave=False)
    while stop is None or not stop():
        count, after = backfill_batch(library, analyzers, after)
        if not count:
            break
        done += count
        bar.update(count)
    bar.close()
    if done:
        log.info(
            "analysed %d photos indexed before (%s)",
            done,
            ", ".join(a.name for a in analyzers),
        )
    return done
