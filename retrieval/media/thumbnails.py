"""Thumbnails: made once from the original (a video's: from one of its frames) and cached
in the library directory, under a name that carries the file's size and modification time,
so that a changed file gets a new one and the old ones are removed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from retrieval.errors import DecodeError, NotFoundError, UsageError
from retrieval.media.decode import decode
from retrieval.media.video.frames import frame_at
from retrieval.records import ImageMeta

FOLDER = "thumbnails"
# The grid's tiles, and the large view (which also serves formats browsers cannot show).
SIZES = (320, 1280)
QUALITY = 85


def cache_path(root: Path, meta: ImageMeta, size: int, t: float | None = None) -> Path:
    # Spread over 256 folders: a folder of a million files is slow to list on most file systems.
    folder = root / FOLDER / f"{meta.image_id % 256:02x}"
    # A video's frames by the tenth of a second: one file per moment shown.
    at = f"t{round(t * 10)}-" if t is not None else ""
    return folder / f"{meta.image_id}-{size}-{at}{meta.size}-{meta.mtime_ns}.jpg"


def thumbnail(
    root: Path,
    meta: ImageMeta,
    size: int,
    max_pixels: int,
    *,
    t: float | None = None,
    poster: Callable[[], float] | None = None,
) -> Path:
    """The cached JPEG of `meta`'s image whose longer side is at most `size`, made now if
    missing; of a video, the frame at `t` seconds (default: `poster()`). Raises
    NotFoundError if the original cannot be read any more."""
    if size not in SIZES:
        raise UsageError(
            f"thumbnail size {size} is not offered: use one of {', '.join(map(str, SIZES))}"
        )
    if meta.kind == "video":
        if t is None:
            t = poster() if poster is not None else 0.0
        t = min(t, meta.duration or 0.0)
    else:
        t = None
    path = cache_path(root, meta, size, t)
    if path.exists():
        return path
    try:
        if t is not None:
            image = frame_at(meta.path, t, size)
        else:
            image = decode(meta.path, max_pixels=max_pixels, draft_size=size).image
    except DecodeError as exc:
        raise NotFoundError(
            f"image {meta.image_id} ({meta.path}) cannot be read now: {exc}"
        ) from None
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Thumbnails of the file as it was before it changed (any size, any moment).
    current = f"-{meta.size}-{meta.mtime_ns}.jpg"
    for stale in path.parent.glob(f"{meta.image_id}-*.jpg"):
        if not stale.name.endswith(current):
            stale.unlink(missing_ok=True)
    # Two requests for the same thumbnail may race: each writes its own file, and the
    # rename makes whichever finishes last the one kept, whole.
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        image.save(partial, "JPEG", quality=QUALITY)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
