"""The demo model's evaluation set: freshly rendered scenes it never saw, held-out shape
and colour combinations included, and their vectors; what every part of the evaluation
(photosearch.demo.evaluate, evaluate_tags) measures on."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from photosearch.demo import shapes
from retrieval.model.torch_clip import OpenClipEncoder
from retrieval.records import FloatArray

EVAL_SEED = 20261124
EVAL_IMAGES = 1200


@dataclass(frozen=True)
class EvalSet:
    scenes: list[shapes.Scene]
    vectors: FloatArray


def encode_eval_set(encoder: OpenClipEncoder, n: int = EVAL_IMAGES) -> EvalSet:
    """Images rendered at 128 px, so the model's own resize runs as it does on real files."""
    rng = random.Random(EVAL_SEED)
    scenes = [shapes.random_scene(rng, allow_held_out=True) for _ in range(n)]
    # Half the images show a held-out combination, so both halves are measured well.
    # Sorted: a frozenset's order changes with each process's string hashing.
    held = sorted(shapes.HELD_OUT)
    scenes = [
        shapes.Scene(*held[i % len(held)], s.count, s.size, s.position, s.background)
        if i % 4 == 0 and s.background != held[i % len(held)][1]
        else s
        for i, s in enumerate(scenes)
    ]
    return encode_scenes(encoder, scenes, rng)


def encode_scenes(
    encoder: OpenClipEncoder, scenes: list[shapes.Scene], rng: random.Random
) -> EvalSet:
    images = [shapes.render(s, rng, side=128) for s in scenes]
    vectors = np.concatenate(
        [encoder.encode_images(images[i : i + 128]) for i in range(0, len(images), 128)]
    )
    return EvalSet(scenes, vectors)
