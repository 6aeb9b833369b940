"""Combined queries: a main term plus `+TERM` / `-TERM` terms, each a sentence or an image,
with an optional weight (`2:cat`), summed and re-normalised into one query vector."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
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
            raise UsageError("a region applies to an image, not to a text")


Box = tuple[float, float, float, float]
_ID_TERM = re.compile(r"id:(\d+)")


def parse_box(raw: str, name: str = "--box") -> Box:
    """`X,Y,W,H`: pixels, or fractions of the picture when all four are at most 1.
    `name`: what the user called it (the option or the field), for the message."""
    parts = raw.replace(" ", "").split(",")
    try:
        x, y, w, h = (float(p) for p in parts)
    except ValueError:
        raise UsageError(
            f"{name} {raw!r}: give X,Y,W,H (pixels, or fractions such as 0,0,0.5,1)"
        ) from None
    return check_box((x, y, w, h), name)


def check_box(box: Box, name: str = "--box") -> Box:
    x, y, w, h = box
    if not all(math.isfinite(v) for v in box) or min(x, y) < 0 or w <= 0 or h <= 0:
        shown = ",".join(f"{v:g}" for v in box)
        raise UsageError(f"{name} {shown!r}: X and Y must be >= 0, W and H above 0")
    return box


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
