"""open_clip on torch behind the `Encoder` interface (retrieval.model.protocol).

`OpenClipEncoder` is the only place that runs open_clip's models with torch, and it imports
them lazily, so commands that do not encode anything start fast.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import (
    ModelError,
    ModelUnavailableError,
    UsageError,
    first_line,
)
from retrieval.model import text_tower
from retrieval.model.demo import (
    DEMO_PRETRAINED,
    configured_image_size,
    demo_weights_path,
    open_clip_module,
)
from retrieval.model.text_cache import TextCache
from retrieval.model.transform import SplitTransform, split_transform
from retrieval.records import FloatArray, ModelInfo
from retrieval.vectors import l2_normalize

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)


def pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise UsageError(
            "--device cuda: no CUDA GPU is available; use --device auto or cpu"
        )
    if requested == "mps" and not torch.backends.mps.is_available():
        raise UsageError(
            "--device mps: Apple's MPS is not available; use --device auto or cpu"
        )
    return requested


class OpenClipEncoder:
    """An open_clip model; weights load on first use."""

    def __init__(self, info: ModelInfo, device: str = "auto") -> None:
        self._info = info
        self._requested_device = device
        self._model: Any = None
        self._input: SplitTransform | None = None
        self._tokenizer: Any = None
        self._text_cache = TextCache()
        self.text_batches = 0  # forward passes of the text tower (tests count them)
        self.device = "cpu"
        # Loading may start on one thread (the model thread, ahead of need) while
        # another asks for the model: one loads, the other waits.
        self._loading = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        return self._info

    def _weights(self) -> str:
        if self._info.pretrained == DEMO_PRETRAINED:
            return str(demo_weights_path())
        return self._info.pretrained

    def load(self) -> None:
        if self._model is not None:
            return
        with self._loading:
            if self._model is None:
                self._load()

    def _load(self) -> None:
        open_clip = open_clip_module()
        import torch

        self.device = pick_device(self._requested_device)
        weights = self._weights()
        is_file = Path(weights).is_file()
        try:
            with _no_random_init(torch):
                model, _, preprocess = open_clip.create_model_and_transforms(
                    self._info.name,
                    pretrained=weights,
                    device=self.device,
                    weights_only=True,
                )
        # open_clip raises many kinds of errors for weights it cannot get; all mean the same.
        except Exception as exc:  # noqa: BLE001
            reason = first_line(exc)
            if is_file:
                raise ModelError(
                    f"cannot load weights {weights} into {self._info.name}: {reason}; "
                    "check that the file is a checkpoint of that architecture"
                ) from None
            raise ModelUnavailableError(
                f"cannot get weights {weights!r} for {self._info.name} (no network or no cache?): "
                "pass --pretrained /path/to/weights.safetensors, or use --model demo"
            ) from None
        model.eval()
        self._model = model
        self._input = split_transform(preprocess)
        self._tokenizer = open_clip.get_tokenizer(self._info.name)
        self._torch = torch

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Any:
        """The open_clip model (loaded on first use)."""
        self.load()
        return self._model

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def image_size(self) -> int:
        configured = self.configured_image_size()
        if configured is not None:
            return configured
        self.load()
        size = self._model.visual.image_size
        return int(size[0] if isinstance(size, tuple | list) else size)

    def configured_image_size(self) -> int | None:
        """The input side, from the architecture's config: known before the weights
        load, so that photos are decoded meanwhile."""
        return configured_image_size(self._info.name)

    @property
    def logit_scale(self) -> float:
        self.load()
        return float(self._model.logit_scale.exp().clamp(max=100).item())

    @property
    def logit_bias(self) -> float | None:
        self.load()
        bias = getattr(self._model, "logit_bias", None)
        return None if bias is None else float(bias.item())

    def _autocast(self) -> Any:
        torch = self._torch
        if self.device == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return torch.autocast("cpu", enabled=False)

    def _split(self) -> SplitTransform:
        self.load()
        assert self._input is not None
        return self._input

    def prepare(self, image: Image.Image) -> Any:
        return self._split().pixels(image)

    def collate(self, items: Sequence[Any]) -> Any:
        """Prepared images as one input batch on the model's device."""
        return self._split().batch(items, self.device)

    def encode_batch(self, batch: Any) -> FloatArray:
        """Unit vectors of a collated batch: the forward pass alone."""
        self.load()
        with self._torch.inference_mode(), self._autocast():
            features = self._model.encode_image(batch)
        return l2_normalize(features.float().cpu().numpy())

    def encode_prepared(self, items: Sequence[Any]) -> FloatArray:
        if not items:
            return np.zeros((0, self._info.dim), dtype=np.float32)
        return self.encode_batch(self.collate(items))

    def encode_images(self, images: Sequence[Image.Image]) -> FloatArray:
        return self.encode_prepared([self.prepare(image) for image in images])

    def encode_texts(self, texts: Sequence[str]) -> FloatArray:
        """Unit vectors of the texts; repeated texts (queries, label prompts) are cached."""
        if texts:
            self.load()
        return self._text_cache.encode(texts, self._encode_texts, self._info.dim)

    def _encode_texts(self, texts: Sequence[str]) -> FloatArray:
        """The text tower on these texts, no cache."""
        torch = self._torch
        self.text_batches += 1
        tokens = self._tokenizer(list(texts)).to(self.device)
        with torch.inference_mode(), self._autocast():
            features = text_tower.encode_text(self._model, tokens)
        return l2_normalize(features.float().cpu().numpy())


@contextlib.contextmanager
def _no_random_init(torch: Any) -> Iterator[None]:
    """Model creation without drawing random weights: open_clip loads a whole
    checkpoint strictly over them (every parameter, or an error), and drawing them takes
    a second of a ViT-B's start."""
    init = torch.nn.init
    names = [n for n in dir(init) if n.endswith("_") and not n.startswith("_")]
    saved = {name: getattr(init, name) for name in names}
    for name in names:
        setattr(init, name, _keep)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(init, name, function)


def _keep(tensor: Any, *args: Any, **kwargs: Any) -> Any:
    return tensor
