"""The one engine factory, and the migrations that run whenever a library is opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

from retrieval.resources import migrations_dir
from retrieval.store import schema

BUSY_TIMEOUT_MS = 30_000


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling would defer BEGIN past our first SELECT;
    # SQLAlchemy issues BEGIN itself (see the "begin" listener).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: readers never wait for a writer, and a crash mid-commit leaves the last commit.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def make_engine(database: Path | str) -> Engine:
    """SQLite in a file (a path), or any database SQLAlchemy reaches by URL."""
    if isinstance(database, str):
        # A server's connections go stale (a restart, a NAT timeout): test each before
        # use rather than fail the batch that draws it.
        return create_engine(database, pool_pre_ping=True)
    engine = create_engine(f"sqlite:///{database}")
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def revision_of(engine: Engine) -> str | None:
    """The schema revision a database is at (None: no photosearch schema in it)."""
    from sqlalchemy import inspect, text

    with engine.connect() as connection:
        if "alembic_version" not in inspect(connection).get_table_names():
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version"))
        return found.scalar()


def foreign_tables(engine: Engine) -> list[str]:
    """Tables of something else than photosearch in a database with no photosearch
    schema: it is not ours to write into."""
    from sqlalchemy import inspect

    with engine.connect() as connection:
        return sorted(inspect(connection).get_table_names())


def alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def is_current(engine: Engine) -> bool:
    """The schema is at the newest revision (checked without Alembic)."""
    if engine.dialect.name != "sqlite":
        return revision_of(engine) == schema.SCHEMA_HEAD
    try:
        connection = engine.raw_connection()
    # A damaged file fails here already: "not current", and Alembic's upgrade reports it.
    except (DBAPIError, sqlite3.Error):
        return False
    try:
        driver = connection.driver_connection
        return driver is not None and schema.is_current(driver)
    finally:
        connection.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (normally the newest)."""
    if revision == "head" and is_current(engine):
        return
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def known_revisions() -> set[str]:
    """Every schema revision this photosearch has migrations for."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return {r.revision for r in script.walk_revisions()}


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
