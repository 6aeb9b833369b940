"""The demo model, through the real open_clip code path, on images it never saw."""

from __future__ import annotations

import random

import numpy as np
import pytest

from photosearch.demo import shapes
from photosearch.demo.evaluate import (
    EvalSet,
    encode_eval_set,
    recall_at,
    tagging_accuracy,
)
from retrieval.encoder import OpenClipEncoder, resolve_model
from retrieval.tagging import label_vectors


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
    rng = random.Random(5)
    scenes = [shapes.random_scene(rng, allow_held_out=True) for _ in range(200)]
    targets = [
        shapes.Scene("circle", "red", 2, size, "center", bg)
        for size, bg in (("large", "blue"), ("small", "white"), ("large", "gray"))
    ]
    scenes = [s for s in scenes if (s.shape, s.color, s.count) != ("circle", "red", 2)]
    scenes += targets
    images = [shapes.render(s, rng, side=128) for s in scenes]
    vectors = encoder.encode_images(images)
    query = encoder.encode_texts(["two red circles"])[0]
    top = np.argsort(-(vectors @ query))[:3]
    assert all(scenes[i] in targets for i in top), [scenes[i] for i in top]


def test_prompt_ensemble_is_a_unit_mean_of_templates(encoder: OpenClipEncoder) -> None:
    vectors = label_vectors(encoder, ["star", "heart"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) < 0.99
