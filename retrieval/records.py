"""The typed records that cross floors: what the indexer hands the store, what the store
and the index give search, and what search gives the command line, the daemon and the web.

The rule: a record used by more than one package lives here; a record one concept keeps to
itself (a fitted calibration, a decoded picture, a video's sampling) lives with it. Records
here import nothing of the library at run time, so that every floor may import them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from retrieval.media.exif import PhotoInfo
    from retrieval.media.places import Place
    from retrieval.tagging.calibration import Calibration

# Embeddings are float32 rows; FAISS wants exactly that, C-contiguous.
FloatArray = npt.NDArray[np.float32]
IdArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ModelInfo:
    """Which model a library's vectors come from; vectors of different models never mix."""

    name: str
    pretrained: str
    dim: int

    def describe(self) -> str:
        return f"{self.name} ({self.pretrained}, {self.dim}-d)"


@dataclass(frozen=True)
class SearchHit:
    image_id: int
    path: str
    score: float
    # The other files of the same shot (retrieval.search.pairs): a RAW next to its JPEG or HEIC.
    companions: tuple[str, ...] = ()
    # A Live Photo's video, next to the still.
    live: str | None = None
    # A video's (or a Live Photo's motion): its best moments, best first.
    moments: tuple[MomentHit, ...] = ()
    kind: str = "photo"  # or "video"
    # The library id of the video the moments are of: the hit's own, or a Live Photo's
    # motion part's.
    live_id: int | None = None

    @property
    def video_id(self) -> int | None:
        return self.image_id if self.kind == "video" else self.live_id

    @property
    def t(self) -> float | None:
        """Seconds into the video of the best moment."""
        return self.moments[0].t if self.moments else None


@dataclass(frozen=True)
class MomentHit:
    t: float  # seconds from the start of the video
    score: float


@dataclass(frozen=True)
class ImageMeta:
    """What the store keeps about one image besides its vector."""

    image_id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    width: int | None
    height: int | None
    taken_at: datetime | None
    status: str
    error: str | None
    trashed_at: datetime | None = None  # in the trash since then: out of every result
    duration: float | None = None  # a video's length in seconds; None for a photo

    @property
    def kind(self) -> str:
        return "photo" if self.duration is None else "video"


@dataclass(frozen=True)
class FileStamp:
    """A file as the library knows it, enough to tell whether it changed: where it is,
    its size and modification time, and (once read) the hash of its content."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str | None = None


class _Stamped:
    """The fields of a record's `file`, read as its own."""

    file: FileStamp

    @property
    def path(self) -> str:
        return self.file.path

    @property
    def size(self) -> int:
        return self.file.size

    @property
    def mtime_ns(self) -> int:
        return self.file.mtime_ns

    @property
    def content_hash(self) -> str | None:
        return self.file.content_hash


@dataclass(frozen=True)
class FileState(_Stamped):
    """What the store remembers of a file, enough to tell whether it changed."""

    image_id: int
    file: FileStamp
    status: str


@dataclass(frozen=True)
class PhotoDetails:
    """A photo's EXIF facts and the place its GPS position is in (None: no position, or
    none near a town)."""

    info: PhotoInfo
    place: Place | None = None


@dataclass(frozen=True)
class Shape:
    """Which photos an analyzer looks at, by their size (the store's width and height):
    those at least `min_aspect` times wider than tall, or taller than wide. Videos and
    photos of unknown size are left out."""

    min_aspect: float


@dataclass(frozen=True)
class Analyzed:
    """One analyzer's outcome for one file: what it found (for its own tables), or why
    it could not look. Plain data, so that it crosses processes (Ray workers)."""

    analyzer: str
    version: int
    output: Any = None
    error: str | None = None


@dataclass(frozen=True)
class EncodedFile(_Stamped):
    """A file that decoded and was encoded: everything the store keeps about it."""

    file: FileStamp  # its content hash known
    width: int
    height: int
    taken_at: datetime | None
    vector: FloatArray
    # A wide photo's other views or a video's other moments (retrieval.index.ids), one row
    # each; None: the one vector only.
    views: FloatArray | None = None
    # What each analyzer besides CLIP made of it (indexer/analyzers/): the EXIF details,
    # and those to come; an analyzer missing here looks at it later.
    analyses: tuple[Analyzed, ...] = ()
    # A video's: the second of each moment, `vector`'s first; and its length.
    times: FloatArray | None = None
    duration: float | None = None


@dataclass(frozen=True)
class FailedFile(_Stamped):
    """A file that could not be read as an image, and why. Not retried until it changes."""

    file: FileStamp
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
