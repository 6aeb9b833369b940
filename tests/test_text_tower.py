"""Cutting the padding off the text tower's input gives the same embeddings."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from retrieval.model import text_tower
from retrieval.model.demo import open_clip_module
from retrieval.model.factory import resolve_model
from retrieval.model.text_cache import TextCache
from retrieval.model.torch_clip import OpenClipEncoder
from retrieval.tagging.prompts import label_vectors

TEXTS = [
    "a star",
    "two red circles on a blue background",
    "x",
    "a photo of a very " * 6,
]


@pytest.mark.parametrize("name", ["demo", "ViT-B-32"])
def test_trimmed_text_tower_equals_the_full_one(name: str) -> None:
    open_clip = open_clip_module()
    torch.manual_seed(0)
    model = open_clip.create_model(name, pretrained=None).eval()
    assert text_tower.can_trim(model)
    tokens = open_clip.get_tokenizer(name)(TEXTS)
    with torch.inference_mode():
        full = model.encode_text(tokens)
        trimmed = text_tower.encode_text(model, tokens)
        one = text_tower.encode_text(model, tokens[:1])
    np.testing.assert_allclose(trimmed.numpy(), full.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(one.numpy(), full[:1].numpy(), rtol=1e-4, atol=1e-5)


def test_encoder_caches_texts_and_keeps_order() -> None:
    encoder = OpenClipEncoder(resolve_model("demo", None), "cpu")
    first = encoder.encode_texts(["a", "b", "a"])
    assert encoder.text_batches == 1
    np.testing.assert_array_equal(first[0], first[2])
    again = encoder.encode_texts(["b"])
    assert encoder.text_batches == 1  # from the cache: no forward pass
    np.testing.assert_array_equal(again[0], first[1])
    encoder.encode_texts(["b", "c"])
    assert encoder.text_batches == 2  # only "c" was new
    assert encoder.encode_texts([]).shape == (0, 128)


def test_a_label_set_larger_than_the_text_cache() -> None:
    """1,000 labels are 10,000 prompts, more than the cache holds: every one must still
    come back, equal to the same text embedded alone."""
    encoder = OpenClipEncoder(resolve_model("demo", None), "cpu")
    labels = [f"label number {i}" for i in range(1000)]
    vectors = label_vectors(encoder, labels)
    assert vectors.shape == (1000, 128)
    alone = OpenClipEncoder(resolve_model("demo", None), "cpu")
    for i in (0, 411, 999):
        np.testing.assert_allclose(
            vectors[i], label_vectors(alone, [labels[i]])[0], atol=1e-5
        )


def test_text_cache_under_concurrent_callers() -> None:
    """Callers on many threads, a tiny cache evicting all the time: no error, and every
    answer is the text's own vector."""
    encoder = OpenClipEncoder(resolve_model("demo", None), "cpu")
    encoder._text_cache = TextCache(8)
    texts = [f"a red circle {i}" for i in range(40)]
    expected = dict(zip(texts, encoder.encode_texts(texts), strict=True))

    def ask(seed: int) -> bool:
        rng = random.Random(seed)
        for _ in range(20):
            asked = rng.sample(texts, 6)
            got = encoder.encode_texts(asked)
            for text, vector in zip(asked, got, strict=True):
                np.testing.assert_allclose(vector, expected[text], atol=1e-5)
        return True

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(ask, range(8)))
