"""What reading a photo yields, and the interface of a text reader.

A line keeps its box as a quadrilateral (four corners, clockwise from the top left of
the text as it reads) in fractions of the upright picture, so that it draws on any copy
of the photo, and the confidence the recogniser gave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL import Image

TEXT_ANALYZER = "text"
# The reader's models: stored with each line, so that lines from another model can be
# told apart (and read again) when the default changes.
TEXT_MODEL = "rapidocr-ppocrv6-small"

Quad = tuple[
    tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]
]


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float  # 0-1
    quad: Quad  # fractions of the upright picture
    t: float | None = None  # a video's moment, in seconds; None: a photo

    def box(self) -> tuple[float, float, float, float]:
        """The upright rectangle around the quad: left, top, right, bottom (fractions)."""
        xs = [p[0] for p in self.quad]
        ys = [p[1] for p in self.quad]
        return min(xs), min(ys), max(xs), max(ys)


class TextReader(Protocol):
    @property
    def name(self) -> str: ...

    def read(
        self,
        picture: Image.Image,
        t: float | None = None,
        finer: Callable[[], Image.Image] | None = None,
    ) -> list[TextLine]:
        """The lines of text in an upright RGB picture, in reading order (top to bottom,
        then left to right); [] when it shows none. `finer`: the same picture with more
        pixels, decoded only if the reader needs them (where it finds text). Safe to
        call from several threads."""
        ...


_loaded: dict[tuple[int, int, int], TextReader] = {}


def load_text_reader(
    look_side: int = 640, read_side: int = 1536, threads: int = 0
) -> TextReader:
    """The default reader (retrieval.text.rapid), loaded once per process: its models
    come inside the rapidocr package, nothing is downloaded; `threads` per model call
    (0: one per core). Raises TextUnavailableError when the package is missing."""
    key = (look_side, read_side, threads)
    if key not in _loaded:
        from retrieval.text.rapid import RapidText

        _loaded[key] = RapidText(look_side, read_side, threads)
    return _loaded[key]


def reading_order(lines: list[TextLine]) -> list[TextLine]:
    """Top to bottom; lines whose middles are within half a line's height of each other
    count as one row, read left to right."""

    def middle(line: TextLine) -> float:
        _, top, _, bottom = line.box()
        return (top + bottom) / 2

    ordered = sorted(lines, key=middle)
    rows: list[list[TextLine]] = []
    for line in ordered:
        if rows:
            _, rtop, _, rbottom = rows[-1][0].box()
            if abs(middle(line) - middle(rows[-1][0])) < (rbottom - rtop) / 2:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda li: li.box()[0])]
