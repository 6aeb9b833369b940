"""A photo's metadata from every source, merged (retrieval.metadata.model.merged), most
trusted first: its XMP sidecars (sidecars.py says which wins), the XMP embedded in the
file, its IPTC-IIM (before the XMP when a program that knows only IPTC changed it since:
MWG's rule, by Photoshop's IPTC digest), and Takeout's JSON. What one source cannot give (a broken sidecar, a
refused packet) is kept as a problem with its reason; the other sources still count."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from retrieval.errors import first_line
from retrieval.metadata.embedded import Embedded, read_embedded
from retrieval.metadata.iptc import read_iptc
from retrieval.metadata.model import Metadata, Region, merged
from retrieval.metadata.sidecars import takeout_json, xmp_sidecars
from retrieval.metadata.takeout import MAX_JSON, read_takeout
from retrieval.metadata.xmp import MAX_PACKET, read_packet

# EXIF orientation -> where a point of the stored image lands in the upright one.
_UPRIGHT: dict[int, Callable[[float, float], tuple[float, float]]] = {
    1: lambda x, y: (x, y),
    2: lambda x, y: (1 - x, y),
    3: lambda x, y: (1 - x, 1 - y),
    4: lambda x, y: (x, 1 - y),
    5: lambda x, y: (y, x),
    6: lambda x, y: (1 - y, x),
    7: lambda x, y: (1 - y, 1 - x),
    8: lambda x, y: (y, 1 - x),
}


def upright(region: Region, orientation: int) -> Region:
    """A region of the stored image (as MWG's guidelines place it) in the upright one."""
    turn = _UPRIGHT.get(orientation, _UPRIGHT[1])
    left, top, width, height = region.box
    xs, ys = zip(turn(left, top), turn(left + width, top + height), strict=True)
    box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    return replace(region, box=tuple(round(v, 6) for v in box))  # type: ignore[arg-type]


def _stamp(path: str) -> tuple[str, int, int]:
    stat = os.stat(path)
    return (path, stat.st_mtime_ns, stat.st_size)


def _file(path: str, limit: int, stamps: list[tuple[str, int, int]]) -> bytes:
    """A sidecar's bytes, its stamp added to `stamps` first (so that a refused one is
    not read again until it changes)."""
    stamp = _stamp(path)
    stamps.append(stamp)
    if stamp[2] > limit:
        raise ValueError(
            f"{stamp[2] / 1e6:.0f} MB, over the limit of {limit // 2**20} MB"
        )
    with open(path, "rb") as f:
        return f.read(limit + 1)


def sidecar_stamps(path: str | Path) -> set[tuple[str, int, int]]:
    """The photo's sidecars as they are now: (path, mtime_ns, size) of each."""
    photo = os.fspath(path)
    found = set()
    takeout = takeout_json(photo)
    for sidecar in [*xmp_sidecars(photo), *([takeout] if takeout else [])]:
        try:
            found.add(_stamp(sidecar))
        except OSError:
            pass  # gone between the listing and now
    return found


def _problem(source: str, exc: BaseException) -> str:
    return f"{os.path.basename(source)}: {first_line(exc, 160)}"


def read_metadata(path: str | Path) -> Metadata:
    """Everything the photo's other programs wrote about it (an empty record if none)."""
    photo = os.fspath(path)
    parts: list[Metadata] = []
    problems: list[str] = []
    stamps: list[tuple[str, int, int]] = []
    for sidecar in xmp_sidecars(photo):
        try:
            parts.append(read_packet(_file(sidecar, MAX_PACKET, stamps), sidecar))
        except (OSError, ValueError) as exc:
            problems.append(_problem(sidecar, exc))
    try:
        embedded = read_embedded(photo)
    except OSError as exc:
        problems.append(_problem(photo, exc))
        embedded = Embedded()
    iptc = read_iptc(embedded.iptc, photo) if embedded.iptc is not None else None
    if iptc is not None and embedded.iptc_is_newer:
        parts.append(iptc)
    if embedded.xmp is not None:
        try:
            parts.append(read_packet(embedded.xmp, photo))
        except ValueError as exc:
            problems.append(f"{os.path.basename(photo)} (embedded XMP): {exc}")
    if iptc is not None and not embedded.iptc_is_newer:
        parts.append(iptc)
    takeout = takeout_json(photo)
    people: tuple[str, ...] = ()
    if takeout is not None:
        try:
            said = read_takeout(_file(takeout, MAX_JSON, stamps), takeout)
            people, said = said.keywords, replace(said, keywords=())
            parts.append(said)
        except (OSError, ValueError) as exc:
            problems.append(_problem(takeout, exc))
    found = merged(parts)
    return replace(
        found,
        # Whom Google Photos saw in it is no one's keyword list: it adds to them.
        keywords=tuple(dict.fromkeys((*found.keywords, *people))),
        regions=tuple(upright(r, embedded.orientation) for r in found.regions),
        problems=(*found.problems, *problems),
        stamps=tuple(stamps),
    )
