"""More than the centre square: the views of a wide photo the model looks at.

The model's own transform resizes the short side and crops the centre, so a 16:9 photo
loses almost a quarter of its width on each side and a panorama most of it. A photo at least
`Settings.views_aspect` times wider than tall (or taller than wide) is shown to the model
also as the fewest squares of its short side that cover it (two for 16:9, three for
3:1), overlapping evenly, and search scores it by the best of its vectors. Its own vector
(what similar photos, duplicates and tags compare) is its centre crop's, made in the
first pass of indexing, which makes it searchable; the views come in the second
(indexer.analyzers.views), so a photo's own vector depends on the file and the model
alone. Measured on the demo model (data/demo/EVAL.md, "Wide photos: the candidates"), the
centre and the covering squares find what the squares alone find. Results stay one per
photo (retrieval.index.ids gives each view an id of its own).

Tiles (`Settings.tiles`, off by default: they multiply the vectors of every large photo)
make small things in large photos findable: a grid of squares of a `tiles`-th of the short
side, across the whole photo, for photos large enough that each tile still has the model's
full input resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from retrieval.records import FloatArray
from retrieval.vectors import l2_normalize

MAX_VIEWS = 15  # views per photo, besides its own vector
# The views' records in the store's bookkeeping (the analyses table): never reused.
VIEWS_ANALYZER = "views"

Box = tuple[int, int, int, int]  # left, top, right, bottom


@dataclass(frozen=True)
class ViewPlan:
    """What of a photo the model looks at besides, or instead of, its centre crop."""

    boxes: list[Box]
    # The first `covering` boxes are squares that together cover a wide photo: they
    # replace the centre crop, and the photo's own vector is their mean (`own_vector`).
    covering: int = 0


def view_plan(
    width: int, height: int, min_aspect: float, tiles: int = 0, min_tile: int = 1
) -> ViewPlan:
    """A photo's views: the squares covering a wide photo (`covering_boxes`), then its
    tiles (`tile_boxes`); at most MAX_VIEWS."""
    covering = covering_boxes(width, height, min_aspect)
    boxes = (covering + tile_boxes(width, height, tiles, min_tile))[:MAX_VIEWS]
    return ViewPlan(boxes, min(len(covering), len(boxes)))


def own_vector(covering: FloatArray) -> FloatArray:
    """A wide photo's own vector: the mean of its covering squares', unit length."""
    return l2_normalize(np.asarray(covering, dtype=np.float32).mean(axis=0))


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


def covering_boxes(width: int, height: int, min_aspect: float) -> list[Box]:
    """The fewest squares of the short side that cover the long side, evenly spaced from
    one end to the other (overlapping); none for a photo narrower than `min_aspect` (0:
    never)."""
    short, long = min(width, height), max(width, height)
    if min_aspect <= 0 or short < 1 or long < min_aspect * short:
        return []
    # A twentieth of a square of slack: a photo a hair wider than two squares is
    # covered well enough by two.
    count = max(2, min(MAX_VIEWS, math.ceil(long / short - 0.05)))
    if width >= height:
        return [(x, 0, x + short, height) for x in _spread(long, short, count)]
    return [(0, y, width, y + short) for y in _spread(long, short, count)]
