"""A model's preprocessing cut in two: pixel work per image, tensor work per batch.

open_clip's transform is PIL steps (resize, crop, RGB) followed by tensor steps (to float,
normalise). Decode workers run the PIL half and hand over uint8 arrays without touching
torch: torch called from a worker thread starts its own team of intra-op threads, and on a
small CPU those extra teams fight the model's threads for the same cores. The tensor half
then runs once per batch, on the device the model is on, so a GPU receives uint8 (a quarter
of the bytes) and normalises it itself. Both halves together give bit-for-bit the same
input as the whole transform (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

UInt8Array = npt.NDArray[np.uint8]

# The step that turns a PIL image into a float tensor; torchvision and open_clip name it so.
_TO_TENSOR = {"ToTensor", "MaybeToTensor"}


@dataclass(frozen=True)
class SplitTransform:
    """`pixels` runs per image in any thread (uint8 out, channels first); `batch` stacks
    its results into the model's input on `device`. `split` is False for a transform of
    another shape, whose whole work then stays in `pixels` (tensors out) and `batch` only
    stacks."""

    pixels: Callable[[Any], Any]
    batch: Callable[[Sequence[Any], str], Any]
    split: bool


def split_transform(transform: Any) -> SplitTransform:
    import torch

    steps = list(getattr(transform, "transforms", []))
    cut = next(
        (i for i, step in enumerate(steps) if type(step).__name__ in _TO_TENSOR), None
    )
    # Only normalising may follow: a resize after ToTensor would leave the PIL half with
    # images of different sizes, which cannot be stacked.
    if cut is None or any(type(s).__name__ != "Normalize" for s in steps[cut + 1 :]):

        def stack(items: Sequence[Any], device: str) -> Any:
            return _on_device(torch.stack(list(items)), device)

        return SplitTransform(transform, stack, split=False)

    before = steps[:cut]
    # The batch is a fresh tensor of ours: normalising it in place saves a copy of it.
    after = [type(s)(s.mean, s.std, inplace=True) for s in steps[cut + 1 :]]

    def pixels(image: Any) -> UInt8Array:
        for step in before:
            image = step(image)
        array = np.asarray(image, dtype=np.uint8)
        if array.ndim == 2:
            array = array[:, :, None]
        # Channels first here, in the worker, rather than in the batch on the model's
        # thread: the same bytes ToTensor would lay out.
        return np.ascontiguousarray(array.transpose(2, 0, 1))

    def batch(items: Sequence[UInt8Array], device: str) -> Any:
        # The operations of ToTensor, in its order (float, then / 255), on all at once.
        stacked = _on_device(torch.from_numpy(np.stack(list(items))), device)
        tensor = stacked.to(torch.get_default_dtype())
        tensor = tensor.div_(255)
        for step in after:
            tensor = step(tensor)
        return tensor

    return SplitTransform(pixels, batch, split=True)


def _on_device(batch: Any, device: str) -> Any:
    """A CPU batch moved to `device`; to a GPU from pinned memory, without waiting."""
    if device == "cuda":
        batch = batch.pin_memory()
    return batch.to(device, non_blocking=True)
