"""The image tower's preprocessing without torch: Pillow and numpy doing what open_clip's
'shortest' transform does through torchvision (resize the short side, crop the centre,
RGB, scale to [0, 1], normalise). tests/test_onnx.py checks it pixel for pixel against
open_clip's own transform; models with another transform keep torch for images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from retrieval.records import FloatArray

UInt8Array = npt.NDArray[np.uint8]

# open_clip's interpolation names, as Pillow's filters (torchvision maps them the same).
_FILTERS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
}


@dataclass(frozen=True)
class ImageInput:
    """What the image tower expects: a square of `size` pixels, normalised per channel."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"

    @classmethod
    def from_open_clip(cls, config: dict[str, Any]) -> ImageInput | None:
        """From a model's `visual.preprocess_cfg`; None for a transform this module does
        not reproduce (then images go through torch)."""
        size = config.get("size")
        if isinstance(size, tuple | list):
            if len(size) != 2 or size[0] != size[1]:
                return None
            size = size[0]
        if (
            not isinstance(size, int)
            or config.get("resize_mode", "shortest") != "shortest"
            or config.get("mode", "RGB") != "RGB"
            or config.get("interpolation", "bicubic") not in _FILTERS
        ):
            return None
        mean, std = tuple(config["mean"]), tuple(config["std"])
        if len(mean) != 3 or len(std) != 3:
            return None
        return cls(size, mean, std, config.get("interpolation", "bicubic"))

    def pixels(self, image: Image.Image) -> UInt8Array:
        """The square the tower sees, uint8, channels first."""
        width, height = image.size
        short, long = min(width, height), max(width, height)
        # torchvision's rounding: the long side is truncated, not rounded.
        new_long = int(self.size * long / short)
        new_size = (self.size, new_long) if width <= height else (new_long, self.size)
        if new_size != (width, height):
            image = image.resize(new_size, _FILTERS[self.interpolation])
        left = round((new_size[0] - self.size) / 2.0)
        top = round((new_size[1] - self.size) / 2.0)
        image = image.crop((left, top, left + self.size, top + self.size))
        array = np.asarray(image.convert("RGB"), dtype=np.uint8)
        return np.ascontiguousarray(array.transpose(2, 0, 1))

    def batch(self, items: Sequence[UInt8Array]) -> FloatArray:
        """Prepared squares as the tower's float input, normalised as ToTensor and
        Normalize do (divide by 255, then subtract the mean and divide by the std)."""
        stacked = np.stack(list(items)).astype(np.float32)
        stacked /= 255
        mean = np.asarray(self.mean, dtype=np.float32).reshape(1, 3, 1, 1)
        std = np.asarray(self.std, dtype=np.float32).reshape(1, 3, 1, 1)
        stacked -= mean
        stacked /= std
        return stacked
