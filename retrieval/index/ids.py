"""More than the centre square: the views of a wide photo that the index holds.

The model's own transform resizes the short side and crops the centre, so a 16:9 photo
loses almost a quarter of its width on each side and a panorama most of it. A photo at least
`Settings.views_aspect` times wider than tall (or taller than wide) is also encoded as
overlapping squares along its long side; search scores a photo by its best view, and results
stay one per photo.

In the vector index a photo's centre view keeps the photo's id; its other views get
`id + view * VIEW_STRIDE`, so any index id tells its photo, and removing a photo removes
every id it may have.

A video's moments (retrieval.media.video.sample) are the same idea in time: its first moment's vector
keeps the video's id, and the others get ids of their own range, `moment_id(video, n)`,
above every view id, since a video has far more of them than a photo has views.

Tiles (`Settings.tiles`, off by default: they multiply the vectors of every large photo)
make small things in large photos findable: a grid of squares of a `tiles`-th of the short
side, across the whole photo, for photos large enough that each tile still has the model's
full input resolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from retrieval.records import FloatArray, IdArray

# Above any image id (the API allows up to 2**53); times MAX_VIEWS + 1 it stays far below
# the 2**63 of FAISS's int64 ids.
VIEW_STRIDE = 2**54
MAX_VIEWS = 15  # extra views per photo, besides the centre
# Moment n (from 1) of video v is MOMENT_BASE + v * 2**MOMENT_BITS + n: a million moments
# per video, for video ids up to 2**42, all below FAISS's 2**63.
MOMENT_BASE = 2**62
MOMENT_BITS = 20
_MOMENT_MASK = 2**MOMENT_BITS - 1

Box = tuple[int, int, int, int]  # left, top, right, bottom


def view_boxes(
    width: int, height: int, min_aspect: float, tiles: int = 0, min_tile: int = 1
) -> list[Box]:
    """A photo's views besides its centre crop: the squares along a wide photo's long side
    (`side_boxes`), then its tiles (`tile_boxes`); at most MAX_VIEWS."""
    boxes = side_boxes(width, height, min_aspect) + tile_boxes(
        width, height, tiles, min_tile
    )
    return boxes[:MAX_VIEWS]


def _spread(long: int, side: int, count: int) -> list[int]:
    """`count` starts of `side`-long spans, evenly spaced from 0 to the far end."""
    if count <= 1:
        return [(long - side) // 2]
    return [round(i * (long - side) / (count - 1)) for i in range(count)]


def tile_boxes(width: int, height: int, tiles: int, min_tile: int) -> list[Box]:
    """A grid of squares a `tiles`-th of the short side wide, covering the photo (spread
    evenly, overlapping where the long side is not a whole number of them); none when
    `tiles` is under 2 or a tile would be smaller than `min_tile` pixels."""
    short = min(width, height)
    side = short // max(tiles, 1)
    if tiles < 2 or side < max(min_tile, 1):
        return []

    def count(length: int) -> int:
        # `tiles` along the short side; along the long one as many as it takes, a twentieth
        # of a tile of slack so that rounding the side down never adds a row.
        return math.ceil(tiles * length / short - 0.05)

    xs = _spread(width, side, count(width))
    ys = _spread(height, side, count(height))
    return [(x, y, x + side, y + side) for y in ys for x in xs]


def side_boxes(width: int, height: int, min_aspect: float) -> list[Box]:
    """Squares of the short side, evenly spaced from one end of the long side to the other
    (overlapping), leaving out the centre one, which the primary vector already covers;
    none for a photo narrower than `min_aspect` (0: never)."""
    short, long = min(width, height), max(width, height)
    if min_aspect <= 0 or short < 1 or long < min_aspect * short:
        return []
    count = min(MAX_VIEWS + 1, math.ceil(long / short))
    starts = _spread(long, short, count)
    centre = (long - short) // 2
    boxes = []
    for start in starts:
        if abs(start - centre) <= short // 20:
            continue  # the centre crop, near enough
        if width >= height:
            boxes.append((start, 0, start + short, height))
        else:
            boxes.append((0, start, width, start + short))
    return boxes


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
