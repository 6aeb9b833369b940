"""What a library's database is called and which schema revision is the newest, known
without SQLAlchemy or Alembic: a cold query reads a few rows and cannot afford either's
import (about 150 ms of a query's 300)."""

from __future__ import annotations

import sqlite3

DATABASE_NAME = "library.db"

# The newest migration's revision (alembic/versions/). Alembic is the schema's only owner:
# this is a copy, which tests/test_migrations.py checks against Alembic's own head, so a
# new migration that forgets it fails the suite.
SCHEMA_HEAD = "0013"


def is_current(connection: sqlite3.Connection) -> bool:
    """The database's schema is at the newest revision (checked without Alembic)."""
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return False
    return [row[0] for row in rows] == [SCHEMA_HEAD]
