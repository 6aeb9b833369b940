"""The package as built: every module listed, the migrations and the demo weights shipped.
(`.ci/wheel-check` builds the wheel and runs the demo from a fresh virtualenv.)"""

from __future__ import annotations

import tomllib
from typing import Any

from setuptools import find_packages

from retrieval.resources import demo_vocabulary, demo_weights, migrations_dir
from tests.conftest import REPO

SHIPPED = {
    "retrieval.migrations",
    "retrieval.migrations.versions",
    "retrieval.demo_data",
}


def config() -> dict[str, Any]:
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]


def test_every_package_of_the_tree_is_listed() -> None:
    found = set(find_packages(REPO, include=["retrieval*", "indexer*", "photosearch*"]))
    assert set(config()["packages"]) == found | SHIPPED


def test_shipped_folders_are_the_ones_the_program_reads() -> None:
    dirs = config()["package-dir"]
    assert (REPO / dirs["retrieval.migrations"]).resolve() == migrations_dir().resolve()
    assert (
        REPO / dirs["retrieval.demo_data"]
    ).resolve() == demo_weights().parent.resolve()
    versions = sorted(p.name for p in (migrations_dir() / "versions").glob("0*.py"))
    assert versions[0].startswith("0001") and len(versions) >= 3
    assert demo_weights().stat().st_size > 1_000_000
    data = config()["package-data"]
    assert data["retrieval.demo_data"] == [
        demo_weights().name,
        demo_vocabulary().name,
    ]
    assert demo_vocabulary().parent == demo_weights().parent
