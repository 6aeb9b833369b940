"""The views analyzer: a wide photo seen whole (retrieval.media.views), in the second
pass. The first pass makes every photo searchable by its centre crop; this one adds the
squares that cover a wide photo (and the tiles of a large one, with `Settings.tiles`) as
its other views, which search scores it by too, and scores the photo's tags again with
them.

It decodes its own copy of the photo, at the size the first pass decodes for CLIP, rather
than taking the picture decoded for the faces and the text: what CLIP sees of a photo
then depends on the file and the model alone, whichever other analyzers run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from indexer.analyzers.base import Photo
from retrieval.media.decode import decode
from retrieval.media.views import VIEWS_ANALYZER, view_plan
from retrieval.model.protocol import Encoder
from retrieval.records import FloatArray, Shape
from retrieval.settings import Settings
from retrieval.store.vectors import replace_views
from retrieval.tagging.scoring import retag
from retrieval.vectors import stored_precision

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from retrieval.library import Library

# Views per call of the model: a daemon's queries share its model thread, and wait for no
# more than this many between theirs.
CHUNK = 16


def wanted(settings: Settings) -> bool:
    """Whether the settings give any photo other views."""
    return settings.views_aspect > 0 or settings.tiles >= 2


def shape_for(settings: Settings) -> Shape | None:
    """The photos that get views: the wide ones; every photo when tiles are on (a large
    photo of any shape gets them)."""
    return Shape(settings.views_aspect) if settings.tiles < 2 else None


class ViewsAnalyzer:
    name = VIEWS_ANALYZER
    # Bumped when the views change: every photo that is its to look at is seen again.
    version = 1
    # Not the shared picture: its own copy, decoded as the first pass decodes (above).
    picture_side = 0
    videos = False  # a video's other vectors are its moments
    deferred = True
    finish_after: tuple[str, ...] = ()

    def __init__(self, settings: Settings, encoder: Encoder) -> None:
        self._encoder = encoder
        self._max_pixels = settings.max_pixels
        self._aspect = settings.views_aspect
        self._tiles = settings.tiles
        self.shape = shape_for(settings)
        # The photos given views since the last `finish`, whose tags it scores again.
        self._written: list[int] = []

    def prepare(self, photo: Photo) -> list[Any]:
        """The model's inputs of the photo's views (none for a photo they leave out)."""
        side = self._encoder.image_size
        picture = decode(
            photo.path,
            max_pixels=self._max_pixels,
            draft_size=side * max(1, self._tiles),
        ).image
        plan = view_plan(picture.width, picture.height, self._aspect, self._tiles, side)
        return [self._encoder.prepare(picture.crop(box)) for box in plan.boxes]

    def analyze(self, prepared: Sequence[Any]) -> list[FloatArray | None]:
        inputs = [item for views in prepared for item in views]
        if not inputs:
            return [None for _ in prepared]
        vectors = stored_precision(
            np.concatenate(
                [
                    self._encoder.encode_prepared(inputs[i : i + CHUNK])
                    for i in range(0, len(inputs), CHUNK)
                ]
            )
        )
        found: list[FloatArray | None] = []
        start = 0
        for views in prepared:
            mine = vectors[start : start + len(views)]
            start += len(views)
            found.append(np.ascontiguousarray(mine) if len(mine) else None)
        return found

    def write(self, s: Session, rows: Sequence[tuple[int, Any]]) -> None:
        replace_views(s, rows)
        self._written.extend(i for i, views in rows if views is not None)

    def finish(self, library: Library) -> None:
        """The photos given views scored against the saved label sets again."""
        written, self._written = self._written, []
        retag(library.store, library.encoder, written)
