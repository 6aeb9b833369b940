"""What several test modules share (fixtures stay in conftest.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from photosearch.warm.protocol import make_request


def query_request(op: str, main: str, cwd: str, **fields: Any) -> dict[str, Any]:
    """A query request as the command line sends it (photosearch.warm.protocol)."""
    return make_request(None, op=op, main=main, cwd=cwd, **fields)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


class CountingAnalyzer:
    """A test analyzer: records the photos it sees (and appends them to `log`, for
    another process to count); it keeps no records of its own."""

    name = "counting"
    videos = False

    def __init__(
        self, *, version: int = 1, picture_side: int = 32, log: Path | None = None
    ) -> None:
        self.version = version
        self.picture_side = picture_side
        self.log = log
        self.seen: list[str] = []
        self.sizes: list[tuple[int, int]] = []
        self._lock = threading.Lock()

    def prepare(self, photo: Any) -> Any:
        assert photo.picture is not None
        with self._lock:
            self.sizes.append(photo.picture.size)
        return photo.path

    def analyze(self, prepared: Sequence[Any]) -> list[Any]:
        self.seen.extend(prepared)
        if self.log is not None:
            with open(self.log, "a") as f:
                f.writelines(f"{path}\n" for path in prepared)
        return [None for _ in prepared]

    def write(self, s: Any, rows: Sequence[tuple[int, Any]]) -> None:
        pass
