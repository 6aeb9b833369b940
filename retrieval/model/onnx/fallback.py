"""Choosing what runs the model (the `engine` setting), and the encoder that prefers the
library's ONNX towers: ONNX Runtime where they are exported and sound, so that no torch
is imported; torch for a tower that has no sound export (then the towers are exported
again for the next process).

A process that only answers queries (`photosearch search` and friends without a daemon)
always prefers ONNX unless the engine is torch; indexing does with `--engine onnx` or
`onnx-int8`, which export the towers first if needed. A query that torch had to serve
leaves the export to a background process (retrieval.model.onnx.job) unless the
`export` setting says to wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from retrieval.model.onnx.files import (
    TOWER_PENDING,
    adopt_library_export,
    discard,
    read_meta,
    towers_folder,
    whole,
)
from retrieval.model.onnx.job import (
    export_lock,
    record_failure,
    start_background_export,
)
from retrieval.model.onnx.runtime import OnnxEncoder, OnnxUnusable
from retrieval.model.torch_clip import OpenClipEncoder
from retrieval.records import FloatArray, ModelInfo

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

T = TypeVar("T")


def onnx_runtime_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


class OnnxFirstEncoder:
    def __init__(
        self,
        info: ModelInfo,
        device: str,
        library_root: Path,
        *,
        one_shot: bool,
        int8_images: bool = False,
        background: bool = True,
    ) -> None:
        """`background`: a missing export is made by a process of its own (else by
        this one, as it closes)."""
        self._info = info
        self._device = device
        self._background = background
        self._folder = towers_folder(info)
        self._torch: OpenClipEncoder | None = None
        self._onnx: OnnxEncoder | None = None
        self._said: set[str] = set()
        runtime = onnx_runtime_available()
        meta = read_meta(self._folder) if runtime else None
        if runtime and meta is None:
            adopt_library_export(library_root, info)
            meta = read_meta(self._folder)
        if meta is not None:
            self._onnx = OnnxEncoder(
                self._folder, meta, info, one_shot=one_shot, int8_images=int8_images
            )
        # Export once torch has been loaded anyway: no export yet, one found unsound, or
        # one whose image tower is still to come.
        self.export_wanted = runtime and not whole(meta)
        if not runtime:
            self._say("onnxruntime is not installed: queries load torch")

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def engine(self) -> str:
        """What serves texts now: 'onnx' or 'torch' (for tests and --verbose)."""
        return "onnx" if self._onnx is not None and self._onnx.has_text else "torch"

    def _say(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            log.info("%s", message)

    def torch_encoder(self) -> OpenClipEncoder:
        if self._torch is None:
            self._torch = OpenClipEncoder(self._info, self._device)
        return self._torch

    def _serve(
        self,
        tower: str,
        onnx_call: Callable[[OnnxEncoder], T],
        torch_call: Callable[[OpenClipEncoder], T],
    ) -> T:
        """`onnx_call` if the `tower` ("text" or "image") has a sound export, else (or
        once it proves unsound) `torch_call`."""
        onnx = self._onnx
        exported = onnx is not None and (
            onnx.has_text if tower == "text" else onnx.has_image
        )
        if onnx is not None and exported:
            try:
                return onnx_call(onnx)
            except OnnxUnusable as exc:
                self._say(
                    f"ONNX towers in {self._folder} are unusable ({exc}): "
                    "using torch, and exporting them again"
                )
                self._onnx = None
                discard(self._folder)
                self.export_wanted = True
        elif onnx is not None:
            problem = (
                onnx.meta.text_problem if tower == "text" else onnx.meta.image_problem
            )
            self._say(f"{problem}: this model's {tower} tower runs on torch")
        return torch_call(self.torch_encoder())

    @property
    def image_size(self) -> int:
        return self._serve(
            "image",
            lambda o: o.image_size,
            lambda t: t.image_size,
        )

    @property
    def logit_scale(self) -> float:
        if self._onnx is not None:
            return self._onnx.logit_scale
        return self.torch_encoder().logit_scale

    @property
    def logit_bias(self) -> float | None:
        if self._onnx is not None:
            return self._onnx.logit_bias
        return self.torch_encoder().logit_bias

    def load(self) -> None:
        if self._onnx is None:
            self.torch_encoder().load()

    def prepare(self, image: Image.Image) -> Any:
        # Both engines prepare the same uint8 pixels (tests/test_onnx.py), so a batch
        # prepared for one can be encoded by the other after a fallback.
        return self._serve(
            "image",
            lambda o: o.prepare(image),
            lambda t: t.prepare(image),
        )

    def encode_prepared(self, items: Sequence[Any]) -> FloatArray:
        return self._serve(
            "image",
            lambda o: o.encode_prepared(items),
            lambda t: t.encode_prepared(items),
        )

    def encode_images(self, images: Sequence[Image.Image]) -> FloatArray:
        return self._serve(
            "image",
            lambda o: o.encode_images(images),
            lambda t: t.encode_images(images),
        )

    def encode_texts(self, texts: Sequence[str]) -> FloatArray:
        return self._serve(
            "text",
            lambda o: o.encode_texts(texts),
            lambda t: t.encode_texts(texts),
        )

    def close(self) -> None:
        """Have the towers exported if this query had to load torch and none are sound
        yet."""
        if self.export_wanted and self._torch is not None and self._torch.loaded:
            if self._background:
                start_background_export(self._info)
            else:
                export_for(self._torch)


def export_for(encoder: OpenClipEncoder, *, quick: bool = False) -> None:
    """Export the model's towers into the cache unless they are, or another process is
    at it; `quick`: the text tower alone, by the quick tracer, where none is exported
    yet (a full export replaces it later). A cache that cannot be written to just
    leaves queries on torch."""
    from retrieval.model.onnx.export import export_towers

    folder = towers_folder(encoder.info)
    try:
        with export_lock(folder) as mine:
            if not mine:
                log.info("another process is exporting %s to ONNX", encoder.info.name)
                return
            meta = read_meta(folder)
            if whole(meta) or (quick and meta is not None):
                return  # the one that held the lock before did it
            # Seconds (tens for a large model), once per model: worth a word, since
            # the command seems to hang otherwise.
            log.warning(
                "exporting %s to ONNX so that queries start without torch (once)...",
                encoder.info.name,
            )
            meta = export_towers(
                encoder, ("text",) if quick else ("text", "image"), quick=quick
            )
    except OSError as exc:
        log.warning("could not save the ONNX towers under %s: %s", folder.parent, exc)
        record_failure(folder, exc)
        return
    for problem in (meta.text_problem, meta.image_problem):
        if problem and problem != TOWER_PENDING:
            log.info("%s: that tower stays on torch", problem)


def ensure_exported(
    encoder: Any, library_root: Path, *, background: bool, quick: bool = False
) -> None:
    """During and after indexing: have the towers of the library's model exported if
    they are not yet: by a process of its own (`background`), or now, by this one,
    whose model is loaded (the export alone then: seconds, once per model; `quick`: the
    text tower alone, where none is exported yet)."""
    inner = getattr(encoder, "inner", encoder)
    if not isinstance(inner, OpenClipEncoder) or not onnx_runtime_available():
        return
    adopt_library_export(library_root, inner.info)
    meta = read_meta(towers_folder(inner.info))
    if whole(meta) or (quick and meta is not None):
        return
    if background:
        start_background_export(inner.info)
    elif inner.loaded:
        export_for(inner, quick=quick)
