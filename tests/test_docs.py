"""The README and ARCHITECTURE.md point at what exists: their links resolve, and every
module or folder ARCHITECTURE.md names is in the tree (the manual in docs/ is checked by
its strict MkDocs build, `make docs`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["README.md", "ARCHITECTURE.md"])
def test_relative_links_resolve(name: str) -> None:
    text = (REPO / name).read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert local, "no links found: the pattern is wrong"
    missing = [t for t in local if not (REPO / t).exists()]
    assert not missing, f"{name} links to what is not there: {missing}"


def test_the_paths_architecture_names_exist() -> None:
    text = (REPO / "ARCHITECTURE.md").read_text()
    named = set(
        re.findall(r"`((?:retrieval|indexer|photosearch|tests|alembic)/[\w/.]*)`", text)
    )
    assert len(named) > 10, named
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert not missing, f"ARCHITECTURE.md names what is not in the tree: {missing}"
