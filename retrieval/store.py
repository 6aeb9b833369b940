"""The library's SQLite store: images, their vectors, the model, label sets and tags.

Vectors in SQLite are the source of truth; the FAISS index is rebuilt from them. Each write
method is one transaction, so a batch lands whole or not at all.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Engine,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Session

from retrieval import db
from retrieval.errors import LibraryError, NotFoundError, UsageError
from retrieval.faults import checkpoint
from retrieval.models import (
    STATUS_FAILED,
    STATUS_OK,
    Embedding,
    Image,
    ImageTag,
    Label,
    LabelSet,
    LibraryInfo,
)
from retrieval.records import (
    EncodedFile,
    FailedFile,
    FileState,
    LabelSetRecord,
    TagRecord,
    TagScores,
)
from retrieval.types import FloatArray, IdArray, ImageMeta, ModelInfo
from retrieval.vectors import from_blobs, to_blob

log = logging.getLogger(__name__)

DATABASE_NAME = "library.db"


# Values per `IN (...)`: far below SQLite's limit on bound parameters.
_IN_CHUNK = 500


_T = TypeVar("_T")


def _chunks(items: Sequence[_T]) -> Iterator[list[_T]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield list(items[start : start + _IN_CHUNK])


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _under(
    column: InstrumentedAttribute[str], prefixes: Sequence[str]
) -> ColumnElement[bool]:
    """SQL condition: the path is one of `prefixes` or lies below one of them."""
    conditions = []
    for prefix in prefixes:
        base = prefix.rstrip(os.sep) or os.sep
        conditions.append(column == base)
        conditions.append(
            column.startswith(base.rstrip(os.sep) + os.sep, autoescape=True)
        )
    return or_(*conditions)


def check_label_set_name(name: str) -> None:
    """A name the page and the API can put in a URL: no slash or backslash, no control
    characters, not blank, not "." or ".."."""
    bad = [c for c in name if c in "/\\" or ord(c) < 0x20 or ord(c) == 0x7F]
    if bad or not name.strip() or name.strip() in (".", ".."):
        raise UsageError(
            f"label set name {name!r} cannot be used: give a name without slashes or "
            "control characters, not blank, '.' or '..'"
        )


class Store:
    def __init__(self, engine: Engine, root: Path) -> None:
        self.engine = engine
        self.root = root
        # The generation this process's last vector-changing transaction committed.
        self.last_generation = -1

    @classmethod
    def open(cls, root: Path, *, create: bool) -> Store:
        """Open the library in directory `root`, migrating its schema to the newest."""
        root = root.expanduser().absolute()
        database = root / DATABASE_NAME
        if not database.exists():
            if not create:
                raise LibraryError(
                    f"no photosearch library at {root}: run `photosearch index DIR` first, "
                    "or pass the right --library"
                )
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LibraryError(
                    f"cannot create library directory {root}: {exc.strerror}; "
                    "pass a writable --library"
                ) from None
        elif not os.access(database, os.R_OK):
            raise LibraryError(f"cannot read {database}: fix its permissions")
        engine = db.make_engine(database)
        try:
            db.upgrade(engine)
        except (DatabaseError, OperationalError) as exc:
            engine.dispose()
            raise LibraryError(
                f"cannot open the library database {database}: {exc.orig}; "
                "if it is damaged, move it away and index again"
            ) from None
        return cls(engine, root)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine) as session, session.begin():
            yield session

    # --- the model -------------------------------------------------------------------

    def model_info(self) -> ModelInfo | None:
        with self.session() as s:
            row = s.get(LibraryInfo, 1)
            return ModelInfo(row.model_name, row.pretrained, row.dim) if row else None

    def set_model(self, info: ModelInfo) -> None:
        """Record the model; with a different one, every old vector is dropped in the same
        transaction, since vectors of two models must never mix."""
        with self.session() as s:
            row = s.get(LibraryInfo, 1)
            if row is None:
                s.add(
                    LibraryInfo(
                        id=1,
                        model_name=info.name,
                        pretrained=info.pretrained,
                        dim=info.dim,
                        created_at=_now(),
                        vectors_generation=1,
                    )
                )
                return
            if ModelInfo(row.model_name, row.pretrained, row.dim) != info:
                s.execute(delete(Embedding))
                s.execute(delete(ImageTag))
                row.model_name, row.pretrained, row.dim = (
                    info.name,
                    info.pretrained,
                    info.dim,
                )
                row.vectors_generation += 1

    def generation(self) -> int:
        with self.session() as s:
            row = s.get(LibraryInfo, 1)
            return row.vectors_generation if row else 0

    def _bump(self, s: Session) -> None:
        """Advance the vectors' generation inside the caller's transaction. Since the update
        is atomic, the generation before it was exactly one less (see `last_generation`)."""
        self.last_generation = int(
            s.execute(
                update(LibraryInfo)
                .where(LibraryInfo.id == 1)
                .values(vectors_generation=LibraryInfo.vectors_generation + 1)
                .returning(LibraryInfo.vectors_generation)
            ).scalar_one()
        )

    # --- reading ---------------------------------------------------------------------

    def file_states(self, under: Sequence[str] | None = None) -> dict[str, FileState]:
        query = select(
            Image.id,
            Image.path,
            Image.size,
            Image.mtime_ns,
            Image.content_hash,
            Image.status,
        )
        if under is not None:
            query = query.where(_under(Image.path, under))
        with self.session() as s:
            return {row.path: FileState(*row) for row in s.execute(query)}

    def ids_without_vector(self) -> list[int]:
        """Images recorded as fine whose vector is gone (after a model change)."""
        query = (
            select(Image.id)
            .outerjoin(Embedding)
            .where(Image.status == STATUS_OK, Embedding.image_id.is_(None))
        )
        with self.session() as s:
            return list(s.scalars(query))

    def images_with_hashes(self, hashes: Iterable[str]) -> dict[str, int]:
        """For each of these content hashes that an image with a vector has, that image's id."""
        wanted = list(set(hashes))
        found: dict[str, int] = {}
        with self.session() as s:
            for chunk in _chunks(wanted):
                query = (
                    select(Image.content_hash, Image.id)
                    .join(Embedding)
                    .where(Image.content_hash.in_(chunk))
                )
                found.update({row.content_hash: row.id for row in s.execute(query)})
        return found

    def meta(self, ids: Iterable[int]) -> dict[int, ImageMeta]:
        wanted = list(ids)
        out: dict[int, ImageMeta] = {}
        with self.session() as s:
            for chunk in _chunks(wanted):
                for row in s.scalars(select(Image).where(Image.id.in_(chunk))):
                    out[row.id] = _meta(row)
        return out

    def meta_by_path(self, path: str) -> ImageMeta | None:
        with self.session() as s:
            row = s.scalar(select(Image).where(Image.path == path))
            return _meta(row) if row else None

    def vectors(self, ids: Sequence[int], dim: int) -> FloatArray:
        """Vectors of `ids`, in that order."""
        found: dict[int, bytes] = {}
        with self.session() as s:
            for chunk in _chunks(ids):
                query = select(Embedding.image_id, Embedding.vector).where(
                    Embedding.image_id.in_(chunk)
                )
                found.update({row.image_id: row.vector for row in s.execute(query)})
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(
                f"no vector for image ids {missing[:5]}: run `photosearch index`"
            )
        return from_blobs([found[i] for i in ids], dim)

    def iter_vectors(
        self, dim: int, chunk: int = 20_000
    ) -> Iterator[tuple[IdArray, FloatArray]]:
        """Every vector, in id order, a chunk at a time (the FAISS rebuild reads this)."""
        last = -1
        while True:
            with self.session() as s:
                rows = s.execute(
                    select(Embedding.image_id, Embedding.vector)
                    .where(Embedding.image_id > last)
                    .order_by(Embedding.image_id)
                    .limit(chunk)
                ).all()
            if not rows:
                return
            ids = np.fromiter(
                (r.image_id for r in rows), dtype=np.int64, count=len(rows)
            )
            yield ids, from_blobs([r.vector for r in rows], dim)
            last = int(ids[-1])

    def ids_under(self, prefix: str) -> IdArray:
        query = (
            select(Embedding.image_id).join(Image).where(_under(Image.path, [prefix]))
        )
        with self.session() as s:
            return np.fromiter(s.scalars(query), dtype=np.int64)

    def ids_tagged(self, label: str) -> IdArray:
        with self.session() as s:
            if (
                s.scalar(
                    select(func.count()).select_from(Label).where(Label.text == label)
                )
                == 0
            ):
                known = sorted(set(s.scalars(select(Label.text))))
                hint = (
                    f"known labels: {', '.join(known)}"
                    if known
                    else "tag the library first"
                )
                raise NotFoundError(f"no label {label!r} in this library ({hint})")
            query = (
                select(ImageTag.image_id)
                .join(Label)
                .where(Label.text == label, ImageTag.assigned.is_(True))
                .distinct()
            )
            return np.fromiter(s.scalars(query), dtype=np.int64)

    def ids_taken(self, after: datetime | None, before: datetime | None) -> IdArray:
        """Images whose EXIF date is in [after, before); undated ones are left out."""
        query = (
            select(Embedding.image_id).join(Image).where(Image.taken_at.is_not(None))
        )
        if after is not None:
            query = query.where(Image.taken_at >= after)
        if before is not None:
            query = query.where(Image.taken_at < before)
        with self.session() as s:
            return np.fromiter(s.scalars(query), dtype=np.int64)

    def browse(self, offset: int, limit: int) -> list[ImageMeta]:
        """Indexed images, newest first by EXIF date (undated ones last, by path)."""
        query = (
            select(Image)
            .where(Image.status == STATUS_OK)
            .order_by(Image.taken_at.desc().nulls_last(), Image.path)
            .offset(offset)
            .limit(limit)
        )
        with self.session() as s:
            return [_meta(row) for row in s.scalars(query)]

    def counts(self) -> dict[str, int]:
        with self.session() as s:
            by_status = dict(
                s.execute(
                    select(Image.status, func.count()).group_by(Image.status)
                ).all()
            )
            vectors = s.scalar(select(func.count()).select_from(Embedding)) or 0
            label_sets = s.scalar(select(func.count()).select_from(LabelSet)) or 0
        return {
            "images": int(by_status.get(STATUS_OK, 0)),
            "failed": int(by_status.get(STATUS_FAILED, 0)),
            "vectors": int(vectors),
            "label_sets": int(label_sets),
        }

    def failures(self) -> list[ImageMeta]:
        with self.session() as s:
            rows = s.scalars(
                select(Image).where(Image.status == STATUS_FAILED).order_by(Image.path)
            )
            return [_meta(r) for r in rows]

    # --- writing ---------------------------------------------------------------------

    def write_batch(
        self,
        encoded: Sequence[EncodedFile],
        failed: Sequence[FailedFile] = (),
        tags: Sequence[TagScores] = (),
    ) -> tuple[list[int], list[int]]:
        """Insert or replace these files (matched by path), with their tags (rows follow
        `encoded`), in one transaction: after a crash a file is there whole or not at all.

        Returns the image ids of `encoded` and of `failed`, in order. A replaced file keeps
        its id; its old vector and tags go, since its content changed.
        """
        now = _now()
        with self.session() as s:
            # A few statements per batch rather than per file: row-at-a-time ORM writes
            # cost more than decoding the photo did.
            rows = self._rows_for(
                s, [*(f.path for f in encoded), *(f.path for f in failed)]
            )
            for item in encoded:
                row = rows[item.path]
                row.size, row.mtime_ns, row.content_hash = (
                    item.size,
                    item.mtime_ns,
                    item.content_hash,
                )
                row.width, row.height, row.taken_at = (
                    item.width,
                    item.height,
                    item.taken_at,
                )
                row.status, row.error, row.indexed_at = STATUS_OK, None, now
            for bad in failed:
                row = rows[bad.path]
                row.size, row.mtime_ns, row.content_hash = (
                    bad.size,
                    bad.mtime_ns,
                    bad.content_hash,
                )
                row.width = row.height = None
                row.taken_at = None
                row.status, row.error, row.indexed_at = STATUS_FAILED, bad.error, now
            s.flush()
            ids = [rows[item.path].id for item in encoded]
            failed_ids = [rows[bad.path].id for bad in failed]
            for chunk in _chunks([*ids, *failed_ids]):
                s.execute(delete(ImageTag).where(ImageTag.image_id.in_(chunk)))
                s.execute(delete(Embedding).where(Embedding.image_id.in_(chunk)))
            if encoded:
                s.execute(
                    insert(Embedding),
                    [
                        {"image_id": i, "vector": to_blob(item.vector)}
                        for i, item in zip(ids, encoded, strict=True)
                    ],
                )
            for scores in tags:
                self._write_tags(s, ids, scores)
            self._bump(s)
            s.flush()
            checkpoint("before-commit")
        return ids, failed_ids

    @staticmethod
    def _rows_for(s: Session, paths: Sequence[str]) -> dict[str, Image]:
        """The rows of these paths, new ones added for paths not in the library yet."""
        rows: dict[str, Image] = {}
        for chunk in _chunks(list(dict.fromkeys(paths))):
            rows.update(
                (row.path, row)
                for row in s.scalars(select(Image).where(Image.path.in_(chunk)))
            )
        for path in paths:
            if path not in rows:
                rows[path] = Image(
                    path=path, status=STATUS_OK, size=0, mtime_ns=0, indexed_at=_now()
                )
                s.add(rows[path])
        return rows

    def move(self, moves: Sequence[tuple[int, str, int, int]]) -> None:
        """Give images new paths (id, path, size, mtime_ns), keeping vectors and tags."""
        if not moves:
            return
        with self.session() as s:
            # Two phases, so that swapping two paths never trips the unique constraint.
            for image_id, _, _, _ in moves:
                s.execute(
                    update(Image)
                    .where(Image.id == image_id)
                    .values(path=f"\0moving{image_id}")
                )
            for image_id, path, size, mtime_ns in moves:
                s.execute(
                    update(Image)
                    .where(Image.id == image_id)
                    .values(path=path, size=size, mtime_ns=mtime_ns)
                )

    def touch(self, changes: Sequence[tuple[int, int, int]]) -> None:
        """Record a new size and mtime (id, size, mtime_ns) for files whose content is the same."""
        if not changes:
            return
        with self.session() as s:
            for image_id, size, mtime_ns in changes:
                s.execute(
                    update(Image)
                    .where(Image.id == image_id)
                    .values(size=size, mtime_ns=mtime_ns)
                )

    def remove(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self.session() as s:
            for chunk in _chunks(ids):
                s.execute(delete(Image).where(Image.id.in_(chunk)))
            self._bump(s)

    # --- label sets and tags ---------------------------------------------------------

    def save_label_set(
        self, name: str, labels: Sequence[str], threshold: float, top: int
    ) -> None:
        """Create or replace the label set `name`; tags of labels it no longer has go."""
        check_label_set_name(name)
        with self.session() as s:
            row = s.scalar(select(LabelSet).where(LabelSet.name == name))
            if row is None:
                row = LabelSet(
                    name=name, threshold=threshold, top=top, created_at=_now()
                )
                s.add(row)
            row.threshold, row.top = threshold, top
            existing = {label.text: label for label in row.labels}
            row.labels = [
                existing.get(text) or Label(text=text, position=i)
                for i, text in enumerate(labels)
            ]
            for i, label in enumerate(row.labels):
                label.position = i

    def label_sets(self) -> list[LabelSetRecord]:
        with self.session() as s:
            return [
                LabelSetRecord(
                    name=row.name,
                    labels=tuple(label.text for label in row.labels),
                    label_ids=tuple(label.id for label in row.labels),
                    threshold=row.threshold,
                    top=row.top,
                )
                for row in s.scalars(select(LabelSet).order_by(LabelSet.name))
            ]

    def label_set(self, name: str) -> LabelSetRecord:
        for record in self.label_sets():
            if record.name == name:
                return record
        known = ", ".join(r.name for r in self.label_sets()) or "none yet"
        raise NotFoundError(f"no label set {name!r} (saved sets: {known})")

    def delete_label_set(self, name: str) -> None:
        self.label_set(name)
        with self.session() as s:
            s.execute(delete(LabelSet).where(LabelSet.name == name))

    def write_tags(self, image_ids: Sequence[int], tags: TagScores) -> None:
        """Store each image's score for each label of the set (rows follow `image_ids`)."""
        with self.session() as s:
            self._write_tags(s, image_ids, tags)

    @staticmethod
    def _write_tags(s: Session, image_ids: Sequence[int], tags: TagScores) -> None:
        label_ids = tags.label_set.label_ids
        for chunk in _chunks(image_ids):
            s.execute(
                delete(ImageTag).where(
                    ImageTag.image_id.in_(chunk), ImageTag.label_id.in_(label_ids)
                )
            )
        s.add_all(
            ImageTag(
                image_id=int(image_id),
                label_id=int(label_id),
                score=float(tags.scores[row, col]),
                assigned=bool(tags.assigned[row, col]),
            )
            for row, image_id in enumerate(image_ids)
            for col, label_id in enumerate(label_ids)
        )

    def tags(
        self,
        *,
        assigned_only: bool = True,
        label_set: str | None = None,
        image_id: int | None = None,
    ) -> list[TagRecord]:
        query = (
            select(
                ImageTag.image_id,
                Image.path,
                Label.text,
                LabelSet.name,
                ImageTag.score,
                ImageTag.assigned,
            )
            .join(Image, Image.id == ImageTag.image_id)
            .join(Label, Label.id == ImageTag.label_id)
            .join(LabelSet, LabelSet.id == Label.label_set_id)
            .order_by(Image.path, LabelSet.name, ImageTag.score.desc())
        )
        if assigned_only:
            query = query.where(ImageTag.assigned.is_(True))
        if label_set is not None:
            self.label_set(label_set)
            query = query.where(LabelSet.name == label_set)
        if image_id is not None:
            query = query.where(ImageTag.image_id == image_id)
        with self.session() as s:
            return [TagRecord(*row) for row in s.execute(query)]


def _meta(row: Image) -> ImageMeta:
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
    )
