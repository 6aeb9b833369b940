"""Cutting the padding off the text tower's input gives the same embeddings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from retrieval import text_tower
from retrieval.encoder import OpenClipEncoder, _open_clip, resolve_model

TEXTS = [
    "a star",
    "two red circles on a blue background",
    "x",
    "a photo of a very " * 6,
]


@pytest.mark.parametrize("name", ["demo", "ViT-B-32"])
def test_trimmed_text_tower_equals_the_full_one(name: str) -> None:
    open_clip = _open_clip()
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
    np.testing.assert_array_equal(first[0], first[2])
    again = encoder.encode_texts(["b"])
    np.testing.assert_array_equal(again[0], first[1])
    assert encoder.encode_texts([]).shape == (0, 128)
