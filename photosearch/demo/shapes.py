"""A synthetic captioned image world: coloured shapes on plain backgrounds.

The demo CLIP model is trained on it, and `photosearch demo` builds a sample library from it.
Captions vary in form and completeness ("a star", "something purple", "two red circles on a
blue background") because a model that only ever saw one caption form does not respond to
the prompt templates that zero-shot tagging uses.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "star", "heart", "cross")
PLURALS = {s: s + ("es" if s.endswith("s") else "s") for s in SHAPES}
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (40, 170, 50),
    "blue": (40, 80, 230),
    "yellow": (240, 220, 40),
    "purple": (140, 50, 180),
    "orange": (250, 140, 20),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "blue": (30, 50, 120),
}
COUNT_WORDS = {1: "one", 2: "two", 3: "three"}
SIZES = ("small", "large")
POSITIONS = ("center", "left", "right", "top", "bottom")
POSITION_PHRASES = {
    "center": "in the center",
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
}
# Never shown in training, so the evaluation can test zero-shot generalisation on them.
HELD_OUT: frozenset[tuple[str, str]] = frozenset(
    {("star", "purple"), ("triangle", "green")}
)
PREFIXES = (
    "",
    "",
    "",
    "a photo of ",
    "a picture of ",
    "an image of ",
    "a drawing of ",
    "a rendering of ",
    "a close-up photo of ",
    "a bad photo of ",
    "a good photo of ",
)


@dataclass(frozen=True)
class Scene:
    """What one synthetic image shows."""

    shape: str
    color: str
    count: int
    size: str
    position: str  # only meaningful when count == 1
    background: str

    @property
    def plural(self) -> bool:
        return self.count > 1

    @property
    def held_out(self) -> bool:
        return (self.shape, self.color) in HELD_OUT


def random_scene(rng: random.Random, *, allow_held_out: bool) -> Scene:
    while True:
        shape = rng.choice(SHAPES)
        color = rng.choice(tuple(COLORS))
        if allow_held_out or (shape, color) not in HELD_OUT:
            break
    background = rng.choice([b for b in BACKGROUNDS if b != color])
    count = rng.choice((1, 1, 2, 3))
    position = rng.choice(POSITIONS) if count == 1 else "center"
    return Scene(shape, color, count, rng.choice(SIZES), position, background)


def _noun(scene: Scene) -> str:
    return scene.shape if scene.count == 1 else PLURALS[scene.shape]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def canonical_caption(scene: Scene) -> str:
    """The complete description: the caption used as a query in the evaluation."""
    count = COUNT_WORDS[scene.count]
    text = f"{count} {scene.size} {scene.color} {_noun(scene)}"
    if scene.count == 1:
        text += f" {POSITION_PHRASES[scene.position]}"
    return text + f" on a {scene.background} background"


COLOR_KEYS = frozenset({"color", "background"})


def random_caption(
    scene: Scene, rng: random.Random, *, colorless: bool = False
) -> tuple[str, frozenset[str]]:
    """One caption of a random form (complete, partial, or one attribute only), and the names
    of the attributes it pins down: any scene that agrees on those fits the caption too.

    `colorless`: only forms that name no colour, for a grayscale copy of the scene.
    """
    noun = _noun(scene)
    one = scene.count == 1
    lead = _article(scene.color) if one else COUNT_WORDS[scene.count]
    where = POSITION_PHRASES[scene.position]
    bg = f"on a {scene.background} background"
    shape_count = ("shape", "count")
    forms: list[tuple[str, tuple[str, ...]]] = [
        (
            canonical_caption(scene),
            ("shape", "color", "count", "size", "background")
            + (("position",) if one else ()),
        ),
        (f"{lead} {scene.color} {noun}", ("shape", "color", "count")),
        (
            f"{lead} {scene.color} {noun} {bg}",
            ("shape", "color", "count", "background"),
        ),
        (
            f"{lead} {scene.size} {scene.color} {noun}",
            ("shape", "color", "count", "size"),
        ),
        (
            f"{_article(scene.shape) if one else COUNT_WORDS[scene.count]} {noun}",
            shape_count,
        ),
        (f"{_article(scene.shape)} {scene.shape}", ("shape",)),
        (f"{scene.color} {noun}", ("shape", "color", "plural")),
        (
            f"{COUNT_WORDS[scene.count]} {scene.color} {'shape' if one else 'shapes'}",
            ("color", "count"),
        ),
        (f"something {scene.color}", ("color",)),
        (f"{_article(scene.color)} {scene.color} shape", ("color",)),
        (scene.color, ("color",)),
        (scene.shape, ("shape",)),
        (f"{scene.color} {scene.shape}", ("shape", "color")),
        (
            f"{COUNT_WORDS[scene.count]} {'shape' if one else 'shapes'} {bg}",
            ("count", "background"),
        ),
        (f"{_article(scene.shape)} {scene.shape} {bg}", ("shape", "background")),
    ]
    if one:
        forms.append(
            (
                f"a {scene.color} {scene.shape} {where}",
                ("shape", "color", "count", "position"),
            )
        )
        forms.append((f"a {scene.shape} {where}", ("shape", "count", "position")))
    if colorless:
        forms = [(text, keys) for text, keys in forms if not COLOR_KEYS & set(keys)]
    text, keys = rng.choice(forms)
    return rng.choice(PREFIXES) + text, frozenset(keys)


def fits(scene: Scene, described: Scene, keys: frozenset[str]) -> bool:
    """Whether `scene` matches a caption that pinned `keys` of `described`."""
    if "position" in keys and scene.count != 1:
        return False
    return all(getattr(scene, key) == getattr(described, key) for key in keys)


def _polygon(
    kind: str, cx: float, cy: float, r: float, turn: float
) -> list[tuple[float, float]]:
    def at(radius: float, angle: float) -> tuple[float, float]:
        return (
            cx + radius * math.cos(angle + turn),
            cy + radius * math.sin(angle + turn),
        )

    if kind == "square":
        return [at(r, math.pi / 4 + k * math.pi / 2) for k in range(4)]
    if kind == "triangle":
        return [at(r, -math.pi / 2 + k * 2 * math.pi / 3) for k in range(3)]
    if kind == "star":
        return [
            at(r if k % 2 == 0 else r * 0.42, -math.pi / 2 + k * math.pi / 5)
            for k in range(10)
        ]
    if kind == "cross":
        w = r * 0.36
        pts = [(w, r), (w, w), (r, w), (r, -w), (w, -w), (w, -r)]
        pts += [(-x, -y) for x, y in pts]
        c, s = math.cos(turn), math.sin(turn)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]
    if kind == "heart":
        pts = []
        for k in range(40):
            t = 2 * math.pi * k / 40
            x = 16 * math.sin(t) ** 3
            y = -(
                13 * math.cos(t)
                - 5 * math.cos(2 * t)
                - 2 * math.cos(3 * t)
                - math.cos(4 * t)
            )
            pts.append((cx + x * r / 17, cy + y * r / 17))
        return pts
    raise ValueError(f"unknown shape {kind!r}")


def _jitter(
    rgb: tuple[int, int, int], rng: random.Random, amount: int
) -> tuple[int, int, int]:
    r, g, b = (min(255, max(0, c + rng.randint(-amount, amount))) for c in rgb)
    return (r, g, b)


def _centers(
    scene: Scene, rng: random.Random, side: int, radius: float
) -> list[tuple[float, float]]:
    margin = radius * 1.1
    if scene.count == 1:
        third = side / 3.5
        base = {
            "center": (side / 2, side / 2),
            "left": (third, side / 2),
            "right": (side - third, side / 2),
            "top": (side / 2, third),
            "bottom": (side / 2, side - third),
        }[scene.position]
        wobble = side * 0.04
        return [
            (
                base[0] + rng.uniform(-wobble, wobble),
                base[1] + rng.uniform(-wobble, wobble),
            )
        ]
    for _ in range(200):
        points = [
            (rng.uniform(margin, side - margin), rng.uniform(margin, side - margin))
            for _ in range(scene.count)
        ]
        if all(
            math.dist(a, b) > 2.1 * radius
            for i, a in enumerate(points)
            for b in points[i + 1 :]
        ):
            return points
    raise RuntimeError("could not place shapes without overlap")  # pragma: no cover


def render(scene: Scene, rng: random.Random, side: int = 64) -> Image.Image:
    """Draw the scene at 2x and downsample, for antialiased edges like a real photo's."""
    big = side * 2
    image = Image.new(
        "RGB", (big, big), _jitter(BACKGROUNDS[scene.background], rng, 12)
    )
    draw = ImageDraw.Draw(image)
    fraction = {1: 0.3, 2: 0.2, 3: 0.16}[scene.count]
    if scene.size == "small":
        fraction *= 0.7
    radius = big * fraction * rng.uniform(0.9, 1.1)
    fill = _jitter(COLORS[scene.color], rng, 20)
    for cx, cy in _centers(scene, rng, big, radius):
        turn = rng.uniform(-0.25, 0.25)
        if scene.shape == "circle":
            draw.ellipse(
                (cx - radius, cy - radius, cx + radius, cy + radius), fill=fill
            )
        else:
            draw.polygon(_polygon(scene.shape, cx, cy, radius, turn), fill=fill)
    return image.resize((side, side), Image.Resampling.BICUBIC)


def render_wide(
    scene: Scene, rng: random.Random, height: int, aspect: float, edge: str
) -> Image.Image:
    """A photo `aspect` times wider than tall whose scene sits wholly in the strip along
    its left or right edge that the model's centre crop cuts away (scaled down to fit it
    when the strip is narrower than the photo is tall), or (`edge` "center") at the same
    size in its middle; the rest is background."""
    width = round(aspect * height)
    side = min(height, (width - height) // 2)
    canvas = Image.new("RGB", (width, height), BACKGROUNDS[scene.background])
    square = render(scene, rng, side=side)
    top = rng.randrange(0, height - side + 1)
    left = {"left": 0, "right": width - side}.get(edge, (width - side) // 2)
    canvas.paste(square, (left, top))
    return canvas
