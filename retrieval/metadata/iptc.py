"""IPTC-IIM, the format before XMP that many programs still write beside it: keywords,
caption, title (object name) and the date created, from the datasets of record 2."""

from __future__ import annotations

import struct
from datetime import datetime

from retrieval.metadata.model import Metadata

_KEYWORDS, _CAPTION, _OBJECT_NAME, _DATE, _TIME = 25, 120, 5, 55, 60
_CHARSET = (1, 90)
_UTF8 = b"\x1b%G"


def datasets(block: bytes) -> list[tuple[int, int, bytes]]:
    """(record, dataset, value) of each dataset, until the first that is not one."""
    found: list[tuple[int, int, bytes]] = []
    at = 0
    while at + 5 <= len(block) and block[at] == 0x1C:
        record, number = block[at + 1], block[at + 2]
        (size,) = struct.unpack(">H", block[at + 3 : at + 5])
        at += 5
        if size & 0x8000:  # an extended dataset: the size's own length follows
            width = size & 0x7FFF
            if width > 4:
                break
            size = int.from_bytes(block[at : at + width], "big")
            at += width
        found.append((record, number, block[at : at + size]))
        at += size
    return found


def read_iptc(block: bytes, source: str) -> Metadata:
    items = datasets(block)
    utf8 = any((r, n) == _CHARSET and v == _UTF8 for r, n, v in items)

    def text(value: bytes) -> str:
        if utf8:
            return value.decode("utf-8", "replace").strip()
        try:
            return value.decode("utf-8").strip()
        except UnicodeDecodeError:
            return value.decode("latin-1").strip()

    values: dict[int, list[str]] = {}
    for record, number, value in items:
        if record == 2:
            values.setdefault(number, []).append(text(value))
    keywords = tuple(dict.fromkeys(k for k in values.get(_KEYWORDS, []) if k))
    return Metadata(
        keywords=keywords,
        title=next(iter(values.get(_OBJECT_NAME, [])), None) or None,
        description=next(iter(values.get(_CAPTION, [])), None) or None,
        taken_at=_date(values.get(_DATE, [""])[0], values.get(_TIME, [""])[0]),
        sources=(source,),
    )


def _date(day: str, time: str) -> datetime | None:
    """IIM's CCYYMMDD and HHMMSS±HHMM, as local time."""
    try:
        moment = datetime.strptime(day[:8], "%Y%m%d")
    except ValueError:
        return None
    try:
        clock = datetime.strptime(time[:6], "%H%M%S")
    except ValueError:
        return moment
    return moment.replace(hour=clock.hour, minute=clock.minute, second=clock.second)
