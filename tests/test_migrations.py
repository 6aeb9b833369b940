"""Alembic owns the schema: upgrading a blank database gives exactly the models' schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from retrieval import db
from retrieval.models import Base
from retrieval.store import DATABASE_NAME, Store


def test_upgrade_blank_database_matches_models(tmp_path: Path) -> None:
    engine = db.make_engine(tmp_path / "blank.db")
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.dispose()


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    engine = db.make_engine(tmp_path / "cycle.db")
    db.upgrade(engine)
    from alembic import command

    config = db.alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    with engine.connect() as conn:
        tables = {r[0] for r in conn.exec_driver_sql("select name from sqlite_master")}
    assert "images" not in tables
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


def test_opening_a_library_applies_migrations(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "lib", create=True)
    store.close()
    with sqlite3.connect(tmp_path / "lib" / DATABASE_NAME) as conn:
        (version,) = conn.execute("select version_num from alembic_version").fetchone()
    assert version == db.head_revision()
