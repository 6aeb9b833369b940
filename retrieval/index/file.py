"""The saved vector index's file: FAISS's own bytes with a trailer of what photosearch
needs besides (the store generation, the search parameters), written atomically."""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from retrieval.faults import checkpoint

INDEX_NAME = "index.faiss"
# The file is FAISS's own bytes, then this trailer: FAISS reads from the start of a file,
# so only a trailer lets it map the file instead of reading it (a cold query on a large
# library then touches only the pages its search visits).
_MAGIC = b"PSFAISS4"
# FAISS bytes, store generation, nprobe (0 for flat), vectors the IVF centroids were
# trained for, candidates re-ranked exactly per query (0 but for "pq"), magic
_TRAILER = struct.Struct("<QQIQI8s")
# The trailer before the re-rank count; such files still load.
_MAGIC_3 = b"PSFAISS3"
_TRAILER_3 = struct.Struct("<QQIQ8s")
# Before the trailer the same fields were a header; such files still load (fully read).
_OLD_MAGIC = b"PSFAISS2"
_OLD_HEADER = struct.Struct("<8sQIQ")
_TEMP_PREFIX = ".index-"  # then the writer's pid, "-", random, ".tmp"


class IndexFileError(Exception):
    """The saved index is missing, damaged or out of date; it is rebuilt from the store."""


@dataclass(frozen=True)
class Saved:
    generation: int
    nprobe: int
    trained_for: int
    rerank: int
    # Where FAISS's bytes are in the file.
    start: int
    length: int
    # Only a file with a trailer can be mapped (FAISS reads from offset 0).
    mappable: bool


def read_layout(path: Path) -> Saved:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(_OLD_HEADER.size)
            tails = {}
            for trailer in (_TRAILER, _TRAILER_3):
                if size >= trailer.size:
                    f.seek(size - trailer.size)
                    tails[trailer] = f.read(trailer.size)
    except FileNotFoundError:
        raise IndexFileError(f"{path} is missing") from None
    except OSError as exc:
        raise IndexFileError(f"{path} cannot be read: {exc.strerror}") from None
    if _TRAILER in tails and tails[_TRAILER].endswith(_MAGIC):
        length, generation, nprobe, trained_for, rerank, _ = _TRAILER.unpack(
            tails[_TRAILER]
        )
        if length + _TRAILER.size != size:
            raise IndexFileError(f"{path} is truncated")
        return Saved(generation, nprobe, trained_for, rerank, 0, length, True)
    if _TRAILER_3 in tails and tails[_TRAILER_3].endswith(_MAGIC_3):
        length, generation, nprobe, trained_for, _ = _TRAILER_3.unpack(
            tails[_TRAILER_3]
        )
        if length + _TRAILER_3.size != size:
            raise IndexFileError(f"{path} is truncated")
        return Saved(generation, nprobe, trained_for, 0, 0, length, True)
    if len(head) == _OLD_HEADER.size:
        magic, generation, nprobe, trained_for = _OLD_HEADER.unpack(head)
        if magic == _OLD_MAGIC:
            start = _OLD_HEADER.size
            return Saved(generation, nprobe, trained_for, 0, start, size - start, False)
    if size < _TRAILER_3.size:
        raise IndexFileError(f"{path} is truncated")
    raise IndexFileError(f"{path} is not a photosearch index")


def read_header(path: Path) -> tuple[int, int] | None:
    """(store generation, nprobe) of a saved index, without loading it; None if unreadable."""
    try:
        saved = read_layout(path)
    except IndexFileError:
        return None
    return saved.generation, saved.nprobe


def write_index_file(
    path: Path,
    payload: bytes,
    generation: int,
    nprobe: int,
    trained_for: int,
    rerank: int,
) -> None:
    """Write to a temporary file, fsync, and rename over `path`: a crash leaves the old
    file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(
        prefix=f"{_TEMP_PREFIX}{os.getpid()}-", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
            out.write(
                _TRAILER.pack(
                    len(payload), generation, nprobe, trained_for, rerank, _MAGIC
                )
            )
            out.flush()
            os.fsync(out.fileno())
        checkpoint("index-written")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_stale_temp_files(folder: Path) -> None:
    """Temporary index files left by a process that died mid-save. Each carries its
    writer's process id: a live process's file is its save in progress, left alone."""
    for stale in folder.glob(f"{_TEMP_PREFIX}*.tmp"):
        pid = stale.name[len(_TEMP_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
