"""Results taken into another folder, for another program: copied, or linked (symbolic or
hard links), never overwriting anything there. A name already taken by another file gets
a suffix (`IMG_0001 (1).jpg`); one that already holds this very file (a second run) is
left as it is."""

from __future__ import annotations

import errno
import filecmp
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import UsageError

HOWS = ("copy", "symlink", "hardlink")
# Suffixes tried before giving up on a name: a folder of that many namesakes is not the
# user's intent.
MAX_SUFFIX = 9999


@dataclass(frozen=True)
class Taken:
    source: str
    target: Path
    fresh: bool  # False: it was there already


def _holds(target: Path, source: Path, how: str) -> bool:
    """Whether `target` is already `source` as `how` would have made it."""
    try:
        if how == "symlink":
            return target.is_symlink() and Path(os.readlink(target)) == source
        if how == "hardlink":
            return os.path.samefile(target, source)
        return (
            not target.is_symlink()
            and target.stat().st_size == source.stat().st_size
            and filecmp.cmp(target, source, shallow=False)
        )
    except OSError:
        return False


def candidates(name: str) -> Iterable[str]:
    """`name`, then `name (1)`, `name (2)` ... before its extension."""
    stem, ext = os.path.splitext(name)
    yield name
    for n in range(1, MAX_SUFFIX + 1):
        yield f"{stem} ({n}){ext}"


def _copy_exclusive(source: Path, target: Path) -> None:
    """`source` copied to `target`, which must not exist (FileExistsError); a copy cut
    short is removed."""
    with open(source, "rb") as src, open(target, "xb") as dst:
        try:
            shutil.copyfileobj(src, dst, 1 << 20)
        except BaseException:
            dst.close()
            target.unlink(missing_ok=True)
            raise
    shutil.copystat(source, target)


def take(paths: Iterable[str], folder: Path, how: str) -> list[Taken]:
    """Each file of `paths` in `folder` (created if missing), copied or linked."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(
            f"{folder} is a file, not a folder: give a folder to put them in"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot make the folder {folder}: {exc.strerror}") from None
    taken: list[Taken] = []
    for raw in dict.fromkeys(paths):
        source = Path(raw).absolute()
        if not source.is_file():
            raise UsageError(
                f"{source} is not there any more: `photosearch index` brings the "
                "library up to date"
            )
        for name in candidates(source.name):
            target = folder / name
            if _holds(target, source, how):
                taken.append(Taken(raw, target, False))
                break
            try:
                if how == "symlink":
                    os.symlink(source, target)
                elif how == "hardlink":
                    os.link(source, target)
                else:
                    _copy_exclusive(source, target)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno == errno.EXDEV:
                    raise UsageError(
                        f"cannot hard-link {source} into {folder}: another file "
                        "system (copy them, or link them symbolically)"
                    ) from None
                raise UsageError(
                    f"cannot put {source.name} in {folder}: {exc.strerror}"
                ) from None
            taken.append(Taken(raw, target, True))
            break
        else:
            raise UsageError(
                f"{folder} has {MAX_SUFFIX} files named like {source.name}"
            )
    return taken
