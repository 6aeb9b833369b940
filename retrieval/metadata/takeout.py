"""Google Takeout's JSON beside a photo: when it was taken, where, its description, and
who Google Photos saw in it (names only: Takeout gives no boxes)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from retrieval.metadata.model import LEVEL, Metadata

# Takeout's JSON of one photo is a few kilobytes.
MAX_JSON = 4 * 1024 * 1024
# People named in Takeout become keywords under this parent, as Lightroom keeps persons.
PEOPLE = "People"


class TakeoutError(ValueError):
    pass


def read_takeout(data: bytes, source: str) -> Metadata:
    if len(data) > MAX_JSON:
        raise TakeoutError(f"a JSON file of {len(data) / 1e6:.0f} MB, over the limit")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise TakeoutError(f"broken JSON: {str(exc)[:120]}") from None
    if not isinstance(doc, dict):
        raise TakeoutError("not Takeout's JSON: an object was expected")
    latitude, longitude = (
        _position(doc.get("geoData"))
        or _position(doc.get("geoDataExif"))
        or (None, None)
    )
    listed = doc.get("people")
    people = [
        p["name"].strip()
        for p in (listed if isinstance(listed, list) else [])
        if isinstance(p, dict) and isinstance(p.get("name"), str)
    ]
    description = doc.get("description")
    return Metadata(
        keywords=tuple(
            f"{PEOPLE}{LEVEL}{name}" for name in dict.fromkeys(people) if name
        ),
        description=description.strip()
        if isinstance(description, str) and description.strip()
        else None,
        taken_at=_taken(doc.get("photoTakenTime")),
        latitude=latitude,
        longitude=longitude,
        sources=(source,),
    )


def _taken(value: Any) -> datetime | None:
    """photoTakenTime's timestamp (seconds since 1970, UTC), as a UTC wall time: Takeout
    does not say the zone the photo was taken in."""
    if not isinstance(value, dict):
        return None
    try:
        # Newer exports call it timestampSeconds; some write a number, not a string.
        raw = value.get("timestamp", value.get("timestampSeconds", ""))
        seconds = int(str(raw).strip())
        if seconds <= 0:
            return None
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        return None


def _position(value: Any) -> tuple[float, float] | None:
    """(latitude, longitude); Takeout writes 0.0, 0.0 for a photo without a place."""
    if not isinstance(value, dict):
        return None
    try:
        latitude = float(value.get("latitude", 0.0))
        longitude = float(value.get("longitude", 0.0))
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if latitude == 0.0 and longitude == 0.0:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude
