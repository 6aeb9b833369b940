"""The ids a photo's or video's vectors have in the index.

A photo's centre view keeps the photo's id; its other views (retrieval.media.views) get
`id + view * VIEW_STRIDE`, so any index id tells its photo, and removing a photo removes
every id it may have.

A video's moments (retrieval.media.video) are the same idea in time: its first moment's
vector keeps the video's id, and the others get ids of their own range,
`moment_ids(video, n)`, above every view id, since a video has far more of them than a
photo has views.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.media.views import MAX_VIEWS
from retrieval.records import FloatArray, IdArray

# Above any image id (the API allows up to 2**53); times MAX_VIEWS + 1 it stays far below
# the 2**63 of FAISS's int64 ids.
VIEW_STRIDE = 2**54
# Moment n (from 1) of video v is MOMENT_BASE + v * 2**MOMENT_BITS + n: a million moments
# per video, for video ids up to 2**42, all below FAISS's 2**63.
MOMENT_BASE = 2**62
MOMENT_BITS = 20
_MOMENT_MASK = 2**MOMENT_BITS - 1


def image_ids(ids: IdArray) -> IdArray:
    """The photo or video of each index id (-1, FAISS's padding, stays -1)."""
    ids = np.asarray(ids, dtype=np.int64)
    videos = (ids - MOMENT_BASE) >> MOMENT_BITS
    return np.where(
        ids >= MOMENT_BASE, videos, np.where(ids >= 0, ids % VIEW_STRIDE, -1)
    )


def moment_ids(video: int, count: int) -> IdArray:
    """The ids of a video's moments 1 to `count` (moment 0 has the video's own id)."""
    return MOMENT_BASE + (int(video) << MOMENT_BITS) + np.arange(1, count + 1)


def moment_counts(ids: IdArray) -> dict[int, int]:
    """Among index ids, each video's highest moment number: what it holds of them."""
    ids = np.asarray(ids, dtype=np.int64)
    moments = ids[ids >= MOMENT_BASE]
    counts: dict[int, int] = {}
    for video, n in zip(
        ((moments - MOMENT_BASE) >> MOMENT_BITS).tolist(),
        (moments & _MOMENT_MASK).tolist(),
        strict=True,
    ):
        counts[video] = max(counts.get(video, 0), n)
    return counts


def every_view_id(ids: IdArray | list[int]) -> IdArray:
    """Each photo's id and every id its views may have: what removing them must remove."""
    base = np.asarray(ids, dtype=np.int64).reshape(-1, 1)
    offsets = np.arange(MAX_VIEWS + 1, dtype=np.int64) * VIEW_STRIDE
    return (base + offsets).ravel()


def entries(
    ids: list[int] | IdArray,
    vectors: FloatArray,
    views: Sequence[FloatArray | None] | None,
    videos: Sequence[bool] = (),
) -> tuple[IdArray, FloatArray]:
    """What the index holds for these items: each one's vector under its id, then its
    other views (or, where `videos` says so, its other moments) under theirs."""
    ids = np.asarray(ids, dtype=np.int64)
    if not views or all(v is None or len(v) == 0 for v in views):
        return ids, vectors
    out_ids: list[IdArray] = [ids]
    out_vectors: list[FloatArray] = [vectors]
    for n, (image_id, extra) in enumerate(zip(ids, views, strict=True)):
        if extra is not None and len(extra):
            if n < len(videos) and videos[n]:
                out_ids.append(moment_ids(int(image_id), len(extra)))
            else:
                out_ids.append(
                    int(image_id)
                    + np.arange(1, len(extra) + 1, dtype=np.int64) * VIEW_STRIDE
                )
            out_vectors.append(extra)
    return np.concatenate(out_ids), np.concatenate(out_vectors).astype(np.float32)


def best_per_photo(
    scores: FloatArray, ids: IdArray, k: int
) -> tuple[FloatArray, IdArray]:
    """One row of index results (best first) turned into photos: each photo once, at its
    best view's score; at most `k`, padded with id -1."""
    seen: set[int] = set()
    out_scores = np.zeros(k, dtype=np.float32)
    out_ids = np.full(k, -1, dtype=np.int64)
    n = 0
    for score, photo in zip(scores, image_ids(ids), strict=True):
        if photo < 0 or int(photo) in seen:
            continue
        seen.add(int(photo))
        out_scores[n], out_ids[n] = score, photo
        n += 1
        if n == k:
            break
    return out_scores[None, :], out_ids[None, :]
