"""Which photos a search or a listing may answer with: one model of the filters, and one
parser from their written forms, for the command line, the warm path, the web and the
demo alike.

Every surface names the filters its own way (`--in` and `folder`, `--before` and
`date_to`): the parser takes those names, so that a message names what the user typed.
Dates mean the same everywhere: a range of whole days, both ends included, in the
camera's local time as EXIF writes it. A month or a year stands for all of its days:
`date_from 2024` starts on the 1st of January 2024, `date_to 2024-06` ends on the 30th of
June.
"""

from __future__ import annotations

import calendar
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from retrieval.errors import UsageError
from retrieval.metadata.model import RATING_MAX, RATING_MIN
from retrieval.text.fold import Contains, parse_contains

# --near without a distance: about a town's size.
NEAR_DEFAULT_KM = 10.0


@dataclass(frozen=True)
class Near:
    latitude: float  # decimal degrees, -90..90
    longitude: float  # -180..180
    km: float = NEAR_DEFAULT_KM  # above 0


@dataclass(frozen=True)
class Filters:
    """All None: every photo."""

    folder: str | None = None  # absolute: only images at or below it
    tag: str | None = None  # only images with this assigned tag
    date_from: date | None = None  # taken on this day or later
    date_to: date | None = None  # taken on this day or earlier
    place: str | None = None  # town, region or country (name or code) it was taken in
    near: Near | None = None
    camera: str | None = None  # camera make, model or lens
    on_day: tuple[int, int] | None = None  # (month, day): taken on it, in any year
    # Persons (ids or names) who are all in the photo.
    persons: tuple[str, ...] = ()
    # Words and phrases all in the text the photo shows (retrieval.text), its title,
    # description or keywords (retrieval.metadata).
    contains: Contains | None = None
    # Keywords other programs gave the photo, all of them (a hierarchy's any level).
    keywords: tuple[str, ...] = ()
    rating: int | None = None  # at least this many stars (xmp:Rating, -1 to 5)
    label: str | None = None  # this colour label (xmp:Label), any case

    def __post_init__(self) -> None:
        if (
            self.date_from is not None
            and self.date_to is not None
            and self.date_from > self.date_to
        ):
            raise UsageError(
                f"the date range {self.date_from:%Y-%m-%d} to {self.date_to:%Y-%m-%d} "
                "is empty: put the earlier date first"
            )

    @property
    def narrows(self) -> bool:
        """Whether any filter leaves out images."""
        return any(getattr(self, f.name) not in (None, "", ()) for f in fields(self))

    def taken_between(self) -> tuple[datetime | None, datetime | None]:
        """The date range as the store compares EXIF times: from the first day's
        midnight, inclusive, to the midnight after the last day, exclusive."""
        start = datetime.combine(self.date_from, time()) if self.date_from else None
        end = None
        if self.date_to is not None and self.date_to < date.max:
            end = datetime.combine(self.date_to + timedelta(days=1), time())
        return start, end


# The fields of Filters as each surface names them, for messages.
CLI_NAMES: Mapping[str, str] = {
    "folder": "--in",
    "tag": "--tag",
    "date_from": "--after",
    "date_to": "--before",
    "place": "--place",
    "near": "--near",
    "camera": "--camera",
    "on_day": "--on-day",
    "box": "--box",
    "persons": "--person",
    "contains": "--contains",
    "keywords": "--keyword",
    "rating": "--rating",
    "label": "--label",
}
API_NAMES: Mapping[str, str] = {
    **{name: name for name in CLI_NAMES},
    "on_day": "month_day",
    "persons": "person",
    "keywords": "keyword",
}


def parse_filters(
    raw: Mapping[str, Any],
    names: Mapping[str, str] = CLI_NAMES,
    base: Path | None = None,
) -> Filters:
    """Filters from their written forms (the fields of `Filters`, each a string or None;
    blank counts as not given; `person`: a list of them). `base`: the folder a relative
    `folder` is under."""

    def given(name: str) -> str | None:
        value = raw.get(name)
        return value.strip() if value is not None and value.strip() else None

    folder = given("folder")
    date_from, date_to = given("date_from"), given("date_to")
    near, on_day = given("near"), given("on_day")
    contains = given("contains")
    return Filters(
        folder=absolute(folder, base) if folder is not None else None,
        tag=given("tag"),
        date_from=first_day(date_from, names["date_from"]) if date_from else None,
        date_to=last_day(date_to, names["date_to"]) if date_to else None,
        place=given("place"),
        near=parse_near(near, names["near"]) if near else None,
        camera=given("camera"),
        on_day=parse_month_day(on_day, names["on_day"]) if on_day else None,
        persons=_persons(raw.get("person"), names["persons"]),
        contains=parse_contains(contains, names["contains"]) if contains else None,
        keywords=_keywords(raw.get("keyword"), names["keywords"]),
        rating=_rating(raw.get("rating"), names["rating"]),
        label=given("label"),
    )


def _keywords(raw: Any, name: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    values = [raw] if isinstance(raw, str) else list(raw)
    if any(not isinstance(v, str) or not v.strip(" |") for v in values):
        raise UsageError(
            f"{name}: give a keyword, e.g. {name} Lisbon or {name} 'Places|Portugal'"
        )
    return tuple(dict.fromkeys(v.strip() for v in values))


def _rating(raw: Any, name: str) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        stars = int(str(raw).strip())
    except ValueError:
        stars = None
    if stars is None or not RATING_MIN <= stars <= RATING_MAX:
        raise UsageError(
            f"{name} {raw!r}: give the least number of stars, {RATING_MIN + 1} to "
            f"{RATING_MAX} (0: any rated photo but the rejected, {RATING_MIN}: all rated)"
        )
    return stars


def _persons(raw: Any, name: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    values = [raw] if isinstance(raw, str) else list(raw)
    if any(not isinstance(v, str) or not v.strip() for v in values):
        raise UsageError(f"{name}: give a person's name or id (photosearch people)")
    return tuple(dict.fromkeys(v.strip() for v in values))


def absolute(path: str, base: Path | None = None) -> str:
    """The form paths are stored in: absolute, not resolved (a symlinked folder keeps its
    name); a relative one is taken from `base`, else the working folder."""
    expanded = os.path.expanduser(path)
    if base is not None and not os.path.isabs(expanded):
        expanded = os.path.join(base, expanded)
    return os.path.abspath(expanded)


def _period(raw: str, name: str) -> tuple[date, date]:
    """The first and last day of `YYYY-MM-DD`, `YYYY-MM` or `YYYY`."""
    text = raw.strip()
    parts = text.split("-")
    try:
        if len(parts) == 3 and len(parts[0]) == 4:
            day = date(int(parts[0]), int(parts[1]), int(parts[2]))
            return day, day
        if len(parts) == 2 and len(parts[0]) == 4:
            year, month = int(parts[0]), int(parts[1])
            last = calendar.monthrange(year, month)[1]
            return date(year, month, 1), date(year, month, last)
        if len(parts) == 1 and len(parts[0]) == 4:
            year = int(parts[0])
            return date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        pass
    raise UsageError(
        f"{name} {raw!r}: give a date as YYYY-MM-DD, YYYY-MM or YYYY (a day that exists)"
    )


def first_day(raw: str, name: str = "--after") -> date:
    """A date range's start: the first day of the period written."""
    return _period(raw, name)[0]


def last_day(raw: str, name: str = "--before") -> date:
    """A date range's end: the last day of the period written (included)."""
    return _period(raw, name)[1]


def parse_near(raw: str, name: str = "--near") -> Near:
    """`LAT,LON[,KM]` in decimal degrees."""
    parts = raw.replace(" ", "").split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (2, 3) or not all(math.isfinite(n) for n in numbers):
        raise UsageError(
            f"{name} {raw!r}: give LAT,LON or LAT,LON,KM in decimal degrees, "
            "e.g. 38.72,-9.14,5"
        )
    latitude, longitude = numbers[0], numbers[1]
    km = numbers[2] if len(numbers) == 3 else NEAR_DEFAULT_KM
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or km <= 0:
        raise UsageError(
            f"{name} {raw!r}: latitude within -90..90, longitude within -180..180, "
            "and a distance above 0 km"
        )
    return Near(latitude, longitude, km)


def parse_month_day(raw: str, name: str = "--on-day") -> tuple[int, int]:
    """`M-D` (a day of the year, in any year)."""
    month, _, day = raw.strip().partition("-")
    try:
        found = (int(month), int(day))
        date(2000, *found)  # a leap year: the 29th of February is a day
    except ValueError:
        raise UsageError(
            f"{name} {raw!r}: give a day of the year as M-D, e.g. 7-14"
        ) from None
    return found
