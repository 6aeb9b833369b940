"""The files beside a photo that speak of it: XMP sidecars, in the two namings programs
use, and Google Takeout's JSON.

- `IMG_0001.jpg.xmp`: darktable, digiKam, and most programs since; it belongs to this
  one file.
- `IMG_0001.xmp`: Lightroom's (and Capture One's), for RAW files; it is shared by every
  file named IMG_0001 (a RAW and its JPEG alike).

When both exist, the full name wins for every fact both give: it names this file alone,
and programs that write it are the ones that also keep it current. Keywords come from
both.

Takeout writes `IMG_0001.jpg.json`, or in its newer exports
`IMG_0001.jpg.supplemental-metadata.json`, cutting the name to 51 characters
(`IMG_0001.jpg.supplemental-me.json`, or the photo's own name cut short when it is
long); a second photo of the same name is `IMG_0001(1).jpg`, its JSON
`IMG_0001.jpg(1).json`; an edited copy `IMG_0001-edited.jpg` has the original's JSON.

A folder's listing is read once and reused while the folder is unchanged: looking for a
photo's sidecars costs no system call per candidate name.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from pathlib import Path

# Takeout's longest JSON name, ".json" included.
TAKEOUT_NAME_MAX = 51
_SUPPLEMENTAL = ".supplemental-metadata"
_DUPLICATE = re.compile(r"^(.*?)(\(\d+\))$")
# What Takeout adds to an edited copy's name, in the languages it is seen in.
_EDITED = ("-edited", "-bearbeitet", "-modifié", "-editado", "-modificato", "-bewerkt")
SIDECAR_SUFFIXES = (".xmp", ".json")


class _Listings:
    """Folder listings by folder, each valid while the folder's mtime is unchanged."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[int, dict[str, str]]] = OrderedDict()

    def names(self, folder: str) -> dict[str, str]:
        """Lower-cased name -> name, of the folder's files."""
        try:
            stamp = os.stat(folder).st_mtime_ns
        except OSError:
            return {}
        with self._lock:
            cached = self._cache.get(folder)
            if cached is not None and cached[0] == stamp:
                self._cache.move_to_end(folder)
                return cached[1]
        try:
            listed = {n.lower(): n for n in os.listdir(folder)}
        except OSError:
            listed = {}
        with self._lock:
            self._cache[folder] = (stamp, listed)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return listed


_listings = _Listings()


def xmp_sidecars(photo: str | Path) -> list[str]:
    """The photo's XMP sidecars that exist, the one that wins first."""
    folder, name = os.path.split(os.fspath(photo))
    names = _listings.names(folder or ".")
    stem = os.path.splitext(name)[0]
    found = []
    for candidate in (f"{name}.xmp", f"{stem}.xmp"):
        actual = names.get(candidate.lower())
        if actual is not None and actual != name:
            found.append(os.path.join(folder, actual))
    return list(dict.fromkeys(found))


def _split_duplicate(stem: str) -> tuple[str, str]:
    match = _DUPLICATE.match(stem)
    return (match.group(1), match.group(2)) if match else (stem, "")


def takeout_json(photo: str | Path) -> str | None:
    """The Takeout JSON of a photo, if its folder has one."""
    folder, name = os.path.split(os.fspath(photo))
    stem, ext = os.path.splitext(name)
    base_stem, duplicate = _split_duplicate(stem)
    for edited in _EDITED:
        if base_stem.lower().endswith(edited):
            base_stem = base_stem[: -len(edited)]
            break
    base = base_stem + ext
    full = base + _SUPPLEMENTAL
    best: tuple[int, str] | None = None
    for lowered, actual in _listings.names(folder or ".").items():
        if not lowered.endswith(".json"):
            continue
        json_stem, json_duplicate = _split_duplicate(actual[: -len(".json")])
        if json_duplicate != duplicate or not full.startswith(json_stem):
            continue
        cut = len(actual) - len(json_duplicate) >= TAKEOUT_NAME_MAX - 5
        if len(json_stem) < len(base) and not cut:
            continue  # `IMG_1.json` is not `IMG_10.jpg`'s: only a cut name is shorter
        if best is None or len(json_stem) > best[0]:
            best = (len(json_stem), os.path.join(folder, actual))
    return best[1] if best else None


def is_sidecar(path: str | Path) -> bool:
    return os.fspath(path).lower().endswith(SIDECAR_SUFFIXES)
