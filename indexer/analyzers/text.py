"""The text analyzer: the lines of text in every photo and video moment
(retrieval.text), stored for matching by substring (retrieval.store.text).

A photo is first looked at on the picture decoded for every analyzer (its short side at
least the first look's, retrieval.text.rapid.LOOK_SIDE); most photos stop there. Where
the look finds a line, the file is decoded again at the reader's side
(Settings.text_side) and read: asking every photo to be decoded that large would make
every photo pay for the few with text (a JPEG decoded at full size instead of half). A
video is read on its moments, sampled as the CLIP encoder samples them, each line with
its moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from indexer.analyzers.base import Photo
from retrieval.media.decode import decode
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
    """The short side of the read's copy of a 4:3 photo."""
    return text_side * 3 // 4


class TextAnalyzer:
    name = TEXT_ANALYZER
    # Bumped with the default reader (retrieval.text.model.TEXT_MODEL), or when what it
    # keeps changes: every photo is read again.
    version = 1
    videos = True
    deferred = True
    shape = None
    finish_after: tuple[str, ...] = ()

    def __init__(self, settings: Settings, *, threads: int = 0) -> None:
        """`threads`: ONNX Runtime's per model call (0: one per core); one where other
        analyzers of the second pass run beside it (retrieval.text.rapid)."""
        self.picture_side = LOOK_SIDE * 3 // 4
        self._threads = threads
        self._read_side = picture_side_for(settings.text_side)
        self._sampling = Sampling(settings.video_interval, settings.video_scene)
        self._max_pixels = settings.max_pixels
        self._side = settings.text_side
        # Missing packages fail the run before any photo does; the models load at the
        # first photo.
        check_installed()

    def prepare(self, photo: Photo) -> tuple[Image.Image, str] | list[TextLine]:
        """A photo: its picture and file, for `analyze`. A video: the text of its
        moments, read here as they are decoded (one frame held at a time)."""
        if photo.picture is not None:
            return photo.picture, photo.path
        if not is_video(photo.path):
            return []
        sampled = sample(
            photo.path, self._sampling, self._read_side, max_pixels=self._max_pixels
        )
        reader = load_text_reader(LOOK_SIDE, self._side, self._threads)
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
        reader = load_text_reader(LOOK_SIDE, self._side, self._threads)
        read: list[list[TextLine]] = []
        for item in prepared:
            if isinstance(item, list):
                read.append(item)
                continue
            picture, path = item
            read.append(reader.read(picture, finer=partial(self._decode, path)))
        return read

    def _decode(self, path: str) -> Image.Image:
        """The photo again, as large as the read needs (a DecodeError fails this photo's
        reading alone)."""
        return decode(
            path, max_pixels=self._max_pixels, draft_size=self._read_side
        ).image

    write = staticmethod(replace_text)

    def finish(self, library: Library) -> None:
        pass
