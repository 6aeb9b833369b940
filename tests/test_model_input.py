"""The model's preprocessing cut in two (pixels per image in workers, tensors per batch)
gives exactly the input of open_clip's whole transform."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from retrieval.model.demo import open_clip_module
from retrieval.model.factory import resolve_model
from retrieval.model.torch_clip import OpenClipEncoder
from retrieval.model.transform import split_transform


def images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    shapes = [(300, 480), (480, 300), (64, 64), (1, 900), (225, 224), (37, 53)]
    out = [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for h, w in shapes
    ]
    out.append(Image.fromarray(rng.integers(0, 256, (90, 120), dtype=np.uint8)))
    out.append(
        Image.fromarray(rng.integers(0, 256, (70, 80, 4), dtype=np.uint8), "RGBA")
    )
    return out


@pytest.mark.parametrize("name", ["demo", "ViT-B-32"])
def test_split_transform_is_bit_for_bit_the_whole_transform(name: str) -> None:
    open_clip = open_clip_module()
    _, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None)
    split = split_transform(preprocess)
    assert split.split
    pictures = images()
    whole = torch.stack([preprocess(image) for image in pictures])
    prepared = [split.pixels(image) for image in pictures]
    assert all(isinstance(p, np.ndarray) and p.dtype == np.uint8 for p in prepared)
    batched = split.batch(prepared, "cpu")
    assert batched.dtype == whole.dtype and batched.shape == whole.shape
    assert batched.is_contiguous()
    assert torch.equal(batched, whole)


def test_transforms_of_other_shapes_stay_whole_in_the_workers() -> None:
    from torchvision import transforms

    def plain(image: Image.Image) -> torch.Tensor:
        return torch.from_numpy(np.asarray(image, dtype=np.float32)).mean(dim=2)

    # Resizing after ToTensor: the PIL half alone would give images of different sizes.
    resize_after = transforms.Compose(
        [transforms.ToTensor(), transforms.Resize((5, 5), antialias=True)]
    )
    same_size = [Image.new("RGB", (4, 3), (i, 0, 0)) for i in range(3)]
    mixed_sizes = [Image.new("RGB", (4 + i, 3), (i, 0, 0)) for i in range(3)]
    for transform, pictures in ((plain, same_size), (resize_after, mixed_sizes)):
        split = split_transform(transform)
        assert not split.split
        batched = split.batch([split.pixels(p) for p in pictures], "cpu")
        assert torch.equal(batched, torch.stack([transform(p) for p in pictures]))


def test_encoder_embeds_what_the_model_embeds_from_the_whole_transform() -> None:
    encoder = OpenClipEncoder(resolve_model("demo", None), "cpu")
    pictures = images()
    ours = encoder.encode_images(pictures)
    open_clip = open_clip_module()
    model, _, preprocess = open_clip.create_model_and_transforms(
        "demo", pretrained=encoder._weights(), weights_only=True
    )
    with torch.inference_mode():
        theirs = model.eval().encode_image(
            torch.stack([preprocess(p) for p in pictures])
        )
    theirs = torch.nn.functional.normalize(theirs, dim=-1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
