"""Decoding ahead of the model: worker threads decode and preprocess the next batches while
the current one is encoded, through a bounded queue, so that reading files hides behind the
forward pass instead of adding to it."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from indexer.analyzers.base import Analyzer, Photo, prepare_all
from indexer.plan import Work
from retrieval.errors import DecodeError
from retrieval.media.decode import Decoded, decode
from retrieval.records import FailedFile


@dataclass(frozen=True)
class Ready:
    """A decoded file, and the model input its pixels became."""

    work: Work
    decoded: Decoded
    prepared: Any  # the model's input: the picture's centre, as the model crops it
    # The first-pass analyzers' prepared inputs, by name (indexer.analyzers.base).
    analyses: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PhotoDecoding:
    """How a photo file becomes model input (from the library's settings)."""

    max_pixels: int  # more is refused as a decompression bomb
    # Decode no finer than a short side of this: the model's input side. It depends on
    # the model alone, so that a photo's vector does too (whatever else runs).
    draft: int


def decode_one(
    work: Work,
    decoding: PhotoDecoding,
    prepare: Callable[[Any], Any] | None,
    analyzers: Sequence[Analyzer] = (),
) -> Ready | FailedFile | None:
    """The model input for a file (None without `prepare`: the model is not loaded
    yet, and its transform runs later) and the first-pass analyzers' inputs, the reason
    it failed, or None for a file gone since the scan (the next scan or event deals with
    its absence)."""
    entry = work.entry
    try:
        decoded = decode(
            entry.path, max_pixels=decoding.max_pixels, draft_size=decoding.draft
        )
        prepared = prepare(decoded.image) if prepare is not None else None
    except DecodeError as exc:
        reason = str(exc)
    # Preparing runs the model's own transform: whatever it raises on one odd picture
    # fails that file, never its batch or the run.
    except Exception as exc:  # noqa: BLE001
        reason = (
            f"cannot prepare for the model: {str(exc).strip() or type(exc).__name__}"
        )
    else:
        # The first-pass analyzers need no pixels: they get what the decoder read.
        photo = Photo(entry.path, None, decoded.info)
        return Ready(work, decoded, prepared, prepare_all(analyzers, photo))
    if not os.path.lexists(entry.path):
        return None
    return FailedFile(work.stamp, reason)


def decoded_batches(
    works: Sequence[Work],
    batch_size: int,
    job: Callable[[Work], Ready | FailedFile | None],
    *,
    workers: int | None = None,
    ahead: int | Callable[[], int] = 2,
) -> Iterator[tuple[Sequence[Work], list[Ready | FailedFile | None]]]:
    """Batches of results in order, with `ahead` batches decoding while the caller works
    on the current one (a function: asked before each batch). With `ahead=0` a batch
    decodes, on every worker, only once it is asked for. On a 2-core CPU that the model
    keeps busy, 0, 1 and 2 measure the same (bench_index); on a GPU the cores are
    otherwise idle, so decoding ahead is free; and while the model loads, a core or two
    have nothing else to do."""
    how_far = ahead if callable(ahead) else (lambda: ahead)
    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    upcoming = (works[i : i + batch_size] for i in range(0, len(works), batch_size))
    pending: deque[tuple[Sequence[Work], list[Future[Ready | FailedFile | None]]]] = (
        deque()
    )

    def submit() -> bool:
        batch = next(upcoming, None)
        if batch is None:
            return False
        pending.append((batch, [pool.submit(job, w) for w in batch]))
        return True

    try:
        while True:
            while len(pending) <= how_far() and submit():
                pass
            if not pending:
                return
            batch, futures = pending.popleft()
            yield batch, [f.result() for f in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
