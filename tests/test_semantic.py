"""The demo model, through the real open_clip code path, on images it never saw."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from photosearch.demo import shapes
from photosearch.demo.eval_set import EvalSet, encode_eval_set
from photosearch.demo.evaluate import recall_at, tagging_accuracy
from retrieval.model.factory import resolve_model
from retrieval.model.torch_clip import OpenClipEncoder
from retrieval.tagging.prompts import label_vectors


@pytest.fixture(scope="module")
def encoder() -> OpenClipEncoder:
    return OpenClipEncoder(resolve_model("demo", None), "cpu")


@pytest.fixture(scope="module")
def data(encoder: OpenClipEncoder) -> EvalSet:
    return encode_eval_set(encoder, n=400)


def test_text_to_image_recall_on_seen_combinations(
    data: EvalSet, encoder: OpenClipEncoder
) -> None:
    result = recall_at(data, encoder)
    assert result["seen"]["recall@5"] >= 0.8, result


@pytest.mark.parametrize("attribute", ["shape", "color"])
def test_zero_shot_tagging_on_seen_combinations(
    data: EvalSet, encoder: OpenClipEncoder, attribute: str
) -> None:
    result = tagging_accuracy(data, encoder)[attribute]
    assert result["seen"] >= 0.9, result


def test_held_out_combinations_beat_chance(
    data: EvalSet, encoder: OpenClipEncoder
) -> None:
    """Purple stars and green triangles were never shown in training. The demo model gets
    their colour right but is weak on their shape (data/demo/EVAL.md): it must at least do
    clearly better than the 1 in 6 of guessing."""
    result = tagging_accuracy(data, encoder)
    assert result["shape"]["unseen_images"] > 50
    assert result["shape"]["unseen"] >= 0.25, result
    assert result["color"]["unseen"] >= 0.9, result


def test_two_red_circles_come_first(encoder: OpenClipEncoder) -> None:
    """Queries like the README's "two red circles", over 1,500 varied images: the first hit
    always has the right shape and colour, and usually the right count too (counting is the
    demo model's weakest skill: data/demo/EVAL.md)."""
    rng = random.Random(11)
    scenes = [shapes.random_scene(rng, allow_held_out=False) for _ in range(1500)]
    vectors = encoder.encode_images([shapes.render(s, rng, side=128) for s in scenes])
    exact = kind = total = 0
    for shape, color in itertools.product(shapes.SHAPES, shapes.COLORS):
        if (shape, color) in shapes.HELD_OUT:
            continue
        for count in (2, 3):
            text = f"{shapes.COUNT_WORDS[count]} {color} {shapes.PLURALS[shape]}"
            order = np.argsort(-(vectors @ encoder.encode_texts([text])[0]))
            first = scenes[order[0]]
            kind += (first.shape, first.color) == (shape, color)
            exact += (first.shape, first.color, first.count) == (shape, color, count)
            total += 1
            if text == "two red circles":
                top = [scenes[i] for i in order[:3]]
                assert all((s.shape, s.color) == ("circle", "red") for s in top), top
    assert kind == total
    assert exact / total >= 0.6, f"{exact} of {total} first hits have the right count"


def test_prompt_ensemble_is_a_unit_mean_of_templates(encoder: OpenClipEncoder) -> None:
    vectors = label_vectors(encoder, ["star", "heart"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) < 0.99
