"""The model's towers run by ONNX Runtime from the files retrieval.model.onnx.export wrote: the
query path's encoder, which imports neither torch nor open_clip.

Nothing in the files is taken on trust: a file that does not load, or whose probe vectors
differ from those torch computed at export, raises `OnnxUnusable`, and the caller falls
back to torch (retrieval.model.onnx.fallback).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import first_line
from retrieval.model.onnx.files import (
    IMAGE_FILE,
    IMAGE_INT8_FILE,
    INT8_MIN_COSINE,
    PROBE_MIN_COSINE,
    PROBE_TEXTS,
    TEXT_FILE,
    TowersMeta,
    probe_image,
)
from retrieval.model.preprocess import ImageInput, UInt8Array
from retrieval.model.text_cache import TextCache
from retrieval.model.tokenizer import default_tokenizer
from retrieval.records import FloatArray, ModelInfo
from retrieval.vectors import l2_normalize

if TYPE_CHECKING:
    from PIL import Image


class OnnxUnusable(Exception):
    """The exported files cannot be used (missing, damaged, or not the model's)."""


class OnnxEncoder:
    """The `Encoder` interface over ONNX files. `one_shot`: a process that answers one
    query: each session is opened for the call and dropped after it, so a cold query never
    holds a tower's weights while the index is searched (peak memory is the larger of the
    two, not their sum), and load time is cut (no prepacking, no graph rewriting)."""

    def __init__(
        self,
        folder: Path,
        meta: TowersMeta,
        info: ModelInfo,
        *,
        one_shot: bool,
        int8_images: bool = False,
    ) -> None:
        self.folder = folder
        # The image tower with int8 weights (retrieval.model.onnx.export.quantize_images):
        # about twice as fast on a CPU, its vectors a little off torch's, so its probe
        # is held to a looser bound (still far above what damage gives).
        self._image_file = IMAGE_INT8_FILE if int8_images else IMAGE_FILE
        self._image_min_cosine = INT8_MIN_COSINE if int8_images else PROBE_MIN_COSINE
        self.meta = meta
        self._info = info
        self._one_shot = one_shot
        self._sessions: dict[str, Any] = {}
        self._verified: set[str] = set()
        self._lock = threading.Lock()
        self._text_cache = TextCache()

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def has_text(self) -> bool:
        return self.meta.text is not None

    @property
    def has_image(self) -> bool:
        return self.meta.image is not None

    @property
    def image_size(self) -> int:
        return self._image_input().size

    @property
    def logit_scale(self) -> float:
        return self.meta.logit_scale

    @property
    def logit_bias(self) -> float | None:
        return self.meta.logit_bias

    def load(self) -> None:
        if self.has_text:
            self._session(TEXT_FILE)
        if self.has_image:
            self._session(self._image_file)

    def _image_input(self) -> ImageInput:
        if self.meta.image is None:
            raise OnnxUnusable(self.meta.image_problem or "no image tower")
        return self.meta.image

    def _session(self, name: str) -> Any:
        with self._lock:
            session = self._sessions.get(name)
            if session is not None:
                return session
            import onnxruntime as ort

            options = ort.SessionOptions()
            # Fatal only: a file that fails is reported (and replaced) by the caller.
            options.log_severity_level = 4
            if self._one_shot:
                # One call: rewriting the graph and repacking weights cost more than
                # they save, and prepacking would copy the mapped weights.
                options.graph_optimization_level = (
                    ort.GraphOptimizationLevel.ORT_DISABLE_ALL
                )
                options.add_session_config_entry("session.disable_prepacking", "1")
            try:
                session = ort.InferenceSession(
                    str(self.folder / name), options, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:  # noqa: BLE001  # ORT raises many kinds for bad files
                raise OnnxUnusable(f"{name} does not load: {first_line(exc)}") from None
            if not self._one_shot:
                self._sessions[name] = session
            return session

    def _run(self, name: str, inputs: np.ndarray) -> FloatArray:
        session = self._session(name)
        try:
            (features,) = session.run(None, {session.get_inputs()[0].name: inputs})
        except Exception as exc:  # noqa: BLE001
            raise OnnxUnusable(f"{name} fails to run: {first_line(exc)}") from None
        # Damaged weights give huge or NaN features; the probe check catches them,
        # numpy need not warn the user about them first.
        with np.errstate(all="ignore"):
            return l2_normalize(np.asarray(features, dtype=np.float32))

    def _check(
        self,
        name: str,
        got: FloatArray,
        expected: list[Any],
        least: float = PROBE_MIN_COSINE,
    ) -> None:
        """The probes' vectors against torch's; once per file and process."""
        want = np.asarray(expected, dtype=np.float32).reshape(got.shape)
        cosines = (got * want).sum(axis=1)
        # Written so that NaN (damaged weights often give it) fails too.
        if not (len(cosines) and float(cosines.min()) >= least):
            raise OnnxUnusable(
                f"{name} gives other vectors than the model it was exported from"
            )
        self._verified.add(name)

    # -- images

    def prepare(self, image: Image.Image) -> UInt8Array:
        return self._image_input().pixels(image)

    def encode_prepared(self, items: Sequence[Any]) -> FloatArray:
        if not items:
            return np.zeros((0, self._info.dim), dtype=np.float32)
        image_input = self._image_input()
        name = self._image_file
        probing = name not in self._verified
        batch = list(items) + ([probe_image(image_input.size)] if probing else [])
        vectors = self._run(name, image_input.batch(batch))
        if probing:
            self._check(
                name, vectors[-1:], self.meta.probe_image, self._image_min_cosine
            )
            vectors = vectors[:-1]
        return vectors

    def encode_images(self, images: Sequence[Image.Image]) -> FloatArray:
        return self.encode_prepared([self.prepare(image) for image in images])

    # -- texts

    def encode_texts(self, texts: Sequence[str]) -> FloatArray:
        return self._text_cache.encode(texts, self._encode_texts, self._info.dim)

    def _encode_texts(self, texts: list[str]) -> FloatArray:
        spec = self.meta.text
        if spec is None:
            raise OnnxUnusable(self.meta.text_problem or "no text tower")
        probing = TEXT_FILE not in self._verified
        batch = texts + (list(PROBE_TEXTS) if probing else [])
        tokens = default_tokenizer()(batch, spec.context_length)
        if spec.trimmed:
            # The tower is causal and pools at the end token (the highest id): positions
            # after the longest text's end cannot change any result.
            tokens = tokens[:, : int(tokens.argmax(axis=1).max()) + 1]
        vectors = self._run(TEXT_FILE, np.ascontiguousarray(tokens))
        if probing:
            self._check(TEXT_FILE, vectors[len(texts) :], self.meta.probe_texts)
            vectors = vectors[: len(texts)]
        return vectors
