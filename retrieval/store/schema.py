"""What a library's database is called and which schema revision is the newest, known
without SQLAlchemy or Alembic (a cold query reads a few rows and cannot afford either's
import)."""

from __future__ import annotations

import re
import sqlite3

from retrieval.resources import migrations_dir

DATABASE_NAME = "library.db"

_REVISION = re.compile(
    r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:['\"]([^'\"]+)['\"]|None)",
    re.MULTILINE,
)


def quick_head() -> str | None:
    """The newest revision, read from the migration files' own lines. Any doubt gives
    None, and then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (migrations_dir() / "versions").glob("*.py"):
        fields = dict(_REVISION.findall(script.read_text("utf-8")))
        if "revision" not in fields or "down_revision" not in fields:
            return None
        revisions.add(fields["revision"])
        if fields["down_revision"]:
            parents.add(fields["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_current(connection: sqlite3.Connection) -> bool:
    """The database's schema is at the newest revision (checked without Alembic)."""
    head = quick_head()
    if head is None:
        return False
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return False
    return [row[0] for row in rows] == [head]
