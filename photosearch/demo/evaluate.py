"""Evaluate the demo model on freshly rendered images it never saw, held-out shape and
colour combinations included, and write the report next to the weights.

    python -m photosearch.demo.evaluate [WEIGHTS]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from photosearch.demo import evaluate_tags, evaluate_views, shapes
from photosearch.demo.eval_set import EVAL_SEED, EvalSet, encode_eval_set
from retrieval.model.demo import DEMO_MODEL_NAME, demo_weights_path
from retrieval.model.torch_clip import OpenClipEncoder
from retrieval.records import ModelInfo
from retrieval.tagging.prompts import label_vectors


def recall_at(
    data: EvalSet, encoder: OpenClipEncoder, ks: tuple[int, ...] = (1, 5)
) -> dict:
    """Text to image: each image's complete caption is a query; a hit is any of the top k
    images that the caption describes exactly (several images can share a caption)."""
    captions = [shapes.canonical_caption(s) for s in data.scenes]
    unique = sorted(set(captions))
    text_vectors = encoder.encode_texts(unique)
    ranking = np.argsort(-(text_vectors @ data.vectors.T), axis=1)
    out: dict[str, dict[str, float]] = {}
    for group in ("seen", "unseen"):
        rows = [
            i
            for i, c in enumerate(unique)
            if any(
                captions[j] == c and data.scenes[j].held_out == (group == "unseen")
                for j in range(len(captions))
            )
        ]
        out[group] = {"queries": len(rows)}
        for k in ks:
            hits = sum(
                any(captions[j] == unique[i] for j in ranking[i, :k]) for i in rows
            )
            out[group][f"recall@{k}"] = round(hits / max(1, len(rows)), 3)
    return out


def tagging_accuracy(data: EvalSet, encoder: OpenClipEncoder) -> dict:
    """Zero-shot tagging with the prompt ensemble: is the top label the true one?"""
    out: dict[str, dict[str, float]] = {}
    for attribute, labels in (
        ("shape", shapes.SHAPES),
        ("color", tuple(shapes.COLORS)),
    ):
        label_vecs = label_vectors(encoder, labels)
        predicted = np.argmax(data.vectors @ label_vecs.T, axis=1)
        truth = np.array([labels.index(getattr(s, attribute)) for s in data.scenes])
        held = np.array([s.held_out for s in data.scenes])
        out[attribute] = {
            "seen": round(float((predicted == truth)[~held].mean()), 3),
            "unseen": round(float((predicted == truth)[held].mean()), 3),
            "seen_images": int((~held).sum()),
            "unseen_images": int(held.sum()),
        }
    return out


def counting(data: EvalSet, encoder: OpenClipEncoder) -> dict:
    """For "two red circles"-style queries over seen combinations: how often the first hit
    has the right shape and colour, and how often the right count as well."""
    kind = exact = total = 0
    for shape in shapes.SHAPES:
        for color in shapes.COLORS:
            if (shape, color) in shapes.HELD_OUT:
                continue
            for count in (2, 3):
                text = f"{shapes.COUNT_WORDS[count]} {color} {shapes.PLURALS[shape]}"
                first = data.scenes[
                    int(np.argmax(data.vectors @ encoder.encode_texts([text])[0]))
                ]
                kind += (first.shape, first.color) == (shape, color)
                exact += (first.shape, first.color, first.count) == (
                    shape,
                    color,
                    count,
                )
                total += 1
    return {
        "queries": total,
        "shape_and_color": round(kind / total, 3),
        "with_count": round(exact / total, 3),
    }


def evaluate(weights: Path) -> dict:
    import open_clip

    from retrieval.model.demo import register_demo_config

    register_demo_config()
    dim = int(open_clip.get_model_config(DEMO_MODEL_NAME)["embed_dim"])
    encoder = OpenClipEncoder(
        ModelInfo(DEMO_MODEL_NAME, str(weights.resolve()), dim), "cpu"
    )
    data = encode_eval_set(encoder)
    return {
        "weights": weights.name,
        "images": len(data.scenes),
        "held_out_combinations": sorted(f"{c} {s}" for s, c in shapes.HELD_OUT),
        "text_to_image": recall_at(data, encoder),
        "zero_shot_tagging": tagging_accuracy(data, encoder),
        "counting": counting(data, encoder),
        "open_world_tagging": evaluate_tags.open_world(encoder),
        "wide_photos": evaluate_views.wide_photos(encoder),
        "wide_photo_candidates": evaluate_views.candidates(encoder),
    }


def write_report(weights: Path) -> dict:
    result = evaluate(weights)
    (weights.parent / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    t2i, tag = result["text_to_image"], result["zero_shot_tagging"]
    lines = [
        "# Demo model evaluation",
        "",
        (
            f"Written by `python -m photosearch.demo.evaluate` for `{result['weights']}`, on "
            f"{result['images']} freshly rendered images (seed {EVAL_SEED}) that the model "
            "never saw. Held-out combinations, absent from training: "
            f"{', '.join(result['held_out_combinations'])}."
        ),
        "",
        "## Text to image",
        "",
        (
            'Each distinct complete caption ("two large red circles on a blue background") is a '
            "query over all images; a hit is a top-k image that the caption describes exactly."
        ),
        "",
        "| queries | count | Recall@1 | Recall@5 |",
        "|---|---|---|---|",
    ]
    for group in ("seen", "unseen"):
        g = t2i[group]
        lines.append(
            f"| {group} | {g['queries']} | {g['recall@1']} | {g['recall@5']} |"
        )
    lines += [
        "",
        "## Zero-shot classification",
        "",
        (
            "Top label of the prompt-template ensemble (`retrieval.tagging.prompts.TEMPLATES`) "
            "against the true attribute, labels being the six shapes or the six colours."
        ),
        "",
        "| attribute | seen combinations | unseen combinations |",
        "|---|---|---|",
    ]
    for attribute in ("shape", "color"):
        a = tag[attribute]
        lines.append(
            f"| {attribute} | {a['seen']} ({a['seen_images']} images) | "
            f"{a['unseen']} ({a['unseen_images']} images) |"
        )
    c = result["counting"]
    lines += [
        "",
        "## Counting",
        "",
        (
            f'Queries such as "two red circles" or "three blue squares" ({c["queries"]}, '
            "all seen combinations): the first hit has the right shape and colour in "
            f"{c['shape_and_color']} of them, and the right count as well in "
            f"{c['with_count']}."
        ),
    ]
    lines += ["", *evaluate_tags.report_lines(result["open_world_tagging"])]
    lines += ["", *evaluate_views.report_lines(result["wide_photos"])]
    lines += ["", *evaluate_views.candidate_lines(result["wide_photo_candidates"])]
    (weights.parent / "EVAL.md").write_text("\n".join(lines) + "\n")
    return result


def main() -> None:
    weights = Path(sys.argv[1]) if len(sys.argv) > 1 else demo_weights_path()
    print(json.dumps(write_report(weights), indent=2))


if __name__ == "__main__":
    main()
