"""What `photosearch index` tells the user as it goes: the first pass's bar (drawn by the
indexer), the moment every photo is searchable, then a bar per analyzer of the second
pass with its count and the time left; on a terminal that is not one, plain lines."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import IO, Any

# How each analyzer's work reads in a sentence.
WHAT = {
    "views": "wide views",
    "faces": "faces",
    "text": "text",
    "exif": "EXIF",
    "metadata": "metadata",
}


def what(name: str) -> str:
    return WHAT.get(name, name)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


class IndexReport:
    """The `searchable` callback and the second pass's Progress of one `index` run."""

    def __init__(self, *, bars: bool, stream: IO[str] | None = None) -> None:
        self.bars = bars
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.searchable_at: float | None = None
        self._bars: dict[str, Any] = {}
        self._started = False
        self.analysed: dict[str, int] = {}

    def say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def searchable(self, summary: Any) -> None:
        """The first pass is over: every photo can be found by a sentence now."""
        self.searchable_at = time.monotonic()
        took = self.searchable_at - self.started
        self.say(
            f"searchable: {summary.line()} in {took:.1f} s; every photo can be "
            "found by a sentence now"
        )

    def start(self, pending: Mapping[str, int]) -> None:
        left = {name: n for name, n in pending.items() if n}
        if self._started:
            # Again (the second pass beside the first, on a GPU): more came due.
            for name, n in left.items():
                bar = self._bars.get(name)
                if bar is not None:
                    bar.total = self.analysed.get(name, 0) + n
                    bar.refresh()
            return
        if not left:
            return
        self._started = True
        parts = ", ".join(
            f"{what(name)} of {plural(n, 'photo')}" for name, n in left.items()
        )
        self.say(
            f"looking closer: {parts} (Ctrl-C stops; the rest follows on the next "
            "`photosearch index` or in `photosearch watch`)"
        )
        if not self.bars:
            return
        from tqdm import tqdm

        for position, (name, n) in enumerate(left.items()):
            self._bars[name] = tqdm(
                total=n,
                desc=f"{what(name):>10}",
                unit="photo",
                position=position,
                leave=False,
                file=self.stream,
            )

    def advance(self, done: Mapping[str, int]) -> None:
        for name, n in done.items():
            self.analysed[name] = self.analysed.get(name, 0) + n
            bar = self._bars.get(name)
            if bar is not None:
                bar.update(n)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()
