"""One indexing run: scan folders, compare with the library, decode and encode what is new
or changed in batches, and write each batch in one transaction."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

import numpy as np
from tqdm import tqdm

from indexer.analyzers.backfill import backfill
from indexer.analyzers.base import Analyzer, writers
from indexer.analyzers.registry import enabled
from indexer.encode import Encoding
from indexer.hashing import content_hash
from indexer.plan import Plan, Work, make_plan
from indexer.prefetch import decoded_batches
from indexer.roots import classify
from indexer.scan import file_entry, inside, walk
from retrieval.faults import checkpoint
from retrieval.index.ids import entries
from retrieval.library import Library
from retrieval.media.video.probe import is_video
from retrieval.records import (
    Clip,
    EncodedFile,
    FailedFile,
    FileStamp,
    FileState,
    FloatArray,
    TagScores,
)
from retrieval.settings import batch_size_for
from retrieval.tagging.scoring import FIT_SAMPLE, Scorer, calibrated, scorer

log = logging.getLogger(__name__)

_Found = TypeVar("_Found", dict[str, FileState], list[FileStamp])


@dataclass(frozen=True)
class IndexSummary:
    added: int
    updated: int
    moved: int
    restored: int  # back from the trash, with their vectors and tags
    removed: int  # moved to the trash
    failed: int
    unchanged: int
    encoded: int  # images that went through the model (copies and moves do not)

    def line(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, moved {self.moved}, "
            f"removed {self.removed}, failed {self.failed}, unchanged {self.unchanged}"
            + (f", restored {self.restored}" if self.restored else "")
        )


class _Tagger:
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


def _local_photos(
    encoding: Encoding, photos: Sequence[Work], workers: int | None
) -> Iterator[tuple[Sequence[Work], list[EncodedFile], list[FailedFile]]]:
    """Batches decoded ahead by worker threads, encoded here."""
    for batch, results in decoded_batches(
        photos, encoding.batch_size, encoding.decode, workers=workers
    ):
        yield batch, *encoding.photos(results)


def scan(roots: Sequence[str]) -> list[FileStamp]:
    return [entry for root in roots for entry in walk(root)]


def index_folders(
    library: Library,
    roots: Sequence[str],
    *,
    reencode: bool = False,
    progress: bool = False,
    stop: Callable[[], bool] | None = None,
    hasher: Callable[[str], str] = content_hash,
    strict: bool = True,
    analyzers: Sequence[Analyzer] | None = None,
    catch_up: bool = True,
) -> IndexSummary:
    """Bring the library up to date with `roots`. A root that is offline (see
    `indexer.roots`) is left as it is; with `strict`, a missing root under which the
    library holds nothing is an error (the daemon is not strict: it waits for it).
    `analyzers`: those besides CLIP (default: the ones the settings enable); with
    `catch_up`, the photos indexed before one of them was enabled get its records too
    (the daemon does that a batch at a time, between rounds of changes). Then, files
    trashed more than `trash_days` ago go for good."""
    store = library.store
    available = classify(
        store, [os.path.abspath(os.path.expanduser(r)) for r in roots], strict=strict
    )
    folders = available.online
    if store.model_info() != library.model:
        # Load the weights before recording a new model, so that weights which cannot be
        # had leave the library as it was.
        _ = library.encoder.image_size
        store.set_model(library.model)
    reencode_ids = set(store.ids_without_vector())
    states = _followed(library, store.file_states(under=folders))
    if reencode:
        reencode_ids |= {s.image_id for s in states.values() if s.status == "ok"}
    # Images outside these folders that lost their vector to a model change: encode them
    # too when their file is still there.
    outside = {
        s.path: s
        for s in store.file_states().values()
        if s.image_id in reencode_ids
        and s.path not in states
        and os.path.isfile(s.path)
    }
    states.update(outside)
    scanned = _followed(library, scan(folders)) + [
        FileStamp(s.path, s.size, s.mtime_ns) for s in outside.values()
    ]
    plan = make_plan(
        states,
        scanned,
        hasher,
        find_copies=store.images_with_hashes,
        reencode_ids=reencode_ids,
        find_trashed=partial(store.images_with_hashes, trashed=True),
    )
    chosen = enabled(library.settings) if analyzers is None else list(analyzers)
    summary = _apply(library, plan, chosen, progress=progress, stop=stop)
    # Photos an analyzer has not looked at yet (a full run only: the daemon's rounds of
    # changes need not look for them each time).
    if catch_up and (stop is None or not stop()):
        backfill(library, chosen, stop=stop, progress=progress)
    days = library.settings.trash_days
    store.empty_trash(
        before=datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    )
    return summary


def _followed(library: Library, found: _Found) -> _Found:
    """What indexing looks at: with videos off (Settings.videos), photos only, and the
    videos the library has are left as they are, not taken for gone."""
    if library.settings.videos:
        return found
    if isinstance(found, dict):
        return {p: s for p, s in found.items() if not is_video(p)}
    return [e for e in found if not is_video(e.path)]


def _storable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        log.warning("skipping %r: its name is not valid UTF-8", path)
        return False
    return True


def index_changes(
    library: Library,
    roots: Sequence[str],
    changed: Iterable[str],
    *,
    stop: Callable[[], bool] | None = None,
    hasher: Callable[[str], str] = content_hash,
    analyzers: Sequence[Analyzer] | None = None,
) -> IndexSummary:
    """Bring the library up to date for these paths only: files or folders, present or
    gone (what the watcher saw change). A folder is rescanned whole. Moves between two of
    the paths keep their vectors, as in a full run."""
    store = library.store
    # Events under a root that just went offline (a drive unplugged) say "deleted" for
    # every file on it: they are not followed.
    online = classify(store, [os.path.abspath(r) for r in roots], strict=False).online
    scope = sorted(
        {os.path.abspath(p) for p in changed if inside(p, online) and _storable(p)}
    )
    # A path inside another one of the scope is covered by it.
    scope = [
        p
        for p in scope
        if not any(p.startswith(q.rstrip(os.sep) + os.sep) for q in scope)
    ]
    scanned: list[FileStamp] = []
    for path in scope:
        if os.path.isdir(path):
            scanned.extend(walk(path))
        else:
            entry = file_entry(path)
            if entry is not None:
                scanned.append(entry)
    states = _followed(library, store.file_states(under=scope) if scope else {})
    plan = make_plan(
        states,
        _followed(library, scanned),
        hasher,
        find_copies=store.images_with_hashes,
        find_trashed=partial(store.images_with_hashes, trashed=True),
    )
    chosen = enabled(library.settings) if analyzers is None else list(analyzers)
    # A round of changes is a few files: not worth a cluster's round trips.
    return _apply(library, plan, chosen, progress=False, stop=stop, remote=False)


def _apply(
    library: Library,
    plan: Plan,
    analyzers: Sequence[Analyzer],
    *,
    progress: bool,
    stop: Callable[[], bool] | None = None,
    remote: bool = True,
) -> IndexSummary:
    """Carry out a plan. `stop` is asked between batches: work left undone is found again by
    the next reconciliation, since nothing half-done is ever written. `remote`: encode on
    the Ray cluster of `Settings.ray`, if one is set."""
    store, dim, settings = library.store, library.model.dim, library.settings
    # Loaded now, so that the run's changes are mirrored in it and saved.
    _ = library.index
    tagger = _Tagger(library)
    counts = {"added": 0, "updated": 0, "failed": 0}

    def write(records: list[EncodedFile], bad: list[FailedFile]) -> None:
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
        written = store.write_batch(
            records, bad, tagger(vectors, views, clips), writers(analyzers)
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
            counts["updated" if record.path in replaced_paths else "added"] += 1
        counts["failed"] += len(bad)
        for failure in bad:
            log.warning("cannot index %s: %s", failure.path, failure.error)

    replaced_paths = {w.entry.path for w in plan.encode if w.replaces}
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

    if plan.copies:
        # Read the sources before any batch below can replace them.
        sources = [c.source_id for c in plan.copies]
        metas = store.meta(sources)
        vectors = store.vectors(sources, dim)
        source_views = store.views_of(sources, dim)
        source_times = store.times_of(sources)
        copies = [
            EncodedFile(
                replace(c.entry, content_hash=c.content_hash),
                metas[c.source_id].width or 0,
                metas[c.source_id].height or 0,
                metas[c.source_id].taken_at,
                vector,
                extra,
                # The other analyzers look at the copy itself, after this run.
                (),
                times,
                metas[c.source_id].duration,
            )
            for c, vector, extra, times in zip(
                plan.copies, vectors, source_views, source_times, strict=True
            )
        ]
        write(copies, list(plan.unreadable))
    elif plan.unreadable:
        write([], list(plan.unreadable))

    photos = [w for w in plan.encode if not is_video(w.entry.path)]
    videos = [w for w in plan.encode if is_video(w.entry.path)]
    encoder = library.encoder
    encoding = Encoding(
        settings,
        encoder,
        batch_size_for(settings, getattr(encoder, "device", "cpu")),
        analyzers,
    )
    with ExitStack() as scope:
        cluster = None
        if remote and settings.ray is not None and plan.encode:
            from indexer.ray_encode import RayEncoding

            cluster = scope.enter_context(
                RayEncoding(settings, library.model, store.root, encoding.batch_size)
            )
        batches = (
            cluster.photos(photos)
            if cluster is not None
            else _local_photos(encoding, photos, settings.decode_workers or None)
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
            source = cluster if cluster is not None else encoding
            encoded += source.videos(videos, write, stop=stop, bar=bar)
            bar.close()
    library.refresh_index_type()
    library.save_index()
    return IndexSummary(
        added=counts["added"],
        updated=counts["updated"],
        moved=len(plan.moves),
        restored=len(plan.restores),
        removed=len(plan.removals),
        failed=counts["failed"],
        unchanged=plan.unchanged + len(plan.touches),
        encoded=encoded,
    )
