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


def test_each_package_says_what_it_offers() -> None:
    """Every package's __init__ has a docstring and an __all__ whose names exist; one
    that lists its modules lists all of them (a new module is not left out)."""
    import ast
    import importlib

    for init in sorted(REPO.glob("*/**/__init__.py")):
        package = init.parent
        if package.parts[len(REPO.parts)] not in (
            "retrieval",
            "indexer",
            "photosearch",
        ):
            continue
        name = ".".join(package.relative_to(REPO).parts)
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{name} says nothing about itself"
        module = importlib.import_module(name)
        listed = getattr(module, "__all__", None)
        assert listed, f"{name} has no __all__"
        children = {
            p.stem if p.is_file() else p.name
            for p in package.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__")
            or (p.is_dir() and (p / "__init__.py").exists())
        }
        if set(listed) & children:
            assert set(listed) >= children, (
                f"{name} leaves out {children - set(listed)}"
            )
        for entry in listed:
            if entry not in children:
                assert hasattr(module, entry), f"{name}.__all__ names {entry}"
