"""The default face model: dlib's HOG face detector, its 5-point landmarks for alignment
and its ResNet descriptor (128-d, 99.38% on LFW), with the trained files the
face_recognition_models package ships: offline, from what `pip install` brings.

Detection runs on a copy whose long side is `side` (Settings.face_side), whatever the photo's size: a
small photo is enlarged so that its faces reach the detector's 80-pixel window, a large
one reduced so that detection costs the same on every photo (data/faces/EVAL.md measures
the sizes found and the cost). Landmarks and vectors are computed on the picture itself,
at its own resolution. dlib's CNN detector finds smaller and turned faces, but takes 6 to
9 s a photo on a CPU against 0.06 s: it is not the default.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import FacesUnavailableError
from retrieval.faces.model import FACE_MODEL, Box, Detection

if TYPE_CHECKING:
    from PIL import Image

    from retrieval.records import FloatArray

# dlib's own HOG scores start near 0 for doubtful faces; below this, landscapes' shapes
# pass for faces now and then (data/faces/EVAL.md).
SCORE_MIN = 0.0
INSTALL_HINT = (
    "faces need dlib and its models: pip install dlib-bin face_recognition_models "
    "(or reinstall photosearch), or turn faces off with PHOTOSEARCH_FACES=0"
)


def check_installed() -> None:
    """FacesUnavailableError unless dlib and its models are installed (without loading
    either)."""
    if importlib.util.find_spec("dlib") is None:
        raise FacesUnavailableError(INSTALL_HINT)
    _models_folder()


def _models_folder() -> Path:
    # Found without importing the package: its __init__ imports pkg_resources, which
    # recent setuptools no longer has.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FacesUnavailableError(INSTALL_HINT)
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class DlibFaces:
    name = FACE_MODEL
    dim = 128

    def __init__(self, side: int = 1024) -> None:
        self.side = side
        try:
            import dlib
        except ImportError:
            raise FacesUnavailableError(INSTALL_HINT) from None
        folder = _models_folder()
        try:
            self._detector: Any = dlib.get_frontal_face_detector()
            self._landmarks: Any = dlib.shape_predictor(
                str(folder / "shape_predictor_5_face_landmarks.dat")
            )
            self._descriptor: Any = dlib.face_recognition_model_v1(
                str(folder / "dlib_face_recognition_resnet_model_v1.dat")
            )
        except RuntimeError as exc:
            raise FacesUnavailableError(f"{INSTALL_HINT} ({exc})") from None
        self._dlib = dlib
        # dlib's objects keep scratch state: one call at a time.
        self._lock = threading.Lock()

    def detect(self, picture: Image.Image) -> list[Detection]:
        from PIL import Image

        width, height = picture.size
        scale = self.side / max(width, height)
        small = picture.resize(
            (max(1, round(width * scale)), max(1, round(height * scale))),
            Image.Resampling.BILINEAR,
            # Box-reduced first by a whole factor: a quarter faster, the same faces.
            reducing_gap=2.0,
        )
        pixels = np.asarray(small.convert("RGB"))
        with self._lock:
            rects, scores, _ = self._detector.run(pixels, 0, SCORE_MIN)
        if not len(rects):
            return []
        sw, sh = small.size
        full = np.asarray(picture.convert("RGB"))
        found = []
        for rect, score in zip(rects, scores, strict=True):
            box = Box(
                rect.left() / sw, rect.top() / sh, rect.right() / sw, rect.bottom() / sh
            ).clipped()
            if box.right <= box.left or box.bottom <= box.top:
                continue
            found.append(Detection(box, float(score), self._align(full, box)))
        return found

    def _align(self, pixels: np.ndarray, box: Box) -> tuple[tuple[float, float], ...]:
        height, width = pixels.shape[:2]
        shape = self._shape(pixels, (width, height), box)
        return tuple(
            (shape.part(i).x / width, shape.part(i).y / height)
            for i in range(shape.num_parts)
        )

    def _aligned(
        self, pixels: np.ndarray, size: tuple[int, int], detection: Detection
    ) -> Any:
        """The detection's landmarks as dlib's shape: those `detect` found (exact: they
        are whole pixels as fractions), else found now."""
        if not detection.landmarks:
            return self._shape(pixels, size, detection.box)
        width, height = size
        points = self._dlib.points(
            [
                self._dlib.point(round(x * width), round(y * height))
                for x, y in detection.landmarks
            ]
        )
        rect = self._dlib.rectangle(*detection.box.pixels(width, height))
        return self._dlib.full_object_detection(rect, points)

    def _shape(self, pixels: np.ndarray, size: tuple[int, int], box: Box) -> Any:
        rect = self._dlib.rectangle(*box.pixels(*size))
        with self._lock:
            return self._landmarks(pixels, rect)

    def embed(
        self, picture: Image.Image, detections: Sequence[Detection]
    ) -> FloatArray:
        pixels = np.asarray(picture.convert("RGB"))
        vectors = np.zeros((len(detections), self.dim), dtype=np.float32)
        for n, detection in enumerate(detections):
            shape = self._aligned(pixels, picture.size, detection)
            with self._lock:
                vectors[n] = np.asarray(
                    self._descriptor.compute_face_descriptor(pixels, shape)
                )
        return vectors
