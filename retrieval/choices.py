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
