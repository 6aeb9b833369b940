"""Crash points for the crash-safety tests.

`PHOTOSEARCH_CRASH_AT=NAME` (or `NAME:N`, the N-th time) makes the process kill itself with
SIGKILL when it reaches `checkpoint(NAME)`: the dangerous moments of a write (after a batch
is encoded, inside a commit, between writing the index file and renaming it). Unset, a
checkpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_passes: dict[str, int] = {}


def checkpoint(name: str) -> None:
    wanted = os.environ.get("PHOTOSEARCH_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
