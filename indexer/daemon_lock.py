"""One daemon per library: an exclusive lock on a file in the library directory, and a
small status file that `photosearch status` reads."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.errors import LibraryError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

LOCK_NAME = "daemon.lock"
STATUS_NAME = "daemon.json"


# PostgreSQL's advisory lock of a library's daemon (any 64-bit number of our own; the
# lock is the database's, so one per library).
ADVISORY_KEY = 0x70686F746F736561


class DaemonLock:
    """Held for the daemon's lifetime; the kernel drops it if the process dies, even by
    SIGKILL, so a stale lock never blocks a restart. A library in a database server also
    takes the server's advisory lock, held on a connection of its own (the server drops
    it when that connection goes, a killed process's too): a daemon on another machine,
    with another library folder, is refused as well."""

    def __init__(self, root: Path, engine: Engine | None = None) -> None:
        self.root = root
        self._fd: int | None = None
        self._engine = (
            engine
            if engine is not None and engine.dialect.name == "postgresql"
            else None
        )
        self._held: Connection | None = None

    def acquire(self) -> None:
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = running_pid(self.root)
            who = f"pid {pid}" if pid else "another process"
            raise LibraryError(
                f"a photosearch watch ({who}) is already running for library {self.root}: "
                f"stop it first{f' (kill {pid})' if pid else ''}, or use another --library"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        if self._engine is not None:
            self._take_advisory_lock(self._engine)

    def _take_advisory_lock(self, engine: Engine) -> None:
        from sqlalchemy import text

        connection = engine.connect()
        taken = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
        ).scalar()
        connection.commit()
        if not taken:
            connection.close()
            self.release()
            shown = engine.url.render_as_string(hide_password=True)
            raise LibraryError(
                f"a photosearch watch is already running for the library in {shown} "
                "(on this machine or another): stop it first"
            )
        self._held = connection

    def release(self) -> None:
        if self._held is not None:
            from sqlalchemy import text

            # The connection goes back to SQLAlchemy's pool, not away: unlock first (a
            # killed process's connection closes, and the server unlocks then).
            self._held.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
            )
            self._held.commit()
            self._held.close()
            self._held = None
        if self._fd is not None:
            (self.root / STATUS_NAME).unlink(missing_ok=True)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def running_pid(root: Path) -> int | None:
    """The pid of the daemon holding the library's lock, or None if none is running."""
    path = root / LOCK_NAME
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = path.read_text().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def write_status(root: Path, **fields: Any) -> None:
    """Replace the daemon's status file atomically."""
    fields["updated_at"] = time.time()
    fd, tmp = tempfile.mkstemp(prefix=".daemon-", suffix=".tmp", dir=root)
    with os.fdopen(fd, "w") as out:
        json.dump(fields, out)
    os.replace(tmp, root / STATUS_NAME)


def read_status(root: Path) -> dict[str, Any] | None:
    """The running daemon's status, or None when no daemon runs."""
    pid = running_pid(root)
    if pid is None:
        return None
    try:
        status: dict[str, Any] = json.loads((root / STATUS_NAME).read_text())
    except (OSError, ValueError):
        status = {}
    status["pid"] = pid
    return status
