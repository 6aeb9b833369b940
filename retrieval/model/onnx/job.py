"""Exporting the towers without anyone waiting: a process of its own, at low priority,
started after `index` (and after a query that torch had to serve), so that the first
results never wait for an export of tens of seconds.

One export per model at a time on a machine: a lock file beside the export says that one
is under way, and every other process (a second `index`, a query, another library of the
same model) leaves it to that one. An export that failed leaves its reason beside it and
is not tried again for an hour, so that a full disk does not cost an export per query.

    python -m retrieval.model.onnx.job MODEL PRETRAINED
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from retrieval.errors import first_line
from retrieval.model.onnx.files import read_meta, towers_folder, whole
from retrieval.records import ModelInfo

log = logging.getLogger(__name__)

RETRY_AFTER_S = 3600.0
# The job yields the CPU to whatever the user runs next (a query, the daemon).
NICENESS = 10


def _beside(folder: Path, suffix: str) -> Path:
    return folder.parent / f"{folder.name}.{suffix}"


@contextlib.contextmanager
def export_lock(folder: Path) -> Iterator[bool]:
    """Hold the lock of the export into `folder` while inside; yields False (holding
    nothing) when another process has it."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(_beside(folder, "lock"), "a+b") as handle:
        if not _try_lock(handle):
            yield False
            return
        try:
            yield True
        finally:
            _unlock(handle)


def _try_lock(handle: IO[bytes]) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; exports may then run twice
        return True
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(handle: IO[bytes]) -> None:
    with contextlib.suppress(ImportError):
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_UN)


def exporting(folder: Path) -> bool:
    """Whether another process is exporting into `folder` now."""
    try:
        with export_lock(folder) as mine:
            return not mine
    except OSError:
        return False


def record_failure(folder: Path, exc: BaseException) -> None:
    with contextlib.suppress(OSError):
        _beside(folder, "failed").write_text(first_line(exc, 300), encoding="utf-8")


def failed_lately(folder: Path) -> bool:
    try:
        age = time.time() - _beside(folder, "failed").stat().st_mtime
    except OSError:
        return False
    return age < RETRY_AFTER_S


def start_background_export(info: ModelInfo) -> bool:
    """Start the export of `info`'s towers in a process of its own (those not exported
    yet) unless they are exported, being exported, or failed lately; whether one was
    started."""
    folder = towers_folder(info)
    if whole(read_meta(folder)) or exporting(folder) or failed_lately(folder):
        return False
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with open(_beside(folder, "log"), "ab") as log_file:
            subprocess.Popen(
                [sys.executable, "-m", __name__, info.name, info.pretrained],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                # Its own session: the terminal closing, or Ctrl-C in it, does not stop it.
                start_new_session=True,
                close_fds=True,
            )
    except OSError as exc:
        log.info("could not start exporting the ONNX towers: %s", exc)
        return False
    log.info("exporting %s to ONNX in the background (once per model)", info.name)
    return True


def main(argv: list[str] | None = None) -> int:
    from retrieval.model.factory import resolve_model
    from retrieval.model.onnx.fallback import export_for
    from retrieval.model.torch_clip import OpenClipEncoder

    name, pretrained = argv if argv is not None else sys.argv[1:]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with contextlib.suppress(OSError, AttributeError):
        os.nice(NICENESS)
    info = resolve_model(name, pretrained)
    export_for(OpenClipEncoder(info, "cpu"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
