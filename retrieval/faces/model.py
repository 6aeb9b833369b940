"""A face as the library keeps it, and the interface a face model offers: detect, align,
embed. The default model is dlib's (retrieval.faces.dlib_model); another family goes
behind the same interface, and every face records which model made its vector, so that a
change of model finds and embeds faces again without touching CLIP."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

    from retrieval.records import FloatArray

# The faces analyzer's name in the store (its analyses rows).
FACES_ANALYZER = "faces"
# The default model's name, as faces record it.
FACE_MODEL = "dlib-resnet-v1"

# A face smaller than this (its height in pixels of the photo it was found in) or less
# sharp than SHARPNESS_MIN is still a face ("photos with people"), but too little to
# tell who it is: it never seeds or joins a person by itself. Chosen by measurement
# (data/faces/EVAL.md).
SIZE_MIN = 32
SHARPNESS_MIN = 40.0


@dataclass(frozen=True)
class Box:
    """Fractions of the upright photo's width and height: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float

    def clipped(self) -> Box:
        return Box(
            max(0.0, self.left),
            max(0.0, self.top),
            min(1.0, self.right),
            min(1.0, self.bottom),
        )

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        return (
            round(self.left * width),
            round(self.top * height),
            round(self.right * width),
            round(self.bottom * height),
        )


@dataclass(frozen=True)
class Detection:
    """A face found, before its vector: where, how sure, and its landmarks (fractions
    of the photo, as the box)."""

    box: Box
    score: float
    landmarks: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Face:
    """A face of a photo or of a video's moment, with its vector."""

    box: Box
    score: float
    landmarks: tuple[tuple[float, float], ...]
    size: int  # its height in pixels of the picture it was found in
    sharpness: float  # the variance of the Laplacian of its grey 64x64 crop
    embedding: FloatArray
    model: str = FACE_MODEL
    t: float | None = None  # seconds into a video; None: a photo

    @property
    def identifiable(self) -> bool:
        """Large and sharp enough to tell who it is (see SIZE_MIN)."""
        return identifiable(self.size, self.sharpness)


def identifiable(size: int, sharpness: float) -> bool:
    return size >= SIZE_MIN and sharpness >= SHARPNESS_MIN


def people_rows(rows: Iterable[Sequence[Any]]) -> dict[int, list[dict[str, Any]]]:
    """(image, person, name, left, top, right, bottom, t) rows as each image's people:
    who, and where (the box as fractions of the upright picture; a video's moment)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for image_id, person_id, name, left, top, right, bottom, t in rows:
        found.setdefault(int(image_id), []).append(
            {
                "person": int(person_id),
                "name": name,
                "box": [round(float(v), 4) for v in (left, top, right, bottom)],
                "t": t,
            }
        )
    return found


class FaceModel(Protocol):
    @property
    def name(self) -> str:
        """What faces record as their model: a new name re-embeds every face."""
        ...

    @property
    def dim(self) -> int: ...

    def detect(self, picture: Image.Image) -> list[Detection]:
        """The faces in an upright RGB picture, with their landmarks (alignment)."""
        ...

    def embed(
        self, picture: Image.Image, detections: Sequence[Detection]
    ) -> FloatArray:
        """One vector per detection, aligned by its landmarks: (n, dim) float32.
        Vectors of one person lie within `same_person` of each other."""
        ...


def sharpness(picture: Image.Image, box: Box) -> float:
    """How much fine detail the face holds: the variance of the Laplacian of its crop,
    grey and 64x64, so that it compares across sizes. Blur and heavy JPEG give low
    values."""
    from PIL import Image

    crop = (
        picture.crop(box.pixels(*picture.size))
        .convert("L")
        .resize((64, 64), Image.Resampling.BILINEAR)
    )
    g = np.asarray(crop, dtype=np.float32)
    lap = -4.0 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())


def find_faces(
    model: FaceModel, picture: Image.Image, t: float | None = None
) -> list[Face]:
    """Every face in the picture, with its vector and quality."""
    detections = model.detect(picture)
    if not detections:
        return []
    vectors = model.embed(picture, detections)
    height = picture.size[1]
    faces = []
    for detection, vector in zip(detections, vectors, strict=True):
        box = detection.box
        faces.append(
            Face(
                box=box,
                score=detection.score,
                landmarks=detection.landmarks,
                size=round((box.bottom - box.top) * height),
                sharpness=sharpness(picture, box),
                embedding=np.asarray(vector, dtype=np.float32),
                model=model.name,
                t=t,
            )
        )
    return faces


_loaded: dict[int, FaceModel] = {}


def load_face_model(side: int = 1024) -> FaceModel:
    """The default face model, looking at copies of `side` pixels (Settings.face_side),
    loaded once per process (its files are read from the packages that ship them: no
    download). Raises FacesUnavailableError when those packages are missing."""
    if side not in _loaded:
        from retrieval.faces.dlib_model import DlibFaces

        _loaded[side] = DlibFaces(side)
    return _loaded[side]
