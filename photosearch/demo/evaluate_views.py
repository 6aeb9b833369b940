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
from retrieval.media.views import view_boxes
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
    """(Recall@5, vectors per photo) over one library."""
    vectors = encoder.encode_images([image for image, _ in made])
    owner = list(range(len(made)))
    if views:
        crops = [
            (n, image.crop(box))
            for n, (image, _) in enumerate(made)
            for box in view_boxes(
                image.width, image.height, VIEWS_ASPECT, tiles, encoder.image_size
            )
        ]
        if crops:
            vectors = np.concatenate(
                [vectors, encoder.encode_images([c for _, c in crops])]
            )
            owner += [n for n, _ in crops]
    owners = np.array(owner)
    queries = encoder.encode_texts(
        [f"a {colour} {shape}" for shape, colour in wide.COMBINATIONS]
    )
    hits = 0
    for query, combination in zip(queries, wide.COMBINATIONS, strict=True):
        best = np.full(len(made), -np.inf)
        np.maximum.at(best, owners, vectors @ query)
        top = np.argsort(-best, kind="stable")[:5]
        hits += any(made[i][1] == combination for i in top)
    return hits / len(wide.COMBINATIONS), len(owner) / len(made)


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
                    "encoded": "centre and views" if views else "centre",
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
            f"photos at least {VIEWS_ASPECT} times wider than tall are also encoded as "
            "squares along their long side (`retrieval/media/views.py`), a photo scored by its "
            "best view. Small shapes in large photos: a shape a quarter or an eighth of "
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
