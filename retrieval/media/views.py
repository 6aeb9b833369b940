"""More than the centre square: the views of a wide photo the model also looks at.

The model's own transform resizes the short side and crops the centre, so a 16:9 photo
loses almost a quarter of its width on each side and a panorama most of it. A photo at least
`Settings.views_aspect` times wider than tall (or taller than wide) is also encoded as
overlapping squares along its long side; search scores a photo by its best view, and results
stay one per photo (retrieval.index.ids gives each view an index id of its own).

Tiles (`Settings.tiles`, off by default: they multiply the vectors of every large photo)
make small things in large photos findable: a grid of squares of a `tiles`-th of the short
side, across the whole photo, for photos large enough that each tile still has the model's
full input resolution.
"""

from __future__ import annotations

import math

MAX_VIEWS = 15  # extra views per photo, besides the centre

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
