"""The EXIF analyzer: when, where and with what a photo was taken (or a video recorded),
and the place its GPS position is in. It needs no pixels: a freshly decoded photo hands
over what the decoder read, and an existing one has its file's EXIF read alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from indexer.analyzers.base import Photo
from retrieval.media.decode import read_photo_info
from retrieval.media.exif import PhotoInfo
from retrieval.media.places import places_of
from retrieval.media.video.probe import is_video, read_info
from retrieval.records import PhotoDetails
from retrieval.store.details import replace_details

if TYPE_CHECKING:
    from retrieval.library import Library


def details_for(infos: Sequence[PhotoInfo]) -> list[PhotoDetails]:
    """Each photo's details, the places of a batch looked up together."""
    located = [i for i, info in enumerate(infos) if info.latitude is not None]
    positions = [
        (float(infos[i].latitude or 0.0), float(infos[i].longitude or 0.0))
        for i in located
    ]
    places = dict(zip(located, places_of(positions), strict=True))
    return [PhotoDetails(info, places.get(i)) for i, info in enumerate(infos)]


class ExifAnalyzer:
    name = "exif"
    version = 1
    picture_side = 0
    videos = True
    deferred = False
    shape = None
    finish_after: tuple[str, ...] = ()

    def prepare(self, photo: Photo) -> PhotoInfo:
        if photo.info is not None:
            return photo.info
        if is_video(photo.path):
            return read_info(photo.path).details
        return read_photo_info(photo.path)

    def analyze(self, prepared: Sequence[Any]) -> list[PhotoDetails]:
        return details_for(prepared)

    write = staticmethod(replace_details)

    def finish(self, library: Library) -> None:
        del library  # each photo's details are whole when written
