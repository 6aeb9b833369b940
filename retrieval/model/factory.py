"""Which model and what runs it: a model name and weights checked without loading them,
and the encoder a library gets for its settings (open_clip on torch, or the library's
ONNX towers first)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from retrieval.errors import ModelError, ModelUnavailableError, UsageError
from retrieval.model.demo import (
    DEMO_MODEL_NAME,
    DEMO_PRETRAINED,
    demo_weights_path,
    model_config,
    open_clip_module,
)
from retrieval.model.onnx.fallback import (
    OnnxFirstEncoder,
    export_for,
    onnx_runtime_available,
)
from retrieval.model.onnx.files import adopt_library_export, read_meta, towers_folder
from retrieval.model.protocol import Encoder
from retrieval.model.torch_clip import OpenClipEncoder
from retrieval.records import ModelInfo
from retrieval.settings import DEFAULT_MODEL, DEFAULT_PRETRAINED, Settings

_WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")


def _looks_like_file(value: str) -> bool:
    return (
        os.sep in value
        or value.startswith(".")
        or value.lower().endswith(_WEIGHT_SUFFIXES)
    )


def resolve_model(name: str, pretrained: str | None) -> ModelInfo:
    """Check a model name and weights without loading them; say what is wrong and how to fix it.

    `pretrained` is an open_clip tag or a local weights file; None picks the model's default.
    """
    quick = _resolved_from_config(name, pretrained)
    if quick is not None:
        return quick
    open_clip = open_clip_module()
    models = open_clip.list_models()
    if name not in models:
        close = difflib.get_close_matches(name, models, n=5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ModelError(
            f"unknown model {name!r}: {hint}choose one of open_clip's {len(models)} "
            "architectures (python -c 'import open_clip; print(open_clip.list_models())'), "
            f"or --model {DEMO_MODEL_NAME} for the offline demo"
        )
    dim = int(open_clip.get_model_config(name)["embed_dim"])
    if name == DEMO_MODEL_NAME and pretrained in (None, DEMO_PRETRAINED):
        weights = demo_weights_path()
        if not weights.is_file():
            raise ModelUnavailableError(
                f"the demo model's weights are missing at {weights}: retrain them with "
                "`python -m photosearch.demo.train`, or set PHOTOSEARCH_DEMO_WEIGHTS"
            )
        return ModelInfo(name, DEMO_PRETRAINED, dim)
    if pretrained is None:
        tags = open_clip.list_pretrained_tags_by_model(name)
        if name == DEFAULT_MODEL:
            pretrained = DEFAULT_PRETRAINED
        elif tags:
            pretrained = tags[0]
        else:
            raise ModelError(
                f"model {name!r} has no published weights: pass --pretrained /path/to/weights"
            )
    if Path(pretrained).expanduser().is_file():
        return ModelInfo(name, str(Path(pretrained).expanduser().resolve()), dim)
    if _looks_like_file(pretrained):
        raise UsageError(
            f"weights file {pretrained} not found: check the path given to --pretrained"
        )
    tags = open_clip.list_pretrained_tags_by_model(name)
    if pretrained not in tags:
        choices = (
            ", ".join(tags) if tags else "none; pass --pretrained /path/to/weights"
        )
        raise ModelError(
            f"unknown pretrained tag {pretrained!r} for {name}: available: {choices}"
        )
    return ModelInfo(name, pretrained, dim)


def choose_encoder(
    settings: Settings, info: ModelInfo, library_root: Path, *, cold: bool
) -> Encoder:
    """The encoder for a library opened with `settings`; `cold`: a one-shot query."""
    engine = settings.engine
    if engine == "torch" or settings.device in ("cuda", "mps"):
        return OpenClipEncoder(info, settings.device)
    if cold:
        return OnnxFirstEncoder(
            info,
            settings.device,
            library_root,
            one_shot=True,
            background=settings.export == "background",
        )
    if engine == "auto":
        return OpenClipEncoder(info, settings.device)
    if not onnx_runtime_available():
        raise UsageError(
            f"--engine {engine} needs onnxruntime: pip install onnxruntime, or use "
            "--engine torch"
        )
    int8 = engine == "onnx-int8"
    folder = towers_folder(info)
    adopt_library_export(library_root, info)
    meta = read_meta(folder)
    if meta is None:
        export_for(OpenClipEncoder(info, "cpu"))
        meta = read_meta(folder)
    if int8 and meta is not None and meta.image is not None:
        from retrieval.model.onnx.export import quantize_images

        quantize_images(folder)
    return OnnxFirstEncoder(
        info, settings.device, library_root, one_shot=False, int8_images=int8
    )


def _resolved_from_config(name: str, pretrained: str | None) -> ModelInfo | None:
    """The common cases, from the architecture's config file alone: a weights file, the
    demo's, the default model's default weights. Importing open_clip (and torch) to
    check them costs a command seconds, which indexing spends loading the model
    meanwhile instead. None: ask open_clip."""
    config = model_config(name)
    if config is None or not isinstance(config.get("embed_dim"), int):
        return None
    dim = int(config["embed_dim"])
    if name == DEMO_MODEL_NAME:
        if pretrained in (None, DEMO_PRETRAINED) and demo_weights_path().is_file():
            return ModelInfo(name, DEMO_PRETRAINED, dim)
        return None
    if pretrained is None and name == DEFAULT_MODEL:
        return ModelInfo(name, DEFAULT_PRETRAINED, dim)
    if pretrained == DEFAULT_PRETRAINED and name == DEFAULT_MODEL:
        return ModelInfo(name, pretrained, dim)
    if pretrained is not None and Path(pretrained).expanduser().is_file():
        return ModelInfo(name, str(Path(pretrained).expanduser().resolve()), dim)
    return None
