"""The values some settings and options may take, and where the library lives by default:
what a warm query's client needs, in a module that imports nothing heavier than `os` and
`pathlib` (the client's start-up is most of a warm query's time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEVICES = ("auto", "cpu", "cuda", "mps")
INDEX_TYPES = ("auto", "flat", "ivf", "pq")
ENGINES = ("auto", "torch", "onnx", "onnx-int8")
# When the ONNX towers are exported after `index` (and after a query torch had to serve):
# by a process of its own at low priority, or by the command, which waits for it.
EXPORTS = ("background", "wait")
# Orders of search results: best first, or by EXIF date among the best matches.
SORTS = ("score", "newest", "oldest")


def library_location(
    given: Path | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """The library folder: the one given, else $PHOTOSEARCH_LIBRARY, else the user data
    folder."""
    env = os.environ if env is None else env
    if given is not None:
        return given
    if env.get("PHOTOSEARCH_LIBRARY"):
        return Path(env["PHOTOSEARCH_LIBRARY"]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("photosearch", appauthor=False))


def cache_location(env: Mapping[str, str] | None = None) -> Path:
    """The machine's cache of what is derived from models alone, shared by every library
    (the towers as ONNX files): $PHOTOSEARCH_CACHE, else the user cache folder."""
    env = os.environ if env is None else env
    if env.get("PHOTOSEARCH_CACHE"):
        return Path(env["PHOTOSEARCH_CACHE"]).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("photosearch", appauthor=False))
