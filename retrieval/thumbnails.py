"""Thumbnails: made once from the original and cached in the library directory, under a
name that carries the file's size and modification time, so that a changed file gets a new
one and the old one is removed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PIL import Image

from retrieval.errors import DecodeError, NotFoundError, UsageError
from retrieval.imaging import decode
from retrieval.types import ImageMeta

FOLDER = "thumbnails"
# The grid's tiles, and the large view (which also serves formats browsers cannot show).
SIZES = (320, 1280)
QUALITY = 85


def cache_path(root: Path, meta: ImageMeta, size: int) -> Path:
    # Spread over 256 folders: a folder of a million files is slow to list on most file systems.
    folder = root / FOLDER / f"{meta.image_id % 256:02x}"
    return folder / f"{meta.image_id}-{size}-{meta.size}-{meta.mtime_ns}.jpg"


def thumbnail(root: Path, meta: ImageMeta, size: int, max_pixels: int) -> Path:
    """The cached JPEG of `meta`'s image whose longer side is at most `size`, made now if
    missing. Raises NotFoundError if the original cannot be read any more."""
    if size not in SIZES:
        raise UsageError(
            f"thumbnail size {size} is not offered: use one of {', '.join(map(str, SIZES))}"
        )
    path = cache_path(root, meta, size)
    if path.exists():
        return path
    try:
        decoded = decode(meta.path, max_pixels=max_pixels, draft_size=size)
    except DecodeError as exc:
        raise NotFoundError(
            f"image {meta.image_id} ({meta.path}) cannot be read now: {exc}"
        ) from None
    image = decoded.image
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"{meta.image_id}-{size}-*.jpg"):
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
