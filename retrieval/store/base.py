"""The store's connection to its database, and the helpers every part of it shares."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self, TypeVar

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Engine,
    false,
    make_url,
    null,
    or_,
    select,
)
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from retrieval.errors import LibraryError, first_line
from retrieval.index.ids import entries
from retrieval.records import FloatArray, IdArray, ImageMeta
from retrieval.store import engine as db
from retrieval.store.models import Embedding, Image
from retrieval.store.schema import DATABASE_NAME
from retrieval.vectors import STORED_DTYPE, TIMES_DTYPE, from_blobs

log = logging.getLogger(__name__)


# Values per `IN (...)`: far below SQLite's limit on bound parameters.
IN_CHUNK = 500


_T = TypeVar("_T")


def chunks(items: Sequence[_T]) -> Iterator[list[_T]]:
    for start in range(0, len(items), IN_CHUNK):
        yield list(items[start : start + IN_CHUNK])


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


LIVE = Image.trashed_at.is_(None)  # SQL condition: the image is not in the trash
# SQL column: whether an embedding is a video's (its other vectors are moments).
IS_VIDEO = Embedding.times.is_not(None)


def searchable_vectors(
    s: Session, ids: Sequence[int], dim: int, *, views: bool = False
) -> tuple[IdArray, FloatArray]:
    """Inside the caller's transaction: the vectors among `ids` that search can return
    (ids without one, or in the trash, are left out), ids ascending. `views`: each wide
    photo's other views too, as the index holds them (see retrieval.index.ids)."""
    found: dict[int, tuple[bytes, bytes | None, bool]] = {}
    # The views column only when asked: a wide photo's views outweigh its vector.
    extra = Embedding.views if views else null()
    for chunk in chunks(ids):
        query = (
            select(Embedding.image_id, Embedding.vector, extra, IS_VIDEO)
            .join(Image)
            .where(Embedding.image_id.in_(chunk), LIVE)
        )
        found.update({row[0]: (row[1], row[2], row[3]) for row in s.execute(query)})
    order = sorted(found)
    rows = [found[i] for i in order]
    return (
        with_views(order, rows, dim)
        if views
        else (
            np.array(order, dtype=np.int64),
            from_blobs([row[0] for row in rows], dim),
        )
    )


def with_views(
    ids: Sequence[int], rows: Sequence[tuple[bytes, bytes | None, bool]], dim: int
) -> tuple[IdArray, FloatArray]:
    """Index entries of stored (vector, views, is a video) rows: see
    retrieval.index.ids.entries."""
    return entries(
        list(ids),
        from_blobs([row[0] for row in rows], dim),
        [views_blob(row[1], dim) for row in rows],
        [bool(row[2]) for row in rows],
    )


def stored_moments(
    vector: bytes, views: bytes | None, times: bytes, dim: int
) -> tuple[FloatArray, FloatArray]:
    """A video's stored moments: (their seconds, their vectors), its own vector's first."""
    vectors = from_blobs([vector], dim)
    others = views_blob(views, dim)
    if others is not None:
        vectors = np.concatenate([vectors, others])
    return np.frombuffer(times, dtype=TIMES_DTYPE).astype(np.float32), vectors


def views_blob(blob: bytes | None, dim: int) -> FloatArray | None:
    """The views stored in one row's blob, one row each (None when it has none)."""
    if not blob:
        return None
    return np.frombuffer(blob, dtype=STORED_DTYPE).reshape(-1, dim).astype(np.float32)


def path_under(
    column: InstrumentedAttribute[str], prefixes: Sequence[str]
) -> ColumnElement[bool]:
    """SQL condition: the path is one of `prefixes` or lies below one of them (none:
    false, not the empty OR that SQL reads as no condition at all)."""
    conditions: list[ColumnElement[bool]] = [false()]
    for prefix in prefixes:
        base = prefix.rstrip(os.sep) or os.sep
        conditions.append(column == base)
        conditions.append(
            column.startswith(base.rstrip(os.sep) + os.sep, autoescape=True)
        )
    return or_(*conditions)


def meta_of(row: Image) -> ImageMeta:
    return ImageMeta(
        image_id=row.id,
        path=row.path,
        size=row.size,
        mtime_ns=row.mtime_ns,
        content_hash=row.content_hash,
        width=row.width,
        height=row.height,
        taken_at=row.taken_at,
        status=row.status,
        error=row.error,
        trashed_at=row.trashed_at,
        duration=row.duration,
    )


def _make_folder(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LibraryError(
            f"cannot create library directory {root}: {exc.strerror}; "
            "pass a writable --library"
        ) from None


def _needs_upgrade(engine: Engine, where: str) -> bool:
    """Whether the schema must be brought to the newest revision: not when it is there
    (the common case, checked once, without Alembic's import); LibraryError for a
    schema from a newer photosearch, which is not for this one to touch."""
    try:
        if db.is_current(engine):
            return False
        revision = db.revision_of(engine)
    except (DatabaseError, OperationalError):
        return True  # a damaged file: the upgrade says so
    if revision is not None and revision not in db.known_revisions():
        engine.dispose()
        raise LibraryError(
            f"the library database {where} was made by a newer photosearch (schema "
            f"{revision}): upgrade photosearch to open it"
        )
    return True


def _server_engine(url: str, root: Path, *, create: bool) -> Engine:
    """The engine of a library kept in a database server, reached, checked (ours or
    empty, not newer) and migrated; every failure a one-line LibraryError."""
    try:
        engine = db.make_engine(url)
        shown = engine.url.render_as_string(hide_password=True)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise LibraryError(
            f"--database {redact(url)} is not a database URL photosearch can use "
            f"({first_line(exc, 120)}): give postgresql+psycopg://USER:PASSWORD@HOST/DB"
        ) from None
    try:
        revision = db.revision_of(engine)
        tables = db.foreign_tables(engine) if revision is None else []
    except (DatabaseError, OperationalError, InterfaceError) as exc:
        engine.dispose()
        reason = first_line(getattr(exc, "orig", None) or exc, 200)
        raise LibraryError(
            f"cannot reach the library database {shown}: {reason}; check the URL "
            "(--database, $PHOTOSEARCH_DATABASE) and that the server runs"
        ) from None
    if revision is None and tables:
        engine.dispose()
        raise LibraryError(
            f"the database {shown} holds tables that are not a photosearch library's "
            f"({', '.join(tables[:5])}): give an empty database of its own"
        )
    if revision is None and not create:
        engine.dispose()
        raise LibraryError(
            f"no photosearch library in the database {shown}: run `photosearch index "
            "DIR` first, or pass the right --database"
        )
    if not _needs_upgrade(engine, shown):
        return engine
    try:
        db.upgrade(engine)
    except (DatabaseError, OperationalError) as exc:
        engine.dispose()
        raise LibraryError(
            f"cannot set up the library database {shown}: "
            f"{first_line(exc.orig or exc, 200)}"
        ) from None
    return engine


def redact(url: str) -> str:
    """A database URL fit to show: its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001  # not even a URL: nothing in it is shown
        return "(the URL given)"


class StoreBase:
    def __init__(self, engine: Engine, root: Path) -> None:
        self.engine = engine
        self.root = root

    @classmethod
    def open(cls, root: Path, *, create: bool, database: str | None = None) -> Self:
        """Open the library in directory `root` (its tables in SQLite there, or in the
        `database` URL's), migrating its schema to the newest."""
        root = root.expanduser().absolute()
        if database is not None:
            if create:
                _make_folder(root)
            return cls(_server_engine(database, root, create=create), root)
        path = root / DATABASE_NAME
        if not path.exists():
            if not create:
                raise LibraryError(
                    f"no photosearch library at {root}: run `photosearch index DIR` first, "
                    "or pass the right --library"
                )
            _make_folder(root)
        elif not os.access(path, os.R_OK):
            raise LibraryError(f"cannot read {path}: fix its permissions")
        engine = db.make_engine(path)
        if not _needs_upgrade(engine, str(path)):
            return cls(engine, root)
        try:
            db.upgrade(engine)
        except (DatabaseError, OperationalError) as exc:
            engine.dispose()
            raise LibraryError(
                f"cannot open the library database {path}: {exc.orig}; "
                "if it is damaged, move it away and index again"
            ) from None
        return cls(engine, root)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine) as session, session.begin():
            yield session
