"""What a photo's EXIF says about when, where and with what it was taken.

Every field is optional: a broken or missing tag loses that field only, never the photo.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image

from retrieval.media.live_photos import still_content_id

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_DATETIME_ORIGINAL, _OFFSET_TIME, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9010, 0x9011
_EXPOSURE, _F_NUMBER, _ISO, _FOCAL_LENGTH = 0x829A, 0x829D, 0x8827, 0x920A
_LENS_MAKE, _LENS_MODEL = 0xA433, 0xA434
_TEXT_MAX = 120
_OFFSET = re.compile(r"^([+-])(\d\d):?(\d\d)$")


@dataclass(frozen=True)
class PhotoInfo:
    taken_at: datetime | None = None  # the camera's local time, as EXIF writes it
    utc_offset_min: int | None = None  # of that local time, where EXIF records it
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    focal_length_mm: float | None = None
    f_number: float | None = None
    exposure_s: float | None = None
    iso: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    altitude_m: float | None = None
    # A Live Photo's link to its video (retrieval.media.live_photos).
    content_id: str | None = None

    @property
    def camera(self) -> str | None:
        """Make and model as people say it: "Apple iPhone 12", "Canon EOS R6" (models
        often repeat the make: "Canon Canon EOS R6" is not written)."""
        make, model = self.camera_make, self.camera_model
        if make and model:
            first = make.split()[0].lower()
            return model if model.lower().startswith(first) else f"{make} {model}"
        return model or make


def read_info(exif: Image.Exif) -> PhotoInfo:
    """The fields of `exif` (Pillow's, of any format) that parse; the others None."""
    try:
        sub = dict(exif.get_ifd(_EXIF_IFD))
    except Exception:  # noqa: BLE001 - a broken sub-directory loses only its fields
        sub = {}
    try:
        gps = dict(exif.get_ifd(_GPS_IFD))
    except Exception:  # noqa: BLE001
        gps = {}
    latitude = _coordinate(gps.get(2), gps.get(1), "S", 90.0)
    longitude = _coordinate(gps.get(4), gps.get(3), "W", 180.0)
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):
        # (0, 0) is what a phone writes before it has a fix, not a photo at sea.
        latitude = longitude = None
    altitude = _number(gps.get(6)) if latitude is not None else None
    if altitude is not None and gps.get(5) in (1, b"\x01"):
        altitude = -altitude
    iso = _number(sub.get(_ISO))
    return PhotoInfo(
        taken_at=_date(sub.get(_DATETIME_ORIGINAL)) or _date(exif.get(_DATETIME)),
        utc_offset_min=_offset(sub.get(_OFFSET_TIME_ORIGINAL) or sub.get(_OFFSET_TIME)),
        camera_make=_text(exif.get(_MAKE)),
        camera_model=_text(exif.get(_MODEL)),
        lens=_text(sub.get(_LENS_MODEL)) or _text(sub.get(_LENS_MAKE)),
        focal_length_mm=_positive(_number(sub.get(_FOCAL_LENGTH))),
        f_number=_positive(_number(sub.get(_F_NUMBER))),
        exposure_s=_positive(_number(sub.get(_EXPOSURE))),
        iso=int(iso) if iso is not None and 0 < iso < 10_000_000 else None,
        latitude=latitude,
        longitude=longitude,
        altitude_m=altitude
        if altitude is not None and -12_000 < altitude < 100_000
        else None,
        content_id=still_content_id(exif),
    )


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace("\x00", " ").split())
    return text[:_TEXT_MAX] or None


def _number(value: Any) -> float | None:
    if isinstance(value, tuple | list):
        value = value[0] if value else None
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


def _date(value: Any) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _offset(value: Any) -> int | None:
    """ "+01:00" -> 60; None for anything else."""
    text = _text(value)
    match = _OFFSET.match(text) if text else None
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    total = int(hours) * 60 + int(minutes)
    return (-total if sign == "-" else total) if total <= 14 * 60 else None


def _coordinate(value: Any, ref: Any, negative: str, limit: float) -> float | None:
    """Degrees, minutes, seconds (rationals) and a hemisphere letter -> signed degrees."""
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    parts = [_number(v) for v in value]
    if any(p is None or p < 0 for p in parts):
        return None
    degrees, minutes, seconds = (p or 0.0 for p in parts)
    total = degrees + minutes / 60 + seconds / 3600
    reference = _text(ref)
    if reference is not None and reference.upper().startswith(negative):
        total = -total
    return total if abs(total) <= limit else None
