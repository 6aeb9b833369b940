"""The second pass: the photos an enabled analyzer has not looked at (they were just made
searchable by the first pass, the analyzer is new to the library, or of a newer version)
are read again, newest first, each decoded once for every analyzer that needs it, and
their records written a batch per transaction. CLIP's first look is never run again: the
vector is there already.

The work keeps every core busy: photos are decoded and prepared a batch or two ahead by
worker threads, and each analyzer (the views on CLIP's model thread, faces on dlib, text
on ONNX Runtime, all of which let go of the GIL while they compute) runs on a thread of
its own, going through the batches in order at its own pace; the batches are written in
order as every analyzer is done with them.

A stop (Ctrl-C, the daemon stopping, new photos arriving for the daemon's first pass)
lets the batch in flight be written; a crash loses at most the batches not written.
Either way the next run finds the rest, since what was written is recorded
(retrieval.store.analyses).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from indexer.analyzers.base import (
    Analyzer,
    Failed,
    Photo,
    analyze_all,
    picture_side,
    prepare_all,
)
from indexer.analyzers.registry import every_writer
from retrieval.errors import DecodeError
from retrieval.faults import checkpoint
from retrieval.library import Library
from retrieval.media.decode import decode
from retrieval.media.video.probe import is_video
from retrieval.records import Analyzed
from retrieval.settings import batch_size_for

if TYPE_CHECKING:
    from indexer.ray_encode import Cluster

log = logging.getLogger(__name__)

# Photos asked of the store at a time (newest first); the batches are cut from them.
CHUNK = 256
# Photos per batch (one transaction) on a CPU: small, so that a daemon's new arrivals
# and queries wait for little, while a batch or two ahead keeps the cores busy.
CPU_BATCH = 8
# Batches decoded ahead of the one being analysed.
AHEAD = 2


@dataclass(frozen=True)
class Due:
    """A photo, and the analyzers (by name) that have still to look at it."""

    image_id: int
    path: str
    analyzers: tuple[str, ...]


class Progress(Protocol):
    """How far the second pass has got, per analyzer (photosearch.progress shows it)."""

    def start(self, pending: Mapping[str, int]) -> None:
        """Before the first batch: how many photos each analyzer has to look at."""
        ...

    def advance(self, done: Mapping[str, int]) -> None:
        """After a batch: how many photos each analyzer has looked at in it."""
        ...


def pending(library: Library, analyzers: Sequence[Analyzer]) -> dict[str, int]:
    """How many photos each analyzer has still to look at."""
    return {
        a.name: library.store.pending_count(
            a.name, a.version, videos=a.videos, shape=a.shape
        )
        for a in analyzers
    }


def due(
    library: Library,
    analyzers: Sequence[Analyzer],
    limit: int,
    skip: set[int] | frozenset[int] = frozenset(),
) -> list[Due]:
    """The `limit` newest photos some analyzer has to look at (`skip` aside), the
    newest first."""
    found: dict[int, Any] = {}
    wanted: dict[int, list[str]] = {}
    for analyzer in analyzers:
        for item in library.store.pending_analyses(
            analyzer.name,
            analyzer.version,
            limit,
            videos=analyzer.videos,
            shape=analyzer.shape,
            skip=skip,
        ):
            found[item.image_id] = item
            wanted.setdefault(item.image_id, []).append(analyzer.name)
    newest = sorted(found.values(), key=lambda p: p.newness(), reverse=True)[:limit]
    return [Due(p.image_id, p.path, tuple(wanted[p.image_id])) for p in newest]


def prepared_for(
    item: Due, analyzers: Sequence[Analyzer], max_pixels: int
) -> dict[str, Any] | None:
    """The analyzers' prepared inputs for one photo, decoded once for all of those that
    need its pixels; None when its file is gone (the next scan's to deal with)."""
    mine = [a for a in analyzers if a.name in item.analyzers]
    side = picture_side(mine)
    photo = Photo(item.path)
    # A video is not decoded as a photo: the analyzers that take videos read it.
    if side > 0 and not is_video(item.path):
        try:
            decoded = decode(item.path, max_pixels=max_pixels, draft_size=side)
        except DecodeError as exc:
            if not os.path.lexists(item.path):
                return None
            # The pixel analyzers fail on this photo; the others still look at it.
            needing = [a for a in mine if a.picture_side > 0]
            rest = [a for a in mine if a.picture_side == 0]
            prepared: dict[str, Any] = {
                a.name: Failed(f"{a.name}: {exc}") for a in needing
            }
            prepared.update(prepare_all(rest, photo))
            return prepared
        photo = Photo(item.path, decoded.image, decoded.info)
    elif not os.path.lexists(item.path):
        return None
    return prepare_all(mine, photo)


def combined(
    items: Sequence[Due],
    prepared: Sequence[dict[str, Any] | None],
    each: Sequence[Sequence[tuple[Analyzed, ...]]],
) -> list[tuple[int, Analyzed]]:
    """The rows of a batch, from each analyzer's outcomes (`analyze_all` of one
    analyzer over the photos whose file was there), in the analyzers' order."""
    present = [item for item, p in zip(items, prepared, strict=True) if p]
    return [
        (item.image_id, outcome)
        for n, item in enumerate(present)
        for outcomes in each
        for outcome in outcomes[n]
        if outcome.analyzer in item.analyzers
    ]


@dataclass
class _InFlight:
    """A batch on its way: its photos decoded by the decode threads, then analysed by
    each analyzer on a thread of its own (which takes the batches in order)."""

    batch: list[Due]
    prepared: list[Future[dict[str, Any] | None]]
    analysed: list[Future[list[tuple[Analyzed, ...]]]]


class SecondPass:
    """The second pass over a library for some analyzers: `run` until nothing is due,
    or it is asked to stop or to pause (and run again later: the daemon between its
    rounds of new arrivals)."""

    def __init__(
        self,
        library: Library,
        analyzers: Sequence[Analyzer],
        *,
        progress: Progress | None = None,
        cluster: Cluster | None = None,
    ) -> None:
        self.library = library
        self.analyzers = list(analyzers)
        self.progress = progress
        self.cluster = cluster
        settings = library.settings
        device = getattr(library.encoder, "device", "cpu")
        self.batch = (
            settings.batch_size or CPU_BATCH
            if device == "cpu"
            else batch_size_for(settings, device)
        )
        self.workers = settings.decode_workers or os.cpu_count() or 1
        # Photos whose file was gone: left to the next scan, not asked for again.
        self.gone: set[int] = set()
        self.done = 0

    def _prepare(self, item: Due) -> dict[str, Any] | None:
        return prepared_for(item, self.analyzers, self.library.settings.max_pixels)

    def run(
        self,
        stop: Callable[[], bool] | None = None,
        pause: Callable[[], bool] | None = None,
        until: float | None = None,
    ) -> bool:
        """Analyse batch after batch, the newest photos first; whether none is due any
        more (False: stopped, paused or out of time first). `stop` and `pause` are asked
        between batches: the batch in flight is written, the work begun on the next
        ones is dropped (they are due again). At `until` (time.monotonic()) no batch is
        begun, and those begun are written first."""
        if not self.analyzers:
            return True
        halt = [f for f in (stop, pause) if f is not None]
        if self.cluster is not None:
            return self._run_remote(halt)
        out_of_time = (
            (lambda: False) if until is None else (lambda: time.monotonic() >= until)
        )
        queue: deque[Due] = deque()
        ahead: deque[_InFlight] = deque()
        inflight: set[int] = set()
        exhausted = False
        decoders = ThreadPoolExecutor(self.workers, thread_name_prefix="second-pass")
        # One thread per analyzer: each goes through the batches in order at its own
        # pace, so that no core waits for the slowest analyzer of a batch.
        lanes = [
            ThreadPoolExecutor(1, thread_name_prefix=f"analyze-{a.name}")
            for a in self.analyzers
        ]
        if self.progress is not None:
            self.progress.start(pending(self.library, self.analyzers))
        try:
            while True:
                while len(ahead) <= AHEAD and not exhausted and not out_of_time():
                    if not queue:
                        queue.extend(
                            due(
                                self.library,
                                self.analyzers,
                                max(CHUNK, self.batch),
                                self.gone | inflight,
                            )
                        )
                    if not queue:
                        exhausted = True
                        break
                    batch = [
                        queue.popleft() for _ in range(min(self.batch, len(queue)))
                    ]
                    inflight.update(i.image_id for i in batch)
                    ahead.append(self._submit(batch, decoders, lanes))
                if not ahead:
                    return exhausted
                flight = ahead.popleft()
                self._write(flight)
                inflight.difference_update(i.image_id for i in flight.batch)
                if any(asked() for asked in halt):
                    return False
                if out_of_time() and not ahead:
                    return False
                if exhausted and not ahead:
                    # What came due meanwhile (a newer version, photos just indexed).
                    exhausted = False
        finally:
            for pool in (decoders, *lanes):
                pool.shutdown(wait=True, cancel_futures=True)

    def _run_remote(self, halt: Sequence[Callable[[], bool]]) -> bool:
        """`run` on the Ray cluster's workers: a chunk of the photos due at a time, its
        batches analysed by any worker, written here as they come back."""
        assert self.cluster is not None
        if self.progress is not None:
            self.progress.start(pending(self.library, self.analyzers))
        while True:
            items = due(self.library, self.analyzers, max(CHUNK, self.batch), self.gone)
            if not items:
                return True
            batches = [
                items[i : i + self.batch] for i in range(0, len(items), self.batch)
            ]
            workers = self.cluster.get(self.batch)
            for batch, rows in workers.analysed(batches):
                self._record(batch, rows)
                if any(asked() for asked in halt):
                    return False

    def _submit(
        self,
        batch: list[Due],
        decoders: ThreadPoolExecutor,
        lanes: Sequence[ThreadPoolExecutor],
    ) -> _InFlight:
        prepared = [decoders.submit(self._prepare, item) for item in batch]

        def analysed_by(analyzer: Analyzer) -> list[tuple[Analyzed, ...]]:
            present = [p for p in (f.result() for f in prepared) if p]
            return analyze_all([analyzer], present)

        return _InFlight(
            batch,
            prepared,
            [
                lane.submit(analysed_by, a)
                for lane, a in zip(lanes, self.analyzers, strict=True)
            ],
        )

    def _write(self, flight: _InFlight) -> None:
        prepared = [f.result() for f in flight.prepared]
        rows = combined(flight.batch, prepared, [f.result() for f in flight.analysed])
        self._record(flight.batch, rows)

    def _record(self, batch: Sequence[Due], rows: list[tuple[int, Analyzed]]) -> None:
        """A batch's records written in one transaction."""
        library = self.library
        # A file gone, or a photo no analyzer could say anything of: left to the next
        # scan, never asked for again in this run.
        answered = {image_id for image_id, _ in rows}
        self.gone.update(i.image_id for i in batch if i.image_id not in answered)
        library.store.write_analyses(rows, every_writer(self.analyzers))
        checkpoint("analyses-committed")
        # A wide photo's views are vectors: the loaded index follows the store.
        library.reload_if_stale()
        self.done += len(batch)
        for image_id, outcome in rows:
            if outcome.error is not None:
                log.warning("cannot analyse image %d: %s", image_id, outcome.error)
        if self.progress is not None:
            counts: dict[str, int] = {}
            for _, outcome in rows:
                counts[outcome.analyzer] = counts.get(outcome.analyzer, 0) + 1
            self.progress.advance(counts)


class Alongside:
    """The second pass in a thread of its own while the first pass runs: with the model
    on a GPU, the first pass waits on the GPU and the CPU's cores would be idle. It
    takes the photos the first pass has written as they land; `join`, once the first
    pass is over, lets it finish what is due."""

    def __init__(
        self,
        library: Library,
        analyzers: Sequence[Analyzer],
        *,
        stop: Callable[[], bool] | None = None,
        progress: Progress | None = None,
        wanted: Callable[[], bool] = lambda: True,
    ) -> None:
        """`wanted`: asked first, on its thread; False: it ends there (it may wait,
        for the model to load, say)."""
        self._second = SecondPass(library, analyzers, progress=progress)
        self._stop = stop or (lambda: False)
        self._wanted = wanted
        self._first_over = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name="second-pass", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            if not self._wanted():
                return
            while not self._stop():
                over = self._first_over.is_set()
                if self._second.run(self._stop) and over:
                    return
                # Nothing due yet: the first pass's next batches will be.
                self._first_over.wait(0.5)
        except BaseException as exc:  # noqa: BLE001  # raised again by `join`
            self._error = exc

    def join(self) -> int:
        """Wait for what is due to be analysed; how many photos were. What the thread
        raised is raised here."""
        self._first_over.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._second.done


def backfill(
    library: Library,
    analyzers: Sequence[Analyzer],
    *,
    stop: Callable[[], bool] | None = None,
    progress: Progress | None = None,
    cluster: Cluster | None = None,
) -> int:
    """The second pass until no photo is due or `stop()` (on `cluster`'s workers when
    given): how many photos were analysed."""
    second = SecondPass(library, analyzers, progress=progress, cluster=cluster)
    second.run(stop)
    if second.done:
        log.info(
            "analysed %d photos (%s)",
            second.done,
            ", ".join(a.name for a in analyzers),
        )
    return second.done
