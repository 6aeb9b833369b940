"""Indexing videos: each video's moments (retrieval.media.video.sample) go through the model in the same
batches as photos would, and the video is written whole, all its moments in one
transaction, once the last of them is encoded.

One thread decodes and prepares frames ahead of the model, through a bounded queue: the
codec's own threads decode, and a short video's frames share a batch with the next one's.
A crash or a stop in the middle of a video writes nothing of it; the next run encodes it
again from the start.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexer.plan import Work
from retrieval.errors import DecodeError
from retrieval.faults import checkpoint
from retrieval.media.video.probe import VideoInfo
from retrieval.media.video.sample import Sampled, Sampling, sample
from retrieval.records import Analyzed, EncodedFile, FailedFile, FloatArray
from retrieval.vectors import stored_precision

log = logging.getLogger(__name__)

# A long video says how far it is this often (the daemon's log, or the progress bar).
PROGRESS_EVERY = 10.0


@dataclass
class _Video:
    work: Work
    info: VideoInfo | None = None
    times: list[float] = field(default_factory=list)
    vectors: list[FloatArray] = field(default_factory=list)
    frames: int = 0  # sent to the model so far
    done: bool = False  # no more frames will come
    failure: str | None = None
    skipped: bool = False
    shown: float = 0.0  # seconds of it the progress bar counts as done

    def encoded(self) -> bool:
        return self.done and len(self.vectors) == self.frames


@dataclass(frozen=True)
class _Frame:
    video: int
    t: float
    prepared: Any


@dataclass(frozen=True)
class _Info:
    video: int
    info: VideoInfo


@dataclass(frozen=True)
class _End:
    video: int
    info: VideoInfo | None
    failure: str | None  # None: every frame was sent
    # Changed since the scan (still being copied?): left for the event or scan that
    # follows its change, neither indexed nor failed.
    skipped: bool = False


def _settled(work: Work, settle: float, halt: threading.Event) -> bool:
    """Whether the video is as the scan saw it and has been for `settle` seconds; waits
    out a file written just now. A video being copied is written for minutes, and its
    index (an MP4's moov) often comes last: read early, it would fail for nothing."""
    while not halt.is_set():
        try:
            st = os.stat(work.entry.path)
        except OSError:
            return False
        if st.st_size != work.entry.size or st.st_mtime_ns != work.entry.mtime_ns:
            return False
        wait = settle - (time.time() - st.st_mtime)
        if wait <= 0:
            return True
        halt.wait(min(wait, 0.5))
    return False


@dataclass(frozen=True)
class VideoDecoding:
    """How videos become model input (from the library's settings)."""

    sampling: Sampling
    short_side: int  # the model's input side: frames are scaled to it by FFmpeg
    max_pixels: int  # frames larger than this are refused
    batch_size: int  # frames per forward pass, across videos
    # A video written to less than this many seconds ago is waited for (still copied?).
    settle: float = 1.0


def _decode_all(
    works: Sequence[Work],
    decoding: VideoDecoding,
    prepare: Callable[[Any], Any],
    out: queue.Queue[_Frame | _Info | _End | None],
    halt: threading.Event,
) -> None:
    """The producer: every video's frames in order, then its end (or failure)."""
    try:
        for n, work in enumerate(works):
            if halt.is_set():
                return
            if not _settled(work, decoding.settle, halt):
                out.put(_End(n, None, None, skipped=True))
                continue
            sampled: Sampled | None = None
            try:
                sampled = sample(
                    work.entry.path,
                    decoding.sampling,
                    decoding.short_side,
                    max_pixels=decoding.max_pixels,
                )
                out.put(_Info(n, sampled.info))
                for moment in sampled:
                    if halt.is_set():
                        return
                    out.put(_Frame(n, moment.t, prepare(moment.image)))
            except DecodeError as exc:
                out.put(_End(n, sampled.info if sampled else None, str(exc)))
                continue
            # Preparing runs the model's own transform: what it raises on one odd frame
            # fails that video, never the run.
            except Exception as exc:  # noqa: BLE001
                reason = str(exc).strip() or type(exc).__name__
                info = sampled.info if sampled else None
                out.put(_End(n, info, f"cannot prepare for the model: {reason}"))
                continue
            # Its info as the frames told it (rotation, the size shown).
            out.put(_End(n, sampled.info, None))
    finally:
        out.put(None)


# What the analyzers that take videos make of some, from their paths and headers.
VideoAnalyses = Callable[[Sequence[tuple[str, VideoInfo]]], list[tuple[Analyzed, ...]]]


def encode_videos(
    works: Sequence[Work],
    decoding: VideoDecoding,
    *,
    encode: Callable[[list[Any]], FloatArray],
    prepare: Callable[[Any], Any],
    write: Callable[[list[EncodedFile], list[FailedFile]], None],
    analyses: VideoAnalyses,
    stop: Callable[[], bool] | None = None,
    bar: Any = None,
) -> int:
    """Encode these videos' moments and `write` each batch of videos that finished
    (encoded ones, with what `analyses` make of them, and failed ones with their
    reason); returns how many were written as encoded. `bar` (a tqdm) counts the seconds
    of video encoded. A video changed since the scan is left for the next."""
    run = _VideoRun(works, decoding, encode, write, analyses, bar)
    frames: queue.Queue[_Frame | _End | _Info | None] = queue.Queue(
        maxsize=2 * decoding.batch_size
    )
    halt = threading.Event()
    producer = threading.Thread(
        target=_decode_all,
        args=(works, decoding, prepare, frames, halt),
        name="video-decode",
        daemon=True,
    )
    producer.start()
    try:
        while True:
            item = frames.get()
            if item is None:
                break
            if isinstance(item, _Frame) and run.pending_full(item):
                if stop is not None and stop():
                    return run.written
                run.flush()
            elif not isinstance(item, _Frame) and run.took(item, frames.empty()):
                run.flush()
        if stop is not None and stop():
            return run.written
        run.flush()
        return run.written
    finally:
        halt.set()
        while producer.is_alive():
            try:
                frames.get(timeout=0.1)
            except queue.Empty:
                pass
        producer.join()


class _VideoRun:
    """The consumer's side of `encode_videos`: frames batched for the model, across
    videos, and each video written once all its frames are encoded, in order."""

    def __init__(
        self,
        works: Sequence[Work],
        decoding: VideoDecoding,
        encode: Callable[[list[Any]], FloatArray],
        write: Callable[[list[EncodedFile], list[FailedFile]], None],
        analyses: VideoAnalyses,
        bar: Any,
    ) -> None:
        self.videos = [_Video(w) for w in works]
        self.batch_size = decoding.batch_size
        self.encode, self.write, self.analyses, self.bar = encode, write, analyses, bar
        self.pending: list[_Frame] = []
        self.written = 0
        self.next_to_write = 0
        self.said = time.monotonic()

    def pending_full(self, frame: _Frame) -> bool:
        """Take a frame; whether a batch is full."""
        self.pending.append(frame)
        self.videos[frame.video].frames += 1
        return len(self.pending) >= self.batch_size

    def took(self, item: _Info | _End, queue_empty: bool) -> bool:
        """Take a video's info or end; whether to flush now (its last frames may
        complete it, and nothing else is waiting)."""
        video = self.videos[item.video]
        if isinstance(item, _Info):
            video.info = item.info
            if self.bar is not None:
                self.bar.total += item.info.duration
                self.bar.refresh()
            return False
        video.done, video.failure = True, item.failure
        video.skipped = item.skipped
        video.info = item.info or video.info
        if item.failure is not None:
            # Its frames already sent are encoded for nothing: a video fails whole.
            video.frames = len(video.vectors)
            self.pending[:] = [f for f in self.pending if f.video != item.video]
        return queue_empty or item.failure is not None

    def flush(self) -> None:
        if self.pending:
            self._encode_pending()
        # Videos are written in the order they came, each once all of it is encoded.
        ready: list[_Video] = []
        while (
            self.next_to_write < len(self.videos)
            and self.videos[self.next_to_write].encoded()
        ):
            video = self.videos[self.next_to_write]
            if self.bar is not None and video.info is not None:
                self.bar.update(max(0.0, video.info.duration - video.shown))
            ready.append(video)
            self.next_to_write += 1
        if ready:
            self.written += _write(ready, self.write, self.analyses)

    def _encode_pending(self) -> None:
        pending = self.pending
        vectors = stored_precision(self.encode([f.prepared for f in pending]))
        checkpoint("encoded")
        for frame, vector in zip(pending, vectors, strict=True):
            video = self.videos[frame.video]
            video.times.append(frame.t)
            video.vectors.append(vector)
            if self.bar is not None:
                self.bar.update(max(0.0, frame.t - video.shown))
            video.shown = max(video.shown, frame.t)
        last = self.videos[pending[-1].video]
        if (
            time.monotonic() - self.said > PROGRESS_EVERY
            and last.info is not None
            and last.info.duration > 0
        ):
            self.said = time.monotonic()
            log.info(
                "%s: %s of %s encoded",
                last.work.entry.path,
                _clock(pending[-1].t),
                _clock(last.info.duration),
            )
        pending.clear()


def _write(
    ready: list[_Video],
    write: Callable[[list[EncodedFile], list[FailedFile]], None],
    analyses: VideoAnalyses,
) -> int:
    good = [
        v
        for v in ready
        if v.failure is None and v.info is not None and v.vectors and not v.skipped
    ]
    failed = [
        FailedFile(
            v.work.stamp,
            v.failure or "no frame of it could be decoded",
        )
        for v in ready
        # A file gone since the scan is not a failure: its absence is the next scan's.
        if v not in good and not v.skipped and os.path.lexists(v.work.entry.path)
    ]
    found = analyses([(v.work.entry.path, v.info) for v in good if v.info is not None])
    write(
        [_record(v, outcomes) for v, outcomes in zip(good, found, strict=True)], failed
    )
    return len(good)


def _record(video: _Video, outcomes: tuple[Analyzed, ...]) -> EncodedFile:
    assert video.info is not None
    info = video.info
    vectors = np.stack(video.vectors)
    times = np.asarray(video.times, dtype=np.float32)
    # The video's own vector (what "similar to this video" and exclusive label sets use)
    # is its most typical moment, the one nearest the mean of them all.
    first = int(np.argmax(vectors @ vectors.mean(axis=0)))
    order = [first, *(i for i in range(len(vectors)) if i != first)]
    return EncodedFile(
        video.work.stamp,
        info.width,
        info.height,
        info.details.taken_at,
        vectors[first],
        vectors[order[1:]] if len(order) > 1 else None,
        outcomes,
        times[order],
        info.duration,
    )


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"
