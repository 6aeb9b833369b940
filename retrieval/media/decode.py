"""Reading image files into RGB pictures, with the guards a photo library needs.

EXIF orientation is applied; palette, transparent, CMYK, 16-bit, grayscale and animated
images become plain RGB (first frame); decompression bombs, truncated and unreadable files
raise DecodeError with a short reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from retrieval.errors import DecodeError, first_line
from retrieval.media.exif import PhotoInfo, read_info
from retrieval.media.formats import IMAGE_EXTENSIONS, open_picture

__all__ = ["IMAGE_EXTENSIONS", "Decoded", "decode", "to_rgb"]

# Pillow's own limit is replaced by the per-call check below (Settings.max_pixels).
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(frozen=True)
class Decoded:
    image: Image.Image  # RGB, upright
    width: int  # of the upright original, before any reduced-scale decoding
    height: int
    # What its EXIF says (date, position, camera).
    info: PhotoInfo = field(default_factory=PhotoInfo)

    @property
    def taken_at(self) -> datetime | None:
        return self.info.taken_at


def to_rgb(image: Image.Image) -> Image.Image:
    """Plain 8-bit RGB: transparency flattened onto white, 16-bit and float scaled down."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        pixels = np.asarray(image, dtype=np.float64)
        top = (
            65535.0
            if image.mode.startswith("I;16") or pixels.max(initial=0) > 255
            else 255.0
        )
        gray = np.clip(pixels / top * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")


# EXIF orientation -> the transposition that makes the picture upright.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Modes `Image.reduce` accepts; anything else becomes RGB before it is box-reduced.
_REDUCIBLE = frozenset({"L", "RGB", "RGBA", "RGBX", "LA", "I", "F", "CMYK"})


def decode(
    path: Path | str | IO[bytes], *, max_pixels: int, draft_size: int | None = None
) -> Decoded:
    """Read `path` (a file name, or an open binary file such as an upload) as an upright
    RGB image.

    `draft_size`, the side of the model's input, lets decoding skip detail the model will
    never see: JPEGs are decoded scaled down by a power of two while both sides stay at least
    `draft_size`, and any image whose short side is over four times that is box-reduced to
    no less than twice it, before the model's own resize. Width and height are still the
    original's.

    Any error Pillow raises on the way (its plugins raise many kinds) is a DecodeError: a
    broken file is never half-decoded into a picture.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with open_picture(path, draft_size) as opened:
                image = opened.image
                width, height = opened.width, opened.height
                if width * height > max_pixels:
                    raise DecodeError(
                        f"{width}x{height} pixels is over the limit of {max_pixels} "
                        "(decompression bomb?)"
                    )
                if draft_size is not None and image.format in ("JPEG", "MPO"):
                    # Square request: both sides stay at least draft_size, either way up.
                    image.draft("RGB", (draft_size, draft_size))
                image.seek(0)
                # Pixels first, and nothing else before them: reading EXIF from a PNG can
                # load the image, and an error swallowed there would leave half a picture
                # for a later load() to return as if it were whole.
                image.load()
                exif = opened.exif if opened.exif is not None else _exif(image)
                info = read_info(exif)
                orientation = (
                    opened.orientation
                    if opened.orientation is not None
                    else _orientation(exif)
                )
                if orientation in (5, 6, 7, 8):
                    width, height = height, width
                turn = _TRANSPOSE.get(orientation)
                upright = image.transpose(turn) if turn is not None else image
                if draft_size is not None and min(upright.size) >= 4 * draft_size:
                    if upright.mode not in _REDUCIBLE:
                        upright = to_rgb(upright)
                    upright = upright.reduce(min(upright.size) // (2 * draft_size))
                rgb = to_rgb(upright)
                if rgb is image:
                    rgb = image.copy()
    except DecodeError:
        raise
    except UnidentifiedImageError:
        raise DecodeError("not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"decompression bomb: {exc}") from None
    except FileNotFoundError:
        raise DecodeError("file disappeared before it could be read") from None
    except PermissionError:
        raise DecodeError("permission denied") from None
    except MemoryError:
        raise DecodeError("cannot decode: not enough memory for this image") from None
    # Pillow's plugins raise OSError, ValueError, SyntaxError, EOFError, struct.error,
    # IndexError, KeyError, TypeError, ZeroDivisionError...: each means a broken file.
    except Exception as exc:  # noqa: BLE001
        raise DecodeError(f"cannot decode: {first_line(exc, 300)}"[:300]) from None
    if rgb.width < 1 or rgb.height < 1:
        raise DecodeError("image has no pixels")
    return Decoded(rgb, width, height, info)


def _exif(image: Image.Image) -> Image.Exif:
    try:
        return image.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block only loses what it says
        return Image.Exif()


def _orientation(exif: Image.Exif) -> int:
    try:
        value = exif.get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block only loses the orientation
        return 1
    return value if isinstance(value, int) else 1


def read_photo_info(path: Path | str) -> PhotoInfo:
    """The EXIF facts of a file without decoding its pixels (empty when unreadable)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with open_picture(path, None) as opened:
                exif = opened.exif if opened.exif is not None else _exif(opened.image)
                return read_info(exif)
    except Exception:  # noqa: BLE001 - an unreadable file has no facts to give
        return PhotoInfo()
