"""A deterministic stand-in for the CLIP encoder, which records what it was asked."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from PIL import Image

from retrieval.records import FloatArray, ModelInfo
from retrieval.vectors import l2_normalize

FAKE_MODEL = ModelInfo("fake", "fake-weights", 16)
_PROJECTION = np.random.default_rng(0).standard_normal((48, 64)).astype(np.float32)


class FakeEncoder:
    """Image vectors from the colours of a 4x4 grid (so similar pictures are close);
    text vectors from a hash of the words."""

    def __init__(self, info: ModelInfo = FAKE_MODEL) -> None:
        self._info = info
        self.image_calls: list[int] = []
        self.text_calls: list[list[str]] = []

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def image_size(self) -> int:
        return 32

    @property
    def logit_scale(self) -> float:
        return 100.0

    @property
    def logit_bias(self) -> float | None:
        return None

    @property
    def images_encoded(self) -> int:
        return sum(self.image_calls)

    def load(self) -> None:
        pass

    def image_vector(self, image: Image.Image) -> FloatArray:
        """The colours of a 4x4 grid (48 values), projected to the model's dimension by a
        fixed random matrix: nearby colours stay nearby, and unlike brightness alone, red
        and blue of the same brightness are far apart."""
        small = (
            np.asarray(image.convert("RGB").resize((4, 4)), dtype=np.float32) / 255.0
        )
        return ((small.ravel() - 0.5) @ _PROJECTION[:, : self._info.dim]).astype(
            np.float32
        )

    def prepare(self, image: Image.Image) -> FloatArray:
        return self.image_vector(image)

    def encode_prepared(self, items: Sequence[FloatArray]) -> FloatArray:
        self.image_calls.append(len(items))
        if not items:
            return np.zeros((0, self._info.dim), dtype=np.float32)
        return l2_normalize(np.stack(list(items)))

    def encode_images(self, images: Sequence[Image.Image]) -> FloatArray:
        return self.encode_prepared([self.prepare(i) for i in images])

    def encode_texts(self, texts: Sequence[str]) -> FloatArray:
        self.text_calls.append(list(texts))
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            rows.append(np.random.default_rng(seed).standard_normal(self._info.dim))
        return l2_normalize(np.asarray(rows, dtype=np.float32).reshape(len(texts), -1))
