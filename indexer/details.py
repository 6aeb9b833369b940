"""A photo's details for the store: its EXIF facts and the place its GPS position is in;
and the catch-up for photos indexed before details were kept."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from retrieval.media.decode import read_photo_info
from retrieval.media.exif import PhotoInfo
from retrieval.media.places import places_of
from retrieval.records import PhotoDetails
from retrieval.store import Store

log = logging.getLogger(__name__)

CATCH_UP_BATCH = 500


def details_for(infos: Sequence[PhotoInfo]) -> list[PhotoDetails]:
    """Each photo's details, the places of a batch looked up together."""
    located = [i for i, info in enumerate(infos) if info.latitude is not None]
    positions = [
        (float(infos[i].latitude or 0.0), float(infos[i].longitude or 0.0))
        for i in located
    ]
    places = dict(zip(located, places_of(positions), strict=True))
    return [PhotoDetails(info, places.get(i)) for i, info in enumerate(infos)]


def catch_up_details(store: Store, stop: Callable[[], bool] | None = None) -> int:
    """Read the EXIF of the photos indexed before details were kept (no pixels are
    decoded), a batch per transaction; how many were read."""
    done = 0
    while stop is None or not stop():
        pending = store.ids_without_details(CATCH_UP_BATCH)
        if not pending:
            break
        infos = [read_photo_info(path) for _, path in pending]
        details = details_for(infos)
        store.write_details(
            [(image_id, d) for (image_id, _), d in zip(pending, details, strict=True)]
        )
        done += len(pending)
    if done:
        log.info("read the EXIF details of %d photos indexed before", done)
    return done
