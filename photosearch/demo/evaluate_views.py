"""Wide photos on the demo model: text-to-image Recall@5 of a shape in the strip the centre
crop cuts away, from the centre crop alone and with the wide-photo views, against the same
shapes at the same size in square photos (see photosearch.demo.wide). In memory, through
the model's own transform; `python -m bench.bench_views` measures the same through the
indexer, with the cost."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from photosearch.demo import wide
from retrieval.media.views import covering_boxes, own_vector, view_plan
from retrieval.model.torch_clip import OpenClipEncoder

SEEDS = (21, 22, 23, 24, 25)
PER_COMBINATION = 3
VIEWS_ASPECT = 1.6


def recall_at_5(
    encoder: OpenClipEncoder,
    made: list[tuple[Image.Image, tuple[str, str]]],
    views: bool,
    tiles: int = 0,
) -> tuple[float, float]:
    """(Recall@5, vectors per photo) over one library, encoded as the indexer does
    (retrieval.media.views)."""

    def show(image: Image.Image) -> tuple[list[Image.Image], int]:
        plan = view_plan(
            image.width,
            image.height,
            VIEWS_ASPECT if views else 0.0,
            tiles,
            encoder.image_size,
        )
        crops = [image.crop(box) for box in plan.boxes]
        return (crops, plan.covering) if plan.covering else ([image, *crops], 0)

    recall, _, stored = _recall(encoder, made, show)
    return recall, stored


def _recall(
    encoder: OpenClipEncoder,
    made: list[tuple[Image.Image, tuple[str, str]]],
    show: Any,
) -> tuple[float, float, float]:
    """(Recall@5, model passes per photo, vectors per photo) when `show(photo)` gives the
    pictures the model sees and how many of the first cover the photo (0: the first is
    its own vector; else their mean is), each photo scored by its best vector."""
    shown = [show(image) for image, _ in made]
    encoded = iter(
        encoder.encode_images([p for pictures, _ in shown for p in pictures])
    )
    vectors, owner, passes = [], [], 0
    for n, (pictures, covering) in enumerate(shown):
        mine = np.stack([next(encoded) for _ in pictures])
        passes += len(pictures)
        if covering:
            mine = np.concatenate([own_vector(mine[:covering])[None], mine])
        vectors.append(mine)
        owner += [n] * len(mine)
    stacked, owners = np.concatenate(vectors), np.array(owner)
    queries = encoder.encode_texts(
        [f"a {colour} {shape}" for shape, colour in wide.COMBINATIONS]
    )
    hits = 0
    for query, combination in zip(queries, wide.COMBINATIONS, strict=True):
        best = np.full(len(made), -np.inf)
        np.maximum.at(best, owners, stacked @ query)
        top = np.argsort(-best, kind="stable")[:5]
        hits += any(made[i][1] == combination for i in top)
    count = len(made)
    return hits / len(wide.COMBINATIONS), passes / count, len(owner) / count


def wide_photos(encoder: OpenClipEncoder) -> list[dict[str, Any]]:
    rows = []
    for name, aspect in wide.SETS:
        for views in (False, True) if aspect > 1 else (False,):
            measured = [
                recall_at_5(
                    encoder, list(wide.photos(aspect, PER_COMBINATION, seed)), views
                )
                for seed in SEEDS
            ]
            rows.append(
                {
                    "photos": name,
                    "encoded": "covering squares" if views else "centre",
                    "recall@5": round(float(np.mean([r for r, _ in measured])), 3),
                    "vectors_per_photo": round(
                        float(np.mean([v for _, v in measured])), 2
                    ),
                }
            )
    for fraction in wide.SMALL:
        for tiles in (0, 2, 3):
            measured = [
                recall_at_5(
                    encoder,
                    list(wide.small_photos(fraction, PER_COMBINATION, seed)),
                    tiles > 0,
                    tiles,
                )
                for seed in SEEDS
            ]
            rows.append(
                {
                    "photos": f"512 px square, shape {fraction:g} of the side",
                    "encoded": f"centre and {tiles}x{tiles} tiles"
                    if tiles
                    else "centre",
                    "recall@5": round(float(np.mean([r for r, _ in measured])), 3),
                    "vectors_per_photo": round(
                        float(np.mean([v for _, v in measured])), 2
                    ),
                }
            )
    return rows


def report_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Wide photos",
        "",
        (
            f"{len(SEEDS)} libraries of {len(wide.COMBINATIONS) * PER_COMBINATION} photos "
            f"per kind (seeds {', '.join(map(str, SEEDS))}), one shape each, wholly in the "
            "strip along an edge that the model's centre crop cuts away; the control is "
            "the same shapes at the same size in the middle of square photos. A query "
            '"a {colour} {shape}" hits when one of its first five results shows it. Views: '
            f"photos at least {VIEWS_ASPECT} times wider than tall are encoded as the "
            "fewest squares that cover them, their mean the photo's own vector "
            "(`retrieval/media/views.py`), a photo scored by its best vector. Small "
            "shapes in large photos: a shape a quarter or an eighth of "
            "a 512 px photo's side, anywhere in it, with `--tiles` 0 (off, the default), "
            "2 or 3."
        ),
        "",
        "| photos | encoded | Recall@5 | vectors per photo |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['photos']} | {r['encoded']} | {r['recall@5']} | "
            f"{r['vectors_per_photo']} |"
        )
    return lines


# Ways to show the model a wide photo: the pictures it sees, and how many of the first
# cover the photo (their mean is then its own vector; 0: the first picture is). Each photo
# is scored by its best vector; the cost is the passes of the model.
def _covering(image: Image.Image) -> list[Image.Image]:
    """The squares that cover a wide photo, as the indexer crops them."""
    boxes = covering_boxes(image.width, image.height, VIEWS_ASPECT)
    return [image.crop(box) for box in boxes]


def _letterbox(image: Image.Image) -> Image.Image:
    """The whole photo, at its aspect, on a square of its mean colour."""
    side = max(image.size)
    mean = tuple(int(c) for c in np.asarray(image).reshape(-1, 3).mean(axis=0))
    canvas = Image.new("RGB", (side, side), mean)
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


def _squeeze(image: Image.Image) -> Image.Image:
    """The whole photo, squeezed to a square."""
    side = min(image.size)
    return image.resize((side, side), Image.Resampling.BICUBIC)


# The model's transform crops the centre of a picture it is given whole.
CANDIDATES: dict[str, Any] = {
    "centre crop only": lambda im: ([im], 0),
    "centre + two side squares (before)": lambda im: ([im, *_covering(im)], 0),
    "two covering squares, their mean its own (chosen)": lambda im: (
        _covering(im),
        2,
    ),
    "centre + letterboxed whole": lambda im: ([im, _letterbox(im)], 0),
    "centre + squeezed whole": lambda im: ([im, _squeeze(im)], 0),
    "letterboxed whole only": lambda im: ([_letterbox(im)], 0),
    "squeezed whole only": lambda im: ([_squeeze(im)], 0),
}


def candidates(encoder: OpenClipEncoder) -> list[dict[str, Any]]:
    """Each candidate on 16:9 photos with the scene at an edge, and with it in the
    middle (what a view must not lose), beside the square control."""
    kinds: dict[str, bool] = {
        "16:9, scene at an edge": False,
        "16:9, scene in the middle": True,
    }
    rows = []
    for name, show in CANDIDATES.items():
        row: dict[str, Any] = {"candidate": name}
        for kind, centre in kinds.items():
            measured = [
                _recall(
                    encoder,
                    list(wide.photos(16 / 9, PER_COMBINATION, seed, centre=centre)),
                    show,
                )
                for seed in SEEDS
            ]
            row[kind] = round(float(np.mean([r for r, _, _ in measured])), 3)
            row["passes"] = round(float(np.mean([p for _, p, _ in measured])), 2)
        rows.append(row)
    return rows


def candidate_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Wide photos: the candidates",
        "",
        (
            "The same 16:9 libraries as above, the scene at an edge (what the centre crop "
            "loses) and the same scene in the middle (what a candidate must not lose), "
            "each photo shown to the model as the candidate says and scored by its best "
            "vector; the cost is the model's passes per photo, which is what indexing a "
            "wide photo costs. `python -m photosearch.demo.evaluate_views` prints it."
        ),
        "",
        (
            "| candidate | scene at an edge: Recall@5 | scene in the middle: Recall@5 "
            "| passes per photo |"
        ),
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['candidate']} | {r['16:9, scene at an edge']} | "
            f"{r['16:9, scene in the middle']} | {r['passes']} |"
        )
    return lines


if __name__ == "__main__":
    from retrieval.model.factory import resolve_model

    model = OpenClipEncoder(resolve_model("demo", None), "cpu")
    print("\n".join(candidate_lines(candidates(model))))
