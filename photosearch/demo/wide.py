"""Wide photos for measuring what the centre crop hides: one shape per photo, wholly in the
strip along an edge that the model's centre crop cuts away, and square photos of the same
scenes at the same size as the control."""

from __future__ import annotations

import random
from collections.abc import Iterator

from PIL import Image

from photosearch.demo import shapes

# The shape-and-colour combinations the demo model saw in training.
COMBINATIONS = [
    (shape, colour)
    for shape in shapes.SHAPES
    for colour in shapes.COLORS
    if (shape, colour) not in shapes.HELD_OUT
]
# A 16:9 photo's edge strip is this much of its height wide.
STRIP_16_9 = (16 / 9 - 1) / 2
# (name, aspect): over 1, wide photos with the scene at an edge; else square photos with
# the scene in the centre, scaled by it to the size the wide ones hold it at.
SETS = (
    ("square, as in 16:9", STRIP_16_9),
    ("16:9", 16 / 9),
    ("square, as in 3:1", 1.0),
    ("3:1", 3.0),
)


def centred(
    scene: shapes.Scene, rng: random.Random, height: int, side: int
) -> Image.Image:
    canvas = Image.new("RGB", (height, height), shapes.BACKGROUNDS[scene.background])
    canvas.paste(shapes.render(scene, rng, side=side), ((height - side) // 2,) * 2)
    return canvas


def photos(
    aspect: float, per: int, seed: int, height: int = 256, centre: bool = False
) -> Iterator[tuple[Image.Image, tuple[str, str]]]:
    """`per` photos of each combination, and what each shows; `centre`: a wide photo's
    scene in its middle instead of at an edge, at the same size."""
    rng = random.Random(seed)
    for shape, colour in COMBINATIONS * per:
        background = rng.choice([b for b in shapes.BACKGROUNDS if b != colour])
        size = rng.choice(shapes.SIZES)
        scene = shapes.Scene(shape, colour, 1, size, "center", background)
        if aspect > 1:
            edge = "center" if centre else rng.choice(["left", "right"])
            yield shapes.render_wide(scene, rng, height, aspect, edge), (shape, colour)
        else:
            yield centred(scene, rng, height, round(height * aspect)), (shape, colour)


# Small shapes in large photos: the shape's side as a share of the photo's.
SMALL = (0.25, 0.125)


def small_photos(
    fraction: float, per: int, seed: int, height: int = 512
) -> Iterator[tuple[Image.Image, tuple[str, str]]]:
    """Square photos with one shape a `fraction` of their side, anywhere in them."""
    rng = random.Random(seed)
    for shape, colour in COMBINATIONS * per:
        background = rng.choice([b for b in shapes.BACKGROUNDS if b != colour])
        scene = shapes.Scene(shape, colour, 1, "large", "center", background)
        side = round(height * fraction)
        canvas = Image.new("RGB", (height, height), shapes.BACKGROUNDS[background])
        spot = (
            rng.randrange(0, height - side + 1),
            rng.randrange(0, height - side + 1),
        )
        canvas.paste(shapes.render(scene, rng, side=side), spot)
        yield canvas, (shape, colour)
