"""Walking photo folders: image and video files only, no hidden or system folders, no
symlink loops."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from retrieval.errors import UsageError
from retrieval.media.decode import IMAGE_EXTENSIONS
from retrieval.media.video.probe import VIDEO_EXTENSIONS
from retrieval.records import FileStamp

MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS

log = logging.getLogger(__name__)

# Folders that photo tools, NAS boxes and operating systems fill with copies or junk.
SKIPPED_FOLDERS = frozenset(
    {
        "@eaDir",
        "#recycle",
        "$RECYCLE.BIN",
        "System Volume Information",
        "lost+found",
        "__MACOSX",
        "node_modules",
    }
)


def check_roots(roots: list[str]) -> list[str]:
    """The folders to index, absolute; a missing or unreadable one is the user's error."""
    if not roots:
        raise UsageError("no folder given: photosearch index DIR [DIR ...]")
    out = []
    for root in roots:
        path = Path(root).expanduser()
        if not path.exists():
            raise UsageError(f"folder {root} does not exist: check the path")
        if not path.is_dir():
            raise UsageError(
                f"{root} is not a folder: give the folder that holds the photos"
            )
        if not os.access(path, os.R_OK | os.X_OK):
            raise UsageError(f"folder {root} is not readable: fix its permissions")
        out.append(os.path.abspath(path))
    return out


def is_media_name(name: str) -> bool:
    """A photo's or a video's name, not a hidden file's."""
    return (
        not name.startswith(".")
        and os.path.splitext(name)[1].lower() in MEDIA_EXTENSIONS
    )


def walk(root: str) -> Iterator[FileStamp]:
    """Every photo and video file below `root`. Symlinked folders are followed once each, so a link
    back up the tree cannot loop; unreadable folders are logged and skipped."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = os.stat(folder)
        except OSError:
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:
            continue
        seen.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            log.warning("skipping unreadable folder %s: %s", folder, exc.strerror)
            continue
        subfolders = []
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name in SKIPPED_FOLDERS:
                continue
            try:
                entry.path.encode("utf-8")
            except UnicodeEncodeError:
                log.warning("skipping %r: its name is not valid UTF-8", entry.path)
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    subfolders.append(entry.path)
                    continue
                if not is_media_name(name):
                    continue
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue  # a broken link or a file gone since the listing
            if stat.S_ISREG(st.st_mode):
                yield FileStamp(entry.path, st.st_size, st.st_mtime_ns)
        stack.extend(reversed(subfolders))


def inside(path: str, roots: Sequence[str]) -> bool:
    """Whether `path` is one of the roots or below one, and not in a hidden or system folder
    on the way down (those are never indexed)."""
    path = os.path.abspath(path)
    for root in roots:
        root = os.path.abspath(root)
        if path == root:
            return True
        if path.startswith(root.rstrip(os.sep) + os.sep):
            parts = path[len(root) :].strip(os.sep).split(os.sep)
            return not any(p.startswith(".") or p in SKIPPED_FOLDERS for p in parts)
    return False


def file_entry(path: str) -> FileStamp | None:
    """The entry for one photo or video file, or None if it is not one (or is gone)."""
    if not is_media_name(os.path.basename(path)):
        return None
    try:
        path.encode("utf-8")
        st = os.stat(path)
    except (OSError, UnicodeEncodeError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return FileStamp(path, st.st_size, st.st_mtime_ns)
