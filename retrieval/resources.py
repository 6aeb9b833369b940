"""Files the program ships besides its code: the schema migrations and the demo model's
weights. In a wheel they are package data inside `retrieval` (see pyproject.toml); in a
source checkout (an editable install) they sit at the top of the tree, in alembic/ and
data/demo/."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SOURCE_TREE = Path(__file__).resolve().parents[1]


def shipped(package: str, source: str, marker: str) -> Path:
    """The folder installed as `package`, else `source` in the source tree; `marker` is a
    file the folder must hold (a site-packages/alembic, the Alembic library itself, does
    not hold our migrations)."""
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:
        spec = None
    # The shipped folders have no __init__.py (namespace packages): their locations, not
    # importlib.resources.files, which gives a multiplexed path for those.
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / marker).exists():
            return Path(location)
    return _SOURCE_TREE / source


def migrations_dir() -> Path:
    return shipped("retrieval.migrations", "alembic", "env.py")


def demo_weights() -> Path:
    return shipped("retrieval.demo_data", "data/demo", "demo.safetensors") / (
        "demo.safetensors"
    )


def demo_vocabulary() -> Path:
    return shipped("retrieval.demo_data", "data/demo", "vocabulary.txt") / (
        "vocabulary.txt"
    )
