"""Alembic owns the schema: upgrading a blank database gives exactly the models' schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from retrieval.store import DATABASE_NAME, Store
from retrieval.store import engine as db
from retrieval.store.models import Base, modelled
from retrieval.store.schema import SCHEMA_HEAD


def test_upgrade_blank_database_matches_models(tmp_path: Path) -> None:
    engine = db.make_engine(tmp_path / "blank.db")
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_object": modelled}),
            Base.metadata,
        )
    assert diff == []
    # Text is matched through FTS5's trigram index, kept in step by triggers.
    with engine.connect() as conn:
        names = {r[0] for r in conn.exec_driver_sql("select name from sqlite_master")}
    assert {"text_search", "text_search_insert", "text_search_delete"} <= names
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


def test_upgrade_a_populated_0001_library_converts_vectors_to_float16(
    tmp_path: Path,
) -> None:
    import numpy as np

    from retrieval.vectors import l2_normalize

    database = tmp_path / "lib" / DATABASE_NAME
    database.parent.mkdir()
    engine = db.make_engine(database)
    db.upgrade(engine, "0001")
    vectors = l2_normalize(
        np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    )
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO library_info VALUES (1, 'm', 'w', 8, '2026-01-01 00:00:00', 1)"
        )
        for i, v in enumerate(vectors, 1):
            conn.exec_driver_sql(
                "INSERT INTO images (id, path, size, mtime_ns, status, indexed_at) "
                f"VALUES ({i}, '/p/{i}.jpg', 1, 1, 'ok', '2026-01-01 00:00:00')"
            )
            conn.exec_driver_sql(
                "INSERT INTO embeddings VALUES (?, ?)", (i, v.astype("<f4").tobytes())
            )
    engine.dispose()

    store = Store.open(tmp_path / "lib", create=False)  # migrates to the newest
    assert db.current_revision(store.engine) == db.head_revision()
    upgraded = store.vectors([1, 2, 3], 8)
    np.testing.assert_allclose(upgraded, vectors, atol=1e-3)
    with sqlite3.connect(database) as conn:
        sizes = {len(b) for (b,) in conn.execute("select vector from embeddings")}
    assert sizes == {16}  # 8 float16 values
    store.close()


def test_upgrade_a_0012_library_records_the_views_it_has(tmp_path: Path) -> None:
    """Wide photos indexed before the views became an analysis keep them, recorded as
    looked at: nothing is encoded again. A video's moments are not views."""
    database = tmp_path / "lib" / DATABASE_NAME
    database.parent.mkdir()
    engine = db.make_engine(database)
    db.upgrade(engine, "0012")
    with engine.begin() as conn:
        for i, (views, times) in enumerate(
            [(b"v" * 16, None), (None, None), (b"v" * 16, b"t" * 8)], 1
        ):
            conn.exec_driver_sql(
                "INSERT INTO images (id, path, size, mtime_ns, status, indexed_at) "
                f"VALUES ({i}, '/p/{i}.jpg', 1, 1, 'ok', '2026-01-01 00:00:00')"
            )
            conn.exec_driver_sql(
                "INSERT INTO embeddings (image_id, vector, views, times) "
                "VALUES (?, ?, ?, ?)",
                (i, b"x" * 16, views, times),
            )
    engine.dispose()
    store = Store.open(tmp_path / "lib", create=False)
    assert [i for i in (1, 2, 3) if store.analysed(i, "views")] == [1]
    store.close()


def test_quick_schema_check_agrees_with_alembic(tmp_path: Path) -> None:
    """Opening a library skips Alembic (a tenth of a second) only when the schema is at
    Alembic's own head; a library one revision behind is still migrated."""
    assert SCHEMA_HEAD == db.head_revision()
    engine = db.make_engine(tmp_path / DATABASE_NAME)
    assert not db.is_current(engine)  # no schema at all
    db.upgrade(engine, "0004")
    assert not db.is_current(engine)
    Store.open(tmp_path, create=False).close()
    assert db.current_revision(engine) == db.head_revision()
    assert db.is_current(engine)
    engine.dispose()
