"""The text analyzer: the lines of text in every photo and video moment
(retrieval.text), stored for matching by substring (retrieval.store.text).

A photo is read on the picture decoded for every analyzer, its short side at least three
quarters of Settings.text_side (the reader's copy of a 4:3 photo); most photos stop at
the reader's first look, a detection on a small copy (retrieval.text.rapid). A video is
read on its moments, sampled as the CLIP encoder samples them, each line with its moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from indexer.analyzers.base import Photo
from retrieval.media.video.probe import is_video
from retrieval.media.video.sample import Sampling, sample
from retrieval.settings import Settings
from retrieval.store.text import replace_text
from retrieval.text.model import TEXT_ANALYZER, TextLine, load_text_reader
from retrieval.text.rapid import LOOK_SIDE, check_installed

if TYPE_CHECKING:
    from PIL import Image

    from retrieval.library import Library


def picture_side_for(text_side: int) -> int:
    return text_side * 3 // 4


class TextAnalyzer:
    name = TEXT_ANALYZER
    # Bumped with the default reader (retrieval.text.model.TEXT_MODEL), or when what it
    # keeps changes: every photo is read again.
    version = 1
    videos = True

    def __init__(self, settings: Settings) -> None:
        self.picture_side = picture_side_for(settings.text_side)
        self._sampling = Sampling(settings.video_interval, settings.video_scene)
        self._max_pixels = settings.max_pixels
        self._side = settings.text_side
        # Missing packages fail the run before any photo does; the models load at the
        # first photo.
        check_installed()

    def prepare(self, photo: Photo) -> Image.Image | list[TextLine]:
        """A photo: its picture, for `analyze`. A video: the text of its moments, read
        here as they are decoded (one frame held at a time)."""
        if photo.picture is not None:
            return photo.picture
        if not is_video(photo.path):
            return []
        sampled = sample(
            photo.path, self._sampling, self.picture_side, max_pixels=self._max_pixels
        )
        reader = load_text_reader(LOOK_SIDE, self._side)
        lines: list[TextLine] = []
        seen: set[str] = set()
        for moment in sampled:
            for line in reader.read(moment.image, moment.t):
                # A caption that stays on screen is one line, at its first moment.
                if line.text not in seen:
                    seen.add(line.text)
                    lines.append(line)
        return lines

    def analyze(self, prepared: Sequence[Any]) -> list[list[TextLine]]:
        reader = load_text_reader(LOOK_SIDE, self._side)
        return [
            list(item) if isinstance(item, list) else reader.read(item)
            for item in prepared
        ]

    write = staticmethod(replace_text)

    def finish(self, library: Library) -> None:
        pass
