"""The encoder interface: what the rest of the library sees of a model, whatever runs it
(open_clip on torch, the same towers on ONNX Runtime, or a test's fake). Every vector it
returns is unit length, so inner product is cosine similarity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from retrieval.records import FloatArray, ModelInfo

if TYPE_CHECKING:
    from PIL import Image


class Encoder(Protocol):
    @property
    def info(self) -> ModelInfo: ...

    @property
    def image_size(self) -> int:
        """Side of the square the image tower sees, in pixels."""
        ...

    @property
    def logit_scale(self) -> float:
        """The model's softmax temperature for image-text logits."""
        ...

    @property
    def logit_bias(self) -> float | None:
        """The bias of a model trained with a sigmoid loss (SigLIP): with it, a pair's
        probability is sigmoid(scale * cosine + bias). None for softmax-trained models."""
        ...

    def load(self) -> None:
        """Load the weights now rather than on first use (a server's first query)."""
        ...

    def prepare(self, image: Image.Image) -> Any:
        """The model's input for one image (resized, cropped, normalised); thread-safe, so
        decode workers run it ahead of the model."""
        ...

    def encode_prepared(self, items: Sequence[Any]) -> FloatArray:
        """Unit vectors of prepared images."""
        ...

    def encode_images(self, images: Sequence[Image.Image]) -> FloatArray: ...

    def encode_texts(self, texts: Sequence[str]) -> FloatArray: ...
