"""Open-world tagging on the demo model: precision and recall of the tags each label set
gets on a freshly rendered library (combinations in the proportions a demo library has,
held-out ones reported apart), against the closed-set softmax that tagging was before."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from photosearch.demo import shapes
from photosearch.demo.eval_set import EvalSet, encode_scenes
from retrieval.model.torch_clip import OpenClipEncoder
from retrieval.tagging.evaluation import tag_scores

LIBRARY_SEED = 20261130
LIBRARY_IMAGES = 1200
LABEL_SETS: tuple[tuple[str, ...], ...] = (
    ("star", "heart"),
    ("circle", "square"),
    ("triangle", "cross"),
    *((shape,) for shape in shapes.SHAPES),
    shapes.SHAPES,
)


def library_set(encoder: OpenClipEncoder, n: int = LIBRARY_IMAGES) -> EvalSet:
    rng = random.Random(LIBRARY_SEED)
    return encode_scenes(
        encoder, [shapes.random_scene(rng, allow_held_out=True) for _ in range(n)], rng
    )


def assigned(
    encoder: OpenClipEncoder, data: EvalSet, labels: tuple[str, ...], exclusive: bool
) -> np.ndarray:
    """What `photosearch tag` assigns with its defaults (threshold 0.5; --exclusive as it
    was before open-world tags: top 1)."""
    return tag_scores(encoder, labels, data.vectors, 0.5, exclusive=exclusive).assigned


def precision_recall(
    got: np.ndarray, data: EvalSet, labels: tuple[str, ...], held_out: bool
) -> dict[str, Any]:
    rows = np.array([s.held_out == held_out for s in data.scenes])
    truth = np.array([[s.shape == label for label in labels] for s in data.scenes])
    got, truth = got[rows], truth[rows]
    hits = int((got & truth).sum())
    return {
        "precision": round(hits / max(1, int(got.sum())), 3),
        "recall": round(hits / max(1, int(truth.sum())), 3),
        "tags": int(got.sum()),
        "photos_showing": int(truth.any(axis=1).sum()),
        "photos": int(rows.sum()),
    }


def open_world(encoder: OpenClipEncoder) -> list[dict[str, Any]]:
    data = library_set(encoder)
    out = []
    for labels in LABEL_SETS:
        row: dict[str, Any] = {"labels": list(labels)}
        for mode, exclusive in (("closed_set", True), ("open_world", False)):
            got = assigned(encoder, data, labels, exclusive)
            row[mode] = {
                group: precision_recall(got, data, labels, group == "held_out")
                for group in ("seen", "held_out")
            }
        out.append(row)
    return out


def report_lines(rows: list[dict[str, Any]]) -> list[str]:
    def cell(r: dict[str, Any]) -> str:
        if r["photos_showing"] == 0:
            return f"none shows them; {r['tags']} wrong tags" if r["tags"] else "—"
        return f"{r['precision']} / {r['recall']} ({r['tags']} tags)"

    lines = [
        "## Open-world tagging",
        "",
        (
            f"A fresh library of {LIBRARY_IMAGES} rendered photos (seed {LIBRARY_SEED}) in "
            "the proportions `photosearch demo` makes, tagged as `photosearch tag` does with "
            "its defaults (threshold 0.5). Precision / recall of the assigned tags against "
            "the true shape. Closed set is how tagging worked before (a softmax over the "
            "set, top 1), and what `--exclusive` does now; open-world is the default."
        ),
        "",
        "| labels | photos showing them | closed set | open-world | held-out: photos showing them | held-out: open-world |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        seen = row["open_world"]["seen"]
        lines.append(
            f"| {' + '.join(row['labels'])} | {seen['photos_showing']} of "
            f"{seen['photos']} | {cell(row['closed_set']['seen'])} | {cell(seen)} | "
            f"{row['open_world']['held_out']['photos_showing']} | "
            f"{cell(row['open_world']['held_out'])} |"
        )
    return lines
