"""A library's database as a cold query sees it: the handful of reads a plain search makes
(the model, the vectors' generation, the hits' records), through sqlite3 alone.

Importing SQLAlchemy takes a cold query's quarter of a second, more than the search. So a
one-shot query opens the database with `QuickStore`, which answers those reads itself and
opens the full `Store` (SQLAlchemy) only when anything else is asked of it: a filter, a
catch-up through the change log, an index rebuild. Whatever it answers, it answers as
`Store` would (tests/test_store_reader.py compares them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.records import ImageMeta, ModelInfo
from retrieval.store.schema import DATABASE_NAME, is_current

if TYPE_CHECKING:
    from retrieval.records import FloatArray
    from retrieval.text.model import TextLine

if TYPE_CHECKING:
    from retrieval.store import Store

_META_COLUMNS = (
    "id, path, size, mtime_ns, content_hash, width, height, taken_at, status, error, "
    "trashed_at, duration"
)
# SQLite's limit on bound parameters is 999 in older builds.
_CHUNK = 900


class QuickStore:
    def __init__(self, root: Path, connection: sqlite3.Connection) -> None:
        self.root = root
        self._db = connection
        self._store: Store | None = None

    @classmethod
    def open(cls, root: Path) -> QuickStore | None:
        """The library at `root` if it can be read as it is; None when it needs the full
        store to open it (missing, unreadable, or its schema is not the newest), which
        then says what is wrong or migrates it."""
        root = root.expanduser().absolute()
        database = root / DATABASE_NAME
        if not database.is_file():
            return None
        try:
            connection = sqlite3.connect(database, timeout=30, check_same_thread=False)
        except sqlite3.Error:
            return None
        if not is_current(connection):
            connection.close()
            return None
        return cls(root, connection)

    def full(self) -> Store:
        """The full store, opened on first need."""
        if self._store is None:
            from retrieval.store import Store

            self._store = Store.open(self.root, create=False)
        return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.full(), name)

    def model_info(self) -> ModelInfo | None:
        row = self._db.execute(
            "SELECT model_name, pretrained, dim FROM library_info WHERE id = 1"
        ).fetchone()
        return ModelInfo(row[0], row[1], int(row[2])) if row else None

    def generation(self) -> int:
        row = self._db.execute(
            "SELECT vectors_generation FROM library_info WHERE id = 1"
        ).fetchone()
        return int(row[0]) if row else 0

    def meta(self, ids: Iterable[int]) -> dict[int, ImageMeta]:
        wanted = [int(i) for i in ids]
        out: dict[int, ImageMeta] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT {_META_COLUMNS} FROM images WHERE id IN ({marks})", chunk
            )
            out.update((row[0], _meta(row)) for row in rows)
        return out

    def meta_by_path(self, path: str) -> ImageMeta | None:
        row = self._db.execute(
            f"SELECT {_META_COLUMNS} FROM images WHERE path = ? AND trashed_at IS NULL",
            (path,),
        ).fetchone()
        return _meta(row) if row else None

    def siblings(self, prefixes: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        found: dict[str, list[tuple[int, str]]] = {}
        for prefix in prefixes:
            rows = self._db.execute(
                "SELECT id, path FROM images WHERE path >= ? AND path < ? "
                "AND status = 'ok' AND trashed_at IS NULL ORDER BY path",
                (prefix, prefix[:-1] + "/"),
            )
            found[prefix] = [
                (int(i), str(p)) for i, p in rows if "/" not in p[len(prefix) :]
            ]
        return found

    def content_ids(self, ids: Sequence[int]) -> dict[int, str]:
        wanted = [int(i) for i in ids]
        found: dict[int, str] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT image_id, content_id FROM image_details "
                f"WHERE image_id IN ({marks}) AND content_id IS NOT NULL",
                chunk,
            )
            found.update((int(i), str(c)) for i, c in rows)
        return found

    def people_of(self, ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        wanted = sorted({int(i) for i in ids})
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows.extend(
                self._db.execute(
                    "SELECT f.image_id, f.person_id, p.name, f.box_left, f.box_top, "
                    "f.box_right, f.box_bottom, f.t FROM faces f JOIN persons p ON p.id = f.person_id "
                    f"WHERE f.image_id IN ({marks}) AND p.hidden = 0 "
                    "ORDER BY f.image_id, f.size DESC, f.id",
                    chunk,
                )
            )
        from retrieval.faces.model import people_rows

        return people_rows(rows)

    def ids_with_words(self, words: Sequence[str], least: int) -> dict[int, int]:
        from retrieval.store import text_sql

        fts = self._db.execute(text_sql.HAS_FTS).fetchone() is not None
        return text_sql.words_held(self._db.execute, words, least, fts)

    def folded_text(self, ids: Iterable[int]) -> dict[int, str]:
        from retrieval.store import text_sql

        found: dict[int, str] = {}
        for chunk in self._chunks(ids):
            rows = self._db.execute(text_sql.folded_sql(len(chunk)), chunk)
            found.update((int(i), str(f)) for i, f in rows)
        return found

    def text_of(self, ids: Iterable[int]) -> dict[int, list[TextLine]]:
        from retrieval.store import text_sql

        found: dict[int, list[TextLine]] = {}
        for chunk in self._chunks(ids):
            for image_id, said, confidence, quad, t in self._db.execute(
                text_sql.lines_sql(len(chunk)), chunk
            ):
                line = text_sql.line_of(said, confidence, quad, t)
                found.setdefault(int(image_id), []).append(line)
        return found

    def captions_of(self, ids: Iterable[int]) -> dict[int, list[str]]:
        from retrieval.store import text_sql

        found: dict[int, list[str]] = {}
        for chunk in self._chunks(ids):
            rows = self._db.execute(text_sql.captions_sql(len(chunk)), chunk * 3)
            for image_id, said in text_sql.captions(rows).items():
                found.setdefault(image_id, []).extend(said)
        return found

    def unlooked(self, analyzer: str) -> tuple[int, int]:
        from retrieval.store.analyses import UNLOOKED_SQL

        pending, total = self._db.execute(UNLOOKED_SQL, (analyzer,)).fetchone()
        return int(pending or 0), int(total or 0)

    @staticmethod
    def _chunks(ids: Iterable[int]) -> list[list[int]]:
        wanted = sorted({int(i) for i in ids})
        return [wanted[n : n + _CHUNK] for n in range(0, len(wanted), _CHUNK)]

    def moments(self, video: int, dim: int) -> tuple[FloatArray, FloatArray]:
        row = self._db.execute(
            "SELECT vector, views, times FROM embeddings WHERE image_id = ?", (video,)
        ).fetchone()
        if row is None or row[2] is None:
            return self.full().moments(video, dim)  # says what is wrong, as Store does
        from retrieval.store.base import stored_moments

        return stored_moments(row[0], row[1], row[2], dim)

    def close(self) -> None:
        self._db.close()
        if self._store is not None:
            self._store.close()


def _meta(row: tuple[Any, ...]) -> ImageMeta:
    return ImageMeta(
        image_id=row[0],
        path=row[1],
        size=row[2],
        mtime_ns=row[3],
        content_hash=row[4],
        width=row[5],
        height=row[6],
        taken_at=_when(row[7]),
        status=row[8],
        error=row[9],
        trashed_at=_when(row[10]),
        duration=row[11],
    )


def _when(value: str | None) -> datetime | None:
    """A DateTime column as SQLAlchemy's SQLite dialect writes it (ISO, space-separated)."""
    return datetime.fromisoformat(value) if value is not None else None
