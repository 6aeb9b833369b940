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
`IMG_0001.jpg.supplemental-metadata.json`, the suffix cut short when the path is long
(`.supplemental-me.json`, `.suppl.json`, `..json`), and the photo's own name too when it
is long (`averylongname_so.jpg.supplemental-met.json`, `verylongphotoname_that_is_q.json`);
in any case of letters; a second photo of the same name is `IMG_0001(1).jpg`, its JSON
`IMG_0001.jpg(1).json` or `IMG_0001.jpg.supplemental-metadata(1).json`; an edited copy
`IMG_0001-edited.jpg` has the original's JSON, and a Live Photo's video its photo's.

A folder's listing is read once and reused while the folder is unchanged: looking for a
photo's sidecars costs no system call per candidate name.
"""

from __future__ import annotations

import bisect
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

# A JSON name at least this long (".json" included) may have been cut short by Takeout,
# which cuts names at 46 to 51 characters depending on the export.
TAKEOUT_CUT = 46
_SUPPLEMENTAL = ".supplemental-metadata"
_DUPLICATE = re.compile(r"^(.*?)(\(\d+\))$")
# What Takeout adds to an edited copy's name, in the languages it is seen in.
_EDITED = ("-edited", "-bearbeitet", "-modifié", "-editado", "-modificato", "-bewerkt")
SIDECAR_SUFFIXES = (".xmp", ".json")
# How much of a photo's name every JSON Takeout writes for it starts with.
_PREFIX = 8
# A Live Photo's video: Takeout gives its JSON to the photo only.
_VIDEOS = (".mov", ".mp4", ".m4v")


@dataclass(frozen=True)
class _Listing:
    """A folder's files: lower-cased name -> name, and the lower-cased names sorted, so
    that the names starting with a prefix are found by bisection, not a scan (a folder
    of ten thousand photos, each looking for its Takeout JSON)."""

    names: dict[str, str]
    ordered: list[str]

    def starting(self, prefix: str) -> list[str]:
        start = bisect.bisect_left(self.ordered, prefix)
        end = bisect.bisect_left(self.ordered, prefix + "\U0010ffff")
        return self.ordered[start:end]


_EMPTY = _Listing({}, [])


class _Listings:
    """Folder listings by folder, each valid while the folder's mtime is unchanged."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[int, _Listing]] = OrderedDict()

    def of(self, folder: str) -> _Listing:
        try:
            stamp = os.stat(folder).st_mtime_ns
        except OSError:
            return _EMPTY
        with self._lock:
            cached = self._cache.get(folder)
            if cached is not None and cached[0] == stamp:
                self._cache.move_to_end(folder)
                return cached[1]
        try:
            names = {n.lower(): n for n in os.listdir(folder)}
        except OSError:
            names = {}
        listing = _Listing(names, sorted(names))
        with self._lock:
            self._cache[folder] = (stamp, listing)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return listing


_listings = _Listings()


def xmp_sidecars(photo: str | Path) -> list[str]:
    """The photo's XMP sidecars that exist, the one that wins first."""
    folder, name = os.path.split(os.fspath(photo))
    names = _listings.of(folder or ".").names
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


def _takeout_names(name: str) -> tuple[str, str, str]:
    """A photo's name as Takeout's JSON names it: (its name without a duplicate's
    counter or an edited copy's suffix, its extension, the counter), lower case."""
    stem, ext = os.path.splitext(name.lower())
    stem, duplicate = _split_duplicate(stem)
    for edited in _EDITED:
        if stem.endswith(edited):
            stem = stem[: -len(edited)]
            break
    return stem + ext, ext, duplicate


def _json_fits(json_stem: str, base: str, ext: str, cut: bool) -> bool:
    """Whether a JSON's name (lower case, without `.json` and a counter) is Takeout's
    for a photo named `base`: the photo's name then part of `.supplemental-metadata`;
    or, in a name Takeout cut short, part of the photo's name, with or without its
    extension and part of the suffix after it."""
    if json_stem.startswith(base):
        return _SUPPLEMENTAL.startswith(json_stem[len(base) :])
    if not cut:
        return (
            False  # `IMG_1.jpg.json` is not `IMG_10.jpg`'s: only a cut name is shorter
        )
    if base.startswith(json_stem):
        return True  # cut inside the name, its extension gone
    head, dot, rest = json_stem.partition(ext) if ext else ("", "", "")
    return bool(dot) and base.startswith(head) and _SUPPLEMENTAL.startswith(rest)


def takeout_json(photo: str | Path) -> str | None:
    """The Takeout JSON of a photo, if its folder has one (case aside); a Live Photo's
    video, which Takeout gives none, has its photo's."""
    folder, name = os.path.split(os.fspath(photo))
    listing = _listings.of(folder or ".")
    base, ext, duplicate = _takeout_names(name)
    bases = [(base, ext)]
    if ext in _VIDEOS:
        stem = base[: -len(ext)]
        bases += [
            (other, os.path.splitext(other)[1])
            for other in listing.starting(stem + ".")
            if not other.endswith(".json")
            and os.path.splitext(other)[1] not in _VIDEOS
            and other.count(".") == base.count(".")
        ]
    for wanted, wanted_ext in bases:
        best: tuple[int, str] | None = None
        # Every name Takeout gives the JSON starts as the photo's does (a cut name
        # keeps at least 40 characters of it).
        for lowered in listing.starting(wanted[:_PREFIX]):
            actual = listing.names[lowered]
            if not lowered.endswith(".json"):
                continue
            json_stem, json_duplicate = _split_duplicate(lowered[: -len(".json")])
            if json_duplicate != duplicate:
                continue
            cut = len(lowered) - len(json_duplicate) >= TAKEOUT_CUT
            if not _json_fits(json_stem, wanted, wanted_ext, cut):
                continue
            if best is None or len(json_stem) > best[0]:
                best = (len(json_stem), os.path.join(folder, actual))
        if best is not None:
            return best[1]
    return None


def is_sidecar(path: str | Path) -> bool:
    return os.fspath(path).lower().endswith(SIDECAR_SUFFIXES)
