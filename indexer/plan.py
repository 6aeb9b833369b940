"""Comparing a folder scan with the library: what is new, changed, moved, gone or the same.

Size and mtime say whether a file may have changed; the content hash decides. A file whose
content the library already has (moved, renamed, or copied) reuses that vector.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from retrieval.records import FailedFile, FileStamp, FileState
from retrieval.store.models import STATUS_OK

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Work:
    """A file to encode (new or changed content)."""

    entry: FileStamp  # as the scan found it
    content_hash: str
    replaces: bool = False  # the library has this path, with other content

    @property
    def stamp(self) -> FileStamp:
        """The file with its content hash."""
        return replace(self.entry, content_hash=self.content_hash)


@dataclass(frozen=True)
class Copy:
    """A new file whose content the library already has under `source_id`."""

    entry: FileStamp
    content_hash: str
    source_id: int


@dataclass
class Plan:
    encode: list[Work] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)
    moves: list[tuple[int, FileStamp]] = field(default_factory=list)
    restores: list[tuple[int, FileStamp]] = field(default_factory=list)
    touches: list[tuple[int, FileStamp]] = field(default_factory=list)
    removals: list[int] = field(default_factory=list)
    unreadable: list[FailedFile] = field(default_factory=list)
    unchanged: int = 0


def make_plan(
    states: dict[str, FileState],
    scanned: Iterable[FileStamp],
    hasher: Callable[[str], str],
    *,
    find_copies: Callable[[list[str]], dict[str, int]],
    reencode_ids: set[int] = frozenset(),  # type: ignore[assignment]
    find_trashed: Callable[[list[str]], dict[str, int]] | None = None,
) -> Plan:
    """`states`: the library's files under the scanned folders. `find_copies`: for content
    hashes, the ids of images anywhere in the library that have that content and a vector
    (a copy reuses it). `reencode_ids`: images whose vector must be recomputed whatever
    their state. `find_trashed`: the same for images in the trash (restored, not copied).
    `plan.removals` are the files that are gone: the caller puts them in the trash."""
    plan = Plan()
    fresh: list[tuple[FileStamp, str]] = []
    present: set[str] = set()
    to_hash: list[tuple[FileStamp, FileState | None]] = []
    for entry in scanned:
        if entry.path in present:
            continue
        present.add(entry.path)
        state = states.get(entry.path)
        if (
            state is not None
            and state.size == entry.size
            and state.mtime_ns == entry.mtime_ns
            and state.image_id not in reencode_ids
        ):
            plan.unchanged += 1
            continue
        to_hash.append((entry, state))

    digests = _hash_all([entry.path for entry, _ in to_hash], hasher)
    for (entry, state), digest in zip(to_hash, digests, strict=True):
        if isinstance(digest, OSError):
            if not isinstance(digest, FileNotFoundError):  # gone: as if never seen
                plan.unreadable.append(
                    FailedFile(
                        entry,
                        f"cannot read: {digest.strerror}",
                    )
                )
            continue
        if state is None:
            fresh.append((entry, digest))
        elif digest == state.content_hash and state.image_id not in reencode_ids:
            plan.touches.append((state.image_id, entry))
        else:
            plan.encode.append(Work(entry, digest, replaces=True))

    missing = {path: s for path, s in states.items() if path not in present}
    missing_by_hash: dict[str, list[FileState]] = {}
    for state in missing.values():
        if (
            state.status == STATUS_OK
            and state.content_hash
            and state.image_id not in reencode_ids
        ):
            missing_by_hash.setdefault(state.content_hash, []).append(state)
    fresh_hashes = [digest for _, digest in fresh]
    known_hashes = find_copies(fresh_hashes)
    in_trash = find_trashed(fresh_hashes) if find_trashed is not None else {}
    for entry, digest in fresh:
        candidates = missing_by_hash.get(digest)
        if candidates:
            moved = candidates.pop()
            plan.moves.append((moved.image_id, entry))
            del missing[moved.path]
        elif digest in in_trash and in_trash[digest] not in reencode_ids:
            # Back from the trash (a drive's files that came back, an undo): the same id,
            # vector and tags, nothing encoded.
            plan.restores.append((in_trash.pop(digest), entry))
        elif digest in known_hashes and known_hashes[digest] not in reencode_ids:
            plan.copies.append(Copy(entry, digest, known_hashes[digest]))
        else:
            plan.encode.append(Work(entry, digest))
    plan.removals = sorted(s.image_id for s in missing.values())
    return plan


def _hash_all(
    paths: Sequence[str], hasher: Callable[[str], str]
) -> list[str | OSError]:
    """Hashes of `paths` in order, on every core (hashlib lets go of the GIL): a first
    index hashes every photo before the first one reaches the model, and a GPU encodes
    faster than one core hashes."""

    def one(path: str) -> str | OSError:
        try:
            return hasher(path)
        except OSError as exc:
            return exc

    if len(paths) < 2:
        return [one(p) for p in paths]
    with ThreadPoolExecutor(max_workers=min(len(paths), os.cpu_count() or 1)) as pool:
        return list(pool.map(one, paths))
