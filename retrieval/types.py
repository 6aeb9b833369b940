"""Small typed records shared across the library."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

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
