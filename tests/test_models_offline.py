"""Model selection: unknown names and tags, missing files, and no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.errors import (
    ModelError,
    ModelMismatchError,
    ModelUnavailableError,
    UsageError,
)
from retrieval.library import choose_model
from retrieval.model.factory import resolve_model
from retrieval.model.torch_clip import OpenClipEncoder
from retrieval.records import ModelInfo
from retrieval.settings import Settings


def test_unknown_model_suggests_close_names() -> None:
    with pytest.raises(ModelError, match="did you mean ViT-B-32"):
        resolve_model("ViT-B-31", None)


def test_unknown_tag_lists_the_available_ones() -> None:
    with pytest.raises(ModelError, match="laion2b_s34b_b79k"):
        resolve_model("ViT-B-32", "no-such-tag")


def test_missing_weights_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(
        UsageError, match="weights file .*missing.safetensors not found"
    ):
        resolve_model("ViT-B-32", str(tmp_path / "missing.safetensors"))


def test_download_without_network_fails_with_the_fix() -> None:
    info = resolve_model("ViT-B-32", None)
    assert info == ModelInfo("ViT-B-32", "laion2b_s34b_b79k", 512)
    encoder = OpenClipEncoder(info, "cpu")
    with pytest.raises(
        ModelUnavailableError, match="--pretrained /path/to/weights.*--model demo"
    ):
        encoder.load()


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    import torch
    from safetensors.torch import save_file

    save_file({"nothing": torch.zeros(2)}, str(bad))
    encoder = OpenClipEncoder(resolve_model("demo", str(bad)), "cpu")
    with pytest.raises(ModelError, match="cannot load weights"):
        encoder.load()


def test_cuda_when_absent_is_a_usage_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    encoder = OpenClipEncoder(resolve_model("demo", None), "cuda")
    with pytest.raises(UsageError, match="no CUDA GPU"):
        encoder.load()


def test_choose_model_prefers_the_library_and_refuses_a_mismatch(
    tmp_path: Path,
) -> None:
    demo = resolve_model("demo", None)
    settings = Settings(library=tmp_path)
    assert choose_model(settings, demo, reencode=False) == demo
    other = Settings(library=tmp_path, model="ViT-B-32")
    with pytest.raises(ModelMismatchError, match="--reencode"):
        choose_model(other, demo, reencode=False)
    assert choose_model(other, demo, reencode=True).name == "ViT-B-32"
