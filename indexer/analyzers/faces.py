"""The faces analyzer: the faces in every photo, and in every moment of a video, with
their vectors (retrieval.faces); after each round of writes, the new faces are placed
among the persons (retrieval.faces.persons).

A photo's faces are found on the picture decoded for every analyzer, its short side at
least three quarters of Settings.face_side (the detector's copy of a 4:3 photo, and its
landmarks and vectors at that resolution or finer); a video's on its moments, sampled as
the CLIP encoder samples them (Settings.video_interval and video_scene), at that side too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from indexer.analyzers.base import Photo
from retrieval.faces.dlib_model import check_installed
from retrieval.faces.model import FACES_ANALYZER, Face, find_faces, load_face_model
from retrieval.faces.persons import update_persons
from retrieval.media.video.probe import is_video
from retrieval.media.video.sample import Sampling, sample
from retrieval.settings import Settings
from retrieval.store.faces import replace_faces

if TYPE_CHECKING:
    from PIL import Image

    from retrieval.library import Library


def picture_side_for(face_side: int) -> int:
    return face_side * 3 // 4


class FaceAnalyzer:
    name = FACES_ANALYZER
    # Bumped with the default face model (retrieval.faces.model.FACE_MODEL): its
    # vectors do not compare with another model's, so every photo is looked at again.
    version = 1
    videos = True
    deferred = True
    shape = None
    finish_after: tuple[str, ...] = ()

    def __init__(self, settings: Settings) -> None:
        self.picture_side = picture_side_for(settings.face_side)
        self._sampling = Sampling(settings.video_interval, settings.video_scene)
        self._max_pixels = settings.max_pixels
        self._side = settings.face_side
        # Missing packages fail the run before any photo does; the model itself loads
        # at the first photo (a status asks for the analyzers, and needs no model).
        check_installed()

    def prepare(self, photo: Photo) -> Image.Image | list[Face]:
        """A photo: its picture, for `analyze`. A video: the faces of its moments, found
        here as they are decoded, so that an hour of video never holds more than one
        of its frames (the model is safe to call from the decode threads)."""
        if photo.picture is not None:
            return photo.picture
        if not is_video(photo.path):
            return []
        sampled = sample(
            photo.path, self._sampling, self.picture_side, max_pixels=self._max_pixels
        )
        model = load_face_model(self._side)
        return [
            face
            for moment in sampled
            for face in find_faces(model, moment.image, moment.t)
        ]

    def analyze(self, prepared: Sequence[Any]) -> list[list[Face]]:
        model = load_face_model(self._side)
        return [
            list(item) if isinstance(item, list) else find_faces(model, item)
            for item in prepared
        ]

    write = staticmethod(replace_faces)

    def finish(self, library: Library) -> None:
        update_persons(library.store)
