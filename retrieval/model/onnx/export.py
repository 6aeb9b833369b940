"""Exporting a loaded open_clip model's towers to ONNX files (see retrieval.model.onnx.files).

Runs where torch is loaded anyway (the end of `photosearch index`, or a query that had to
use torch); the query path then runs the files with ONNX Runtime and never imports torch.
A tower that cannot be exported (an architecture the exporter does not handle, a
tokenizer other than CLIP's) is recorded as such, and torch keeps serving it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import first_line
from retrieval.model import text_tower
from retrieval.model.onnx.files import (
    IMAGE_FILE,
    IMAGE_INT8_FILE,
    META_NAME,
    OPSET,
    PROBE_TEXTS,
    TEXT_FILE,
    TOWER_PENDING,
    TextInput,
    TowersMeta,
    discard,
    probe_image,
    read_meta,
    towers_folder,
)
from retrieval.model.preprocess import ImageInput
from retrieval.model.tokenizer import default_tokenizer
from retrieval.vectors import l2_normalize

if TYPE_CHECKING:
    from retrieval.model.torch_clip import OpenClipEncoder

log = logging.getLogger(__name__)

# Weights go to a `.data` file at offsets of this multiple, so that ONNX Runtime maps
# them (it maps only page-aligned data): a cold query then loads the text tower in tens of
# milliseconds and touches only the token embeddings it uses.
_ALIGN = 64 * 1024
_EXTERNAL_MIN_BYTES = 1024
_SECOND_EXAMPLE = "Ünïcødé, emoji 🙂 & <b>markup</b>: 東京の夜景"


def export_towers(
    encoder: OpenClipEncoder,
    towers: Collection[str] = ("text", "image"),
    *,
    quick: bool = False,
) -> TowersMeta:
    """Write the `towers` of the encoder's model into the cache, replacing any earlier
    export of it; a tower left out is recorded as pending (the next full export makes
    it). `quick`: traced by TorchScript, in a quarter of the time, the text tower taking
    every text at its full context length (its queries a little slower): what indexing
    makes once the photos are searchable, and a full export replaces later. Returns
    what was recorded."""
    info = encoder.info
    final = towers_folder(info)
    key, parent = final.name, final.parent
    parent.mkdir(parents=True, exist_ok=True)
    model, tokenizer = _cpu_copy(encoder.model), encoder.tokenizer
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=parent))
    try:
        text, text_problem, probe_texts = (
            _export_text(model, tokenizer, work, quick=quick)
            if "text" in towers
            else (None, TOWER_PENDING, [])
        )
        image, image_problem, probe = (
            _export_image(model, work)
            if "image" in towers
            else (None, TOWER_PENDING, [])
        )
        meta = TowersMeta(
            key=key,
            model=info.name,
            pretrained=info.pretrained,
            dim=info.dim,
            logit_scale=encoder.logit_scale,
            logit_bias=encoder.logit_bias,
            text=text,
            image=image,
            text_problem=text_problem,
            image_problem=image_problem,
            probe_texts=probe_texts,
            probe_image=probe,
        )
        (work / META_NAME).write_text(meta.to_json(), encoding="utf-8")
        discard(final)
        os.replace(work, final)
    except BaseException:
        discard(work)
        raise
    for other in parent.iterdir():
        # Exports of earlier weights of this model (a local weights file changed): the
        # cache is shared, so only they go, not other models' that other libraries use.
        earlier = read_meta(other) if other.is_dir() and other.name != key else None
        if earlier and (earlier.model, earlier.pretrained) == (
            info.name,
            info.pretrained,
        ):
            discard(other)
    return meta


def _cpu_copy(model: Any) -> Any:
    """The model as fp32 on the CPU, where the export traces it."""
    import torch

    first = next(model.parameters())
    if first.device.type == "cpu" and first.dtype == torch.float32:
        return model
    return copy.deepcopy(model).float().cpu().eval()


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {first_line(exc)}"


def _plain_clip_tokenizer(tokenizer: Any) -> bool:
    """open_clip's own BPE tokenizer with default cleaning, which retrieval.model.tokenizer
    reproduces; models with a Hugging Face or SigLIP tokenizer keep torch for texts."""
    clean = getattr(tokenizer, "clean_fn", None)
    return (
        type(tokenizer).__name__ == "SimpleTokenizer"
        and getattr(clean, "__name__", "") == "_clean_lower"
        and getattr(tokenizer, "reduction_fn", None) is None
        and getattr(tokenizer, "all_special_ids", None) == [49406, 49407]
    )


def _module(model: Any, forward: Any) -> Any:
    """A module holding `model` whose forward is `forward` (what the exporter traces)."""
    import torch

    class Tower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, inputs: Any) -> Any:
            return forward(inputs)

    return Tower()


def _export_text(
    model: Any, tokenizer: Any, work: Path, *, quick: bool = False
) -> tuple[TextInput | None, str | None, list[list[float]]]:
    import torch

    if not _plain_clip_tokenizer(tokenizer):
        return None, "its tokenizer is not CLIP's BPE tokenizer", []
    context = int(tokenizer.context_length)
    # Traced on two texts (an example batch of one would be taken for a fixed size).
    examples = [*PROBE_TEXTS, _SECOND_EXAMPLE]
    ours = default_tokenizer()(examples, context)
    if not np.array_equal(ours, tokenizer(examples).numpy()):
        return None, "its tokenizer gives other tokens than CLIP's", []
    # TorchScript's tracer fixes the text length inside attention: a quick export
    # takes every text at full length.
    trimmed = text_tower.can_trim(model) and not quick
    tokens = torch.from_numpy(ours)
    if trimmed:
        tokens = tokens[:, : int(tokens.argmax(dim=-1).max()) + 1]
    axes = {0: ("batch", 1, 1 << 16)}
    if trimmed:  # the shortest text is the start and end tokens
        axes[1] = ("length", 2, context)
    try:
        forward = (
            (lambda t: text_tower.trimmed_forward(model, t))
            if trimmed
            else model.encode_text
        )
        _export(_module(model, forward), tokens, axes, work / TEXT_FILE, quick=quick)
    except Exception as exc:  # noqa: BLE001  # any exporter failure means "keep torch"
        return None, f"the text tower cannot be exported ({_reason(exc)})", []
    with torch.no_grad():
        probe_tokens = tokens[: len(PROBE_TEXTS)]
        probes = l2_normalize(
            text_tower.encode_text(model, probe_tokens).float().numpy()
        )
    return TextInput(context, trimmed), None, probes.tolist()


def _export_image(
    model: Any, work: Path
) -> tuple[ImageInput | None, str | None, list[float]]:
    import torch

    image_input = ImageInput.from_open_clip(
        dict(getattr(model.visual, "preprocess_cfg", {}) or {})
    )
    if image_input is None:
        return None, "its image transform is not the usual resize and centre crop", []
    # Two images: an example batch of one would be taken for a fixed size.
    pixels = torch.from_numpy(image_input.batch([probe_image(image_input.size)] * 2))

    try:
        _export(
            _module(model, model.encode_image),
            pixels,
            {0: ("batch", 1, 1 << 16)},
            work / IMAGE_FILE,
        )
    except Exception as exc:  # noqa: BLE001  # any exporter failure means "keep torch"
        return None, f"the image tower cannot be exported ({_reason(exc)})", []
    with torch.no_grad():
        probe = l2_normalize(model.encode_image(pixels[:1]).float().numpy())[0]
    return image_input, None, probe.tolist()


def _export(
    module: Any,
    example: Any,
    axes: dict[int, tuple[str, int, int]],
    path: Path,
    *,
    quick: bool = False,
) -> None:
    """Export `module` traced on `example`; `axes` maps an input dimension to a name and
    the range it may take at run time. `quick`: by the TorchScript tracer (seconds, not
    tens of them), whose shapes other than the batch's stay those of the example."""
    import torch

    raw = path.with_suffix(".raw")
    raw.mkdir()
    try:
        # torch.export, whose shapes stay symbolic: the older TorchScript tracer fixes
        # the text length of its example inside attention. Their progress lines and
        # warnings are noise to a user who asked for a search.
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            _quiet_loggers(),
        ):
            warnings.simplefilter("ignore")
            if quick:
                torch.onnx.export(
                    module.eval(),
                    (example,),
                    str(raw / path.name),
                    dynamo=False,
                    input_names=["inputs"],
                    output_names=["features"],
                    dynamic_axes={"inputs": {0: "batch"}},
                    opset_version=OPSET,
                )
            else:
                dims = {
                    axis: torch.export.Dim(name, min=low, max=high)
                    for axis, (name, low, high) in axes.items()
                }
                torch.onnx.export(
                    module.eval(),
                    (example,),
                    str(raw / path.name),
                    dynamo=True,
                    external_data=True,
                    input_names=["inputs"],
                    output_names=["features"],
                    dynamic_shapes={"inputs": dims},
                    opset_version=OPSET,
                    verbose=False,
                )
        _save_with_external_weights(raw / path.name, path)
    finally:
        shutil.rmtree(raw, ignore_errors=True)


@contextlib.contextmanager
def _quiet_loggers() -> Any:
    names = ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _save_with_external_weights(exported: Path, path: Path) -> None:
    import onnx

    # Loads weights the exporter put beside a graph over protobuf's 2 GB too.
    proto = onnx.load(str(exported))
    data_name = path.name + ".data"
    with open(path.with_name(data_name), "wb") as data:
        for tensor in proto.graph.initializer:
            if (
                not tensor.HasField("raw_data")
                or len(tensor.raw_data) < _EXTERNAL_MIN_BYTES
            ):
                continue
            offset = data.tell()
            padding = -offset % _ALIGN
            data.write(b"\0" * padding)
            offset += padding
            data.write(tensor.raw_data)
            tensor.ClearField("raw_data")
            tensor.data_location = onnx.TensorProto.EXTERNAL
            for name, value in (
                ("location", data_name),
                ("offset", str(offset)),
                ("length", str(data.tell() - offset)),
            ):
                entry = tensor.external_data.add()
                entry.key, entry.value = name, value
        data.flush()
        os.fsync(data.fileno())
    with open(path, "wb") as out:
        out.write(proto.SerializeToString())
        out.flush()
        os.fsync(out.fileno())


def quantize_images(folder: Path) -> Path:
    """The image tower of an export with its weights quantised to int8 (dynamic
    quantisation: weights int8, activations quantised on the fly), beside the float one."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = folder / IMAGE_INT8_FILE
    if not target.exists():
        work = folder / f".{IMAGE_INT8_FILE}.{os.getpid()}.tmp"
        try:
            with _quiet_loggers():
                quantize_dynamic(
                    str(folder / IMAGE_FILE), str(work), weight_type=QuantType.QInt8
                )
            os.replace(work, target)
        finally:
            work.unlink(missing_ok=True)
    return target
