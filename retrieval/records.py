"""Records that cross the boundary between the indexer and the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from retrieval.media.exif import PhotoInfo
from retrieval.media.places import Place
from retrieval.tagging.calibration import Calibration
from retrieval.types import FloatArray


@dataclass(frozen=True)
class FileState:
    """What the store remembers of a file, enough to tell whether it changed."""

    image_id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    status: str


@dataclass(frozen=True)
class PhotoDetails:
    """A photo's EXIF facts and the place its GPS position is in (None: no position, or
    none near a town)."""

    info: PhotoInfo
    place: Place | None = None


@dataclass(frozen=True)
class EncodedFile:
    """A file that decoded and was encoded: everything the store keeps about it."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    width: int
    height: int
    taken_at: datetime | None
    vector: FloatArray
    # A wide photo's other views or a video's other moments (retrieval.index.ids), one row
    # each; None: the one vector only.
    views: FloatArray | None = None
    # What its EXIF says and where that is; None: not read (the row stays as it was).
    details: PhotoDetails | None = None
    # A video's: the second of each moment, `vector`'s first; and its length.
    times: FloatArray | None = None
    duration: float | None = None


@dataclass(frozen=True)
class FailedFile:
    """A file that could not be read as an image, and why. Not retried until it changes."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    error: str


@dataclass(frozen=True)
class LabelSetRecord:
    name: str
    labels: tuple[str, ...]
    label_ids: tuple[int, ...]
    threshold: float
    top: int
    # Closed-set: the labels exclude one another, and a softmax over them decides.
    exclusive: bool = False
    # Open-world sets: the fit to the library's scores (None until one is made).
    calibration: Calibration | None = None


@dataclass(frozen=True)
class TagRecord:
    image_id: int
    path: str
    label: str
    label_set: str
    score: float
    assigned: bool
    ranges: str | None = None  # a video's: JSON [[start, end], ...] in seconds


@dataclass(frozen=True)
class TagScores:
    """Scores of a batch of images for one label set: rows are images, columns labels."""

    label_set: LabelSetRecord
    scores: FloatArray
    assigned: np.ndarray  # bool, same shape as scores
    # (row, column) of a video's assigned label: the stretches (seconds) it shows in.
    ranges: dict[tuple[int, int], list[tuple[float, float]]] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class Clip:
    """What scoring a video's moments needs besides their vectors: their times (its own
    vector's first) and the video's length."""

    times: FloatArray
    duration: float
