"""Combined queries: a main term plus `+TERM` / `-TERM` terms, each a sentence or an image,
with an optional weight (`2:cat`), summed and re-normalised into one query vector."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from retrieval.errors import UsageError


@dataclass(frozen=True)
class QueryTerm:
    """One weighted part of a query: a sentence, an image file, a library image by id, or
    the bytes of an uploaded image."""

    weight: float
    text: str | None = None
    image: Path | None = None
    image_id: int | None = None
    upload: bytes | None = field(default=None, repr=False)
    # Only this region of an image term counts: (x, y, width, height), in pixels, or as
    # fractions of the picture when all four are at most 1.
    box: Box | None = None

    def __post_init__(self) -> None:
        given = [self.text, self.image, self.image_id, self.upload]
        if sum(v is not None for v in given) != 1:
            raise UsageError(
                "a query term is one of: a text, an image file, an image id, an upload"
            )
        if self.box is not None and self.text is not None:
            raise UsageError("a region (--box) applies to an image, not to a text")


Box = tuple[float, float, float, float]
_ID_TERM = re.compile(r"id:(\d+)")


def parse_box(raw: str) -> Box:
    """`X,Y,W,H`: pixels, or fractions of the picture when all four are at most 1."""
    parts = raw.replace(" ", "").split(",")
    try:
        x, y, w, h = (float(p) for p in parts)
    except ValueError:
        raise UsageError(
            f"--box {raw!r}: give X,Y,W,H (pixels, or fractions such as 0,0,0.5,1)"
        ) from None
    if min(x, y) < 0 or w <= 0 or h <= 0:
        raise UsageError(f"--box {raw!r}: X and Y must be >= 0, W and H above 0")
    return (x, y, w, h)


# --near without a distance: about a town's size.
NEAR_DEFAULT_KM = 10.0


def parse_near(raw: str) -> tuple[float, float, float]:
    """`LAT,LON[,KM]` in decimal degrees -> (latitude, longitude, km)."""
    parts = raw.replace(" ", "").split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (2, 3) or not all(math.isfinite(n) for n in numbers):
        raise UsageError(
            f"--near {raw!r}: give LAT,LON or LAT,LON,KM in decimal degrees, "
            "e.g. 38.72,-9.14,5"
        )
    latitude, longitude = numbers[0], numbers[1]
    km = numbers[2] if len(numbers) == 3 else NEAR_DEFAULT_KM
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or km <= 0:
        raise UsageError(
            f"--near {raw!r}: latitude within -90..90, longitude within -180..180, "
            "and a distance above 0 km"
        )
    return latitude, longitude, km


def parse_day(raw: str, option: str) -> datetime:
    """`YYYY-MM-DD` (or `YYYY-MM`, `YYYY`: its first day) -> midnight of that day."""
    text = raw.strip()
    for pattern in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise UsageError(f"{option} {raw!r}: give a date as YYYY-MM-DD, YYYY-MM or YYYY")


def _split_weight(raw: str) -> tuple[float, str]:
    head, sep, rest = raw.partition(":")
    if sep:
        try:
            return float(head), rest
        except ValueError:
            pass
    return 1.0, raw


def _path(text: str, base: Path | None) -> Path:
    """A path as the user typed it, relative to `base` (their working folder) if given."""
    path = Path(text).expanduser()
    return base / path if base is not None and not path.is_absolute() else path


def parse_term(
    raw: str, *, sign: float = 1.0, image_only: bool = False, base: Path | None = None
) -> QueryTerm:
    """One term: an existing file is an image, anything else a sentence."""
    weight, body = _split_weight(raw)
    body = body.strip()
    if not body:
        raise UsageError(f"empty query term {raw!r}: give a sentence or an image path")
    by_id = _ID_TERM.fullmatch(body)
    if by_id:  # a library image by id: +id:123 (relevance feedback from a result)
        return QueryTerm(sign * weight, image_id=int(by_id.group(1)))
    path = _path(body, base)
    if path.is_file():
        return QueryTerm(sign * weight, image=path)
    if image_only:
        return QueryTerm(sign * weight, image=parse_image(body, base))
    return QueryTerm(sign * weight, text=body)


def parse_image(raw: str, base: Path | None = None) -> Path:
    """An image file given on the command line."""
    path = _path(raw, base)
    if path.is_file():
        return path
    if path.exists():
        raise UsageError(f"{raw} is not a file: give an image file")
    raise UsageError(f"image {raw} not found: check the path")


def parse_extra_terms(tokens: list[str], base: Path | None = None) -> list[QueryTerm]:
    """`+TERM` adds, `-TERM` subtracts."""
    terms = []
    for token in tokens:
        if token.startswith("+"):
            terms.append(parse_term(token[1:], base=base))
        elif token.startswith("-"):
            terms.append(parse_term(token[1:], sign=-1.0, base=base))
        else:
            raise UsageError(
                f"unexpected argument {token!r}: extra query terms start with + or - "
                "(quote a sentence with spaces)"
            )
    return terms
