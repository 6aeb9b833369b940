"""Carrying out a plan (indexer.plan): the library's bookkeeping for what moved, came back
or went (no pixels read), copies given their original's vectors, then what is new or
changed decoded and encoded in batches, here or on a Ray cluster, each batch written in
one transaction, tagged with the saved label sets, and mirrored in the vector index."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from indexer.analyzers.base import Analyzer, first_pass
from indexer.analyzers.registry import every_writer
from indexer.encode import Encoding, model_ready
from indexer.plan import Plan, Work
from indexer.prefetch import Ready, decoded_batches
from retrieval.faults import checkpoint
from retrieval.index.ids import entries
from retrieval.library import Library
from retrieval.media.video.probe import is_video
from retrieval.records import Clip, EncodedFile, FailedFile, FloatArray, TagScores
from retrieval.settings import batch_size_for
from retrieval.tagging.scoring import FIT_SAMPLE, Scorer, calibrated, scorer

if TYPE_CHECKING:
    from indexer.ray_encode import Cluster

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    """What a plan's batches did (the summary's counts that the plan alone cannot say)."""

    added: int
    updated: int
    failed: int
    encoded: int  # images that went through the model (copies and moves do not)


class Tagger:
    """Scores new images against the library's saved label sets (label vectors are
    computed once per run, on first need). An open-world set not fitted yet, or fitted
    when the library was less than half its size, is fitted now, these images included."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.sets: list[Scorer] | None = None

    def __call__(
        self,
        vectors: FloatArray,
        views: Sequence[FloatArray | None] = (),
        clips: Sequence[Clip | None] = (),
    ) -> list[TagScores]:
        if len(vectors) == 0:
            return []
        store, encoder = self.library.store, self.library.encoder
        if self.sets is None:
            self.sets = [scorer(encoder, label_set) for label_set in store.label_sets()]
        if not self.sets:
            return []
        arriving = [vectors, *(v for v in views if v is not None and len(v))]
        size: list[int] = []  # the library's entries, counted on first need

        def refit(ready: Scorer) -> bool:
            if ready.needs_calibration:
                return True
            fit = ready.label_set.calibration
            # A fit to a full sample never grows stale: no count for it (a query over
            # every vector, on every batch).
            if fit is None or 2 * fit.fitted_on >= FIT_SAMPLE:
                return False
            if not size:
                size.append(
                    store.entry_count(encoder.info.dim) + sum(map(len, arriving))
                )
            return 2 * fit.fitted_on < size[0]

        self.sets = [
            calibrated(
                store,
                encoder,
                replace(ready.label_set, calibration=None),
                ready.labels,
                np.concatenate(arriving),
            )
            if refit(ready)
            else ready
            for ready in self.sets
        ]
        return [ready.score(vectors, views, clips) for ready in self.sets]


# Batches decoded ahead while the model loads (seconds of imports and weights, on one
# core): a few hundred photos' reduced pictures, tens of MB.
AHEAD_WHILE_LOADING = 16


def local_photos(
    encoding: Encoding, photos: Sequence[Work], workers: int | None
) -> Iterator[tuple[Sequence[Work], list[EncodedFile], list[FailedFile]]]:
    """Batches decoded ahead by worker threads, encoded here."""
    workers = workers or os.cpu_count() or 1
    # While the model loads (imports on one core), the other cores decode ahead.
    loading = threading.Semaphore(max(1, workers - 1))

    def decode(work: Work) -> Ready | FailedFile | None:
        if model_ready(encoding.encoder):
            return encoding.decode(work)
        with loading:
            return encoding.decode(work)

    for batch, results in decoded_batches(
        photos,
        encoding.batch_size,
        decode,
        workers=workers,
        ahead=lambda: 2 if model_ready(encoding.encoder) else AHEAD_WHILE_LOADING,
    ):
        yield batch, *encoding.photos(results)


@dataclass
class _Writer:
    """Writes a batch: the store in one transaction (with its tags and the analyzers'
    records), then the vector index; counts what it wrote."""

    library: Library
    analyzers: Sequence[Analyzer]
    replaced_paths: set[str]
    tagger: Tagger
    counts: dict[str, int] = field(
        default_factory=lambda: {"added": 0, "updated": 0, "failed": 0}
    )

    def __call__(self, records: list[EncodedFile], bad: list[FailedFile]) -> None:
        library, dim = self.library, self.library.model.dim
        library.record_model()
        vectors = (
            np.stack([r.vector for r in records]).astype(np.float32)
            if records
            else np.zeros((0, dim), dtype=np.float32)
        )
        views = [r.views for r in records]
        clips = [
            Clip(r.times, r.duration or 0.0) if r.times is not None else None
            for r in records
        ]
        written = library.store.write_batch(
            records,
            bad,
            self.tagger(vectors, views, clips),
            every_writer(self.analyzers),
        )
        checkpoint("batch-committed")
        ids, failed_ids = written.ids, written.failed_ids
        added, added_vectors = entries(
            ids, vectors, views, [r.times is not None for r in records]
        )
        library.apply(
            ids + failed_ids, added.tolist(), added_vectors, written.generation
        )
        for record in records:
            kind = "updated" if record.path in self.replaced_paths else "added"
            self.counts[kind] += 1
        self.counts["failed"] += len(bad)
        for failure in bad:
            log.warning("cannot index %s: %s", failure.path, failure.error)


def apply_plan(
    library: Library,
    plan: Plan,
    analyzers: Sequence[Analyzer],
    *,
    progress: bool,
    stop: Callable[[], bool] | None = None,
    cluster: Cluster | None = None,
) -> Applied:
    """Carry out a plan. `stop` is asked between batches: work left undone is found again by
    the next reconciliation, since nothing half-done is ever written. `cluster`: encode
    on that Ray cluster (`Settings.ray`)."""
    if plan.encode:
        # The model loads on its thread while the files are decoded ahead.
        library.preload()
    if library.store.model_info() is not None:
        # Loaded now, so that the run's changes are mirrored in it and saved (a new
        # library's, once its model is recorded with the first vectors).
        _ = library.index
    replaced = {w.entry.path for w in plan.encode if w.replaces}
    write = _Writer(library, analyzers, replaced, Tagger(library))
    _bookkeeping(library, plan)
    copies = _copies(library, plan)
    if copies or plan.unreadable:
        write(copies, list(plan.unreadable))
    encoded = _encode(library, plan, analyzers, write, progress, stop, cluster)
    library.refresh_index_type()
    library.save_index()
    return Applied(
        write.counts["added"], write.counts["updated"], write.counts["failed"], encoded
    )


def _bookkeeping(library: Library, plan: Plan) -> None:
    """What needs no pixels: files gone to the trash, back from it, moved, touched."""
    store, dim = library.store, library.model.dim
    if plan.removals or plan.restores:
        library.record_model()  # their vectors change generation
    if plan.removals:
        generation = store.trash(plan.removals)
        library.apply(
            plan.removals, [], np.zeros((0, dim), dtype=np.float32), generation
        )
    if plan.restores:
        restored = [i for i, _ in plan.restores]
        generation = store.restore(
            [(i, e.path, e.size, e.mtime_ns) for i, e in plan.restores]
        )
        ids, vectors = store.vectors_found(restored, dim, views=True)
        library.apply(restored, ids.tolist(), vectors, generation)
    store.move([(i, e.path, e.size, e.mtime_ns) for i, e in plan.moves])
    store.touch([(i, e.size, e.mtime_ns) for i, e in plan.touches])


def _copies(library: Library, plan: Plan) -> list[EncodedFile]:
    """New files whose content the library has: their original's vectors, read before
    any batch can replace the original."""
    if not plan.copies:
        return []
    store, dim = library.store, library.model.dim
    sources = [c.source_id for c in plan.copies]
    metas = store.meta(sources)
    vectors = store.vectors(sources, dim)
    source_views = store.views_of(sources, dim)
    source_times = store.times_of(sources)
    return [
        EncodedFile(
            replace(c.entry, content_hash=c.content_hash),
            metas[c.source_id].width or 0,
            metas[c.source_id].height or 0,
            metas[c.source_id].taken_at,
            vector,
            # A video's other moments are CLIP's first pass; a photo's other views
            # come with the second, as every analyzer's records do: the analyzers look
            # at the copy itself.
            extra if times is not None else None,
            (),
            times,
            metas[c.source_id].duration,
        )
        for c, vector, extra, times in zip(
            plan.copies, vectors, source_views, source_times, strict=True
        )
    ]


def _encode(
    library: Library,
    plan: Plan,
    analyzers: Sequence[Analyzer],
    write: _Writer,
    progress: bool,
    stop: Callable[[], bool] | None,
    cluster: Cluster | None,
) -> int:
    """The new and changed photos, then videos, decoded and encoded in batches (here, or
    on the Ray cluster), each written as it comes; how many were."""
    settings, encoder = library.settings, library.encoder
    photos = [w for w in plan.encode if not is_video(w.entry.path)]
    videos = [w for w in plan.encode if is_video(w.entry.path)]
    encoding = Encoding(
        settings,
        encoder,
        batch_size_for(settings, getattr(encoder, "device", "cpu")),
        first_pass(analyzers),
    )
    remote = cluster.get(encoding.batch_size) if cluster and plan.encode else None
    batches = (
        remote.photos(photos)
        if remote is not None
        else local_photos(encoding, photos, settings.decode_workers or None)
    )
    encoded = 0
    bar = tqdm(total=len(photos), unit="img", disable=not progress, leave=False)
    for batch, records, bad in batches:
        write(records, bad)
        encoded += len(records)
        bar.update(len(batch))
        if stop is not None and stop():
            break
    bar.close()
    if videos and (stop is None or not stop()):
        bar = tqdm(
            total=0.0, unit="s", desc="videos", disable=not progress, leave=False
        )
        source = remote if remote is not None else encoding
        encoded += source.videos(videos, write, stop=stop, bar=bar)
        bar.close()
    return encoded
