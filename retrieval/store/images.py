"""Image rows: what the library knows of each file, and moving, touching, removing them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    delete,
    func,
    select,
    update,
)

from retrieval.errors import NotFoundError
from retrieval.records import FileStamp, FileState, ImageMeta
from retrieval.store.base import (
    LIVE,
    chunks,
    meta_of,
    now,
    path_under,
)
from retrieval.store.generation import GenerationMixin
from retrieval.store.models import (
    STATUS_FAILED,
    STATUS_OK,
    Embedding,
    Image,
    LabelSet,
)

log = logging.getLogger(__name__)


class ImagesMixin(GenerationMixin):
    def file_states(self, under: Sequence[str] | None = None) -> dict[str, FileState]:
        query = select(
            Image.id,
            Image.path,
            Image.size,
            Image.mtime_ns,
            Image.content_hash,
            Image.status,
        )
        query = query.where(LIVE)
        if under is not None:
            query = query.where(path_under(Image.path, under))
        with self.session() as s:
            return {
                row.path: FileState(
                    row.id,
                    FileStamp(row.path, row.size, row.mtime_ns, row.content_hash),
                    row.status,
                )
                for row in s.execute(query)
            }

    def ids_without_vector(self) -> list[int]:
        """Images recorded as fine whose vector is gone (after a model change)."""
        query = (
            select(Image.id)
            .outerjoin(Embedding)
            .where(Image.status == STATUS_OK, Embedding.image_id.is_(None), LIVE)
        )
        with self.session() as s:
            return list(s.scalars(query))

    def images_with_hashes(
        self, hashes: Iterable[str], *, trashed: bool = False
    ) -> dict[str, int]:
        """For each of these content hashes that an image with a vector has, that image's
        id (`trashed`: among the images in the trash, else among the others)."""
        wanted = list(set(hashes))
        found: dict[str, int] = {}
        where_trash = Image.trashed_at.is_not(None) if trashed else LIVE
        with self.session() as s:
            for chunk in chunks(wanted):
                query = (
                    select(Image.content_hash, Image.id)
                    .join(Embedding)
                    .where(Image.content_hash.in_(chunk), where_trash)
                )
                found.update({row.content_hash: row.id for row in s.execute(query)})
        return found

    def meta(self, ids: Iterable[int]) -> dict[int, ImageMeta]:
        wanted = list(ids)
        out: dict[int, ImageMeta] = {}
        with self.session() as s:
            for chunk in chunks(wanted):
                for row in s.scalars(select(Image).where(Image.id.in_(chunk))):
                    out[row.id] = meta_of(row)
        return out

    def indexed(self, image_id: int) -> ImageMeta:
        """An image search can answer with: indexed without error, not in the trash;
        NotFoundError for any other id."""
        meta = self.meta([image_id]).get(image_id)
        if meta is None or meta.status != STATUS_OK or meta.trashed_at is not None:
            raise NotFoundError(f"no indexed image with id {image_id} in this library")
        return meta

    def meta_by_path(self, path: str) -> ImageMeta | None:
        with self.session() as s:
            row = s.scalar(select(Image).where(Image.path == path, LIVE))
            return meta_of(row) if row else None

    def siblings(self, prefixes: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        """For each prefix ("/photos/IMG_0001."), the searchable images whose path starts
        with it and has no further folder: (id, path), by path. A range on the path's
        index, since '/' follows '.' in every encoding."""
        found: dict[str, list[tuple[int, str]]] = {}
        with self.session() as s:
            for prefix in prefixes:
                rows = s.execute(
                    select(Image.id, Image.path)
                    .where(
                        Image.path >= prefix,
                        Image.path < prefix[:-1] + "/",
                        Image.status == STATUS_OK,
                        LIVE,
                    )
                    .order_by(Image.path)
                )
                found[prefix] = [
                    (int(i), str(p)) for i, p in rows if "/" not in p[len(prefix) :]
                ]
        return found

    def browse(
        self, offset: int, limit: int, *, oldest: bool = False
    ) -> list[ImageMeta]:
        """Indexed images, newest (or oldest) first by EXIF date (undated ones last, by
        path)."""
        taken = Image.taken_at.asc() if oldest else Image.taken_at.desc()
        query = (
            select(Image)
            .where(Image.status == STATUS_OK, LIVE)
            .order_by(taken.nulls_last(), Image.path)
            .offset(offset)
            .limit(limit)
        )
        with self.session() as s:
            return [meta_of(row) for row in s.scalars(query)]

    def counts(self) -> dict[str, int]:
        with self.session() as s:
            by_status = dict(
                s.execute(
                    select(Image.status, func.count())
                    .where(LIVE)
                    .group_by(Image.status)
                ).all()
            )
            trashed = s.scalar(
                select(func.count())
                .select_from(Image)
                .where(Image.trashed_at.is_not(None))
            )
            vectors = s.scalar(
                select(func.count()).select_from(Embedding).join(Image).where(LIVE)
            )
            label_sets = s.scalar(select(func.count()).select_from(LabelSet)) or 0
            videos, seconds = s.execute(
                select(
                    func.count(), func.coalesce(func.sum(Image.duration), 0.0)
                ).where(LIVE, Image.status == STATUS_OK, Image.duration.is_not(None))
            ).one()
        return {
            "images": int(by_status.get(STATUS_OK, 0)),
            "videos": int(videos or 0),  # among the images
            "video_seconds": int(seconds or 0),
            "failed": int(by_status.get(STATUS_FAILED, 0)),
            "vectors": int(vectors or 0),
            "trashed": int(trashed or 0),
            "label_sets": int(label_sets),
        }

    def failures(self) -> list[ImageMeta]:
        with self.session() as s:
            rows = s.scalars(
                select(Image)
                .where(Image.status == STATUS_FAILED, LIVE)
                .order_by(Image.path)
            )
            return [meta_of(r) for r in rows]

    def move(self, moves: Sequence[tuple[int, str, int, int]]) -> None:
        """Give images new paths (id, path, size, mtime_ns), keeping vectors and tags."""
        if not moves:
            return
        with self.session() as s:
            # Two phases, so that swapping two paths never trips the unique constraint;
            # the stand-in is no absolute path, and text every database takes (not NUL).
            for image_id, _, _, _ in moves:
                s.execute(
                    update(Image)
                    .where(Image.id == image_id)
                    .values(path=f"(moving) {image_id}")
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

    def remove(self, ids: Sequence[int]) -> int | None:
        """Delete images for good; returns the new generation (None if nothing changed)."""
        if not ids:
            return None
        with self.session() as s:
            for chunk in chunks(ids):
                s.execute(delete(Image).where(Image.id.in_(chunk)))
            return self._bump(s, ids)

    def trash(self, ids: Sequence[int]) -> int | None:
        """Put images whose files are gone in the trash: out of every result, their vector
        and tags kept; images without a vector (failed files) are simply deleted. Returns
        the new generation (None if nothing changed)."""
        if not ids:
            return None
        stamp = now()
        with self.session() as s:
            for chunk in chunks(ids):
                s.execute(
                    delete(Image).where(
                        Image.id.in_(chunk), Image.status == STATUS_FAILED
                    )
                )
                s.execute(
                    update(Image)
                    .where(Image.id.in_(chunk), LIVE)
                    .values(trashed_at=stamp)
                )
            return self._bump(s, ids)

    def restore(self, items: Sequence[tuple[int, str, int, int]]) -> int | None:
        """Take images out of the trash (id, path, size, mtime_ns): their file is back,
        perhaps under another name. A trashed image that held one of those paths gives way.
        Returns the new generation (None if nothing changed)."""
        if not items:
            return None
        with self.session() as s:
            # Three phases, any number of items: park the restored rows on paths nobody
            # has, drop other trashed rows still on a target path, then move in.
            for image_id, *_ in items:
                s.execute(
                    update(Image)
                    .where(Image.id == image_id)
                    .values(path=f"(restoring) {image_id}")
                )
            for chunk in chunks([path for _, path, _, _ in items]):
                s.execute(
                    delete(Image).where(
                        Image.path.in_(chunk), Image.trashed_at.is_not(None)
                    )
                )
            for image_id, path, size, mtime_ns in items:
                s.execute(
                    update(Image)
                    .where(Image.id == image_id)
                    .values(path=path, size=size, mtime_ns=mtime_ns, trashed_at=None)
                )
            return self._bump(s, [image_id for image_id, *_ in items])

    def trashed(self) -> list[ImageMeta]:
        """The images in the trash, most recently trashed first."""
        with self.session() as s:
            rows = s.scalars(
                select(Image)
                .where(Image.trashed_at.is_not(None))
                .order_by(Image.trashed_at.desc(), Image.path)
            )
            return [meta_of(r) for r in rows]

    def empty_trash(self, before: datetime | None = None) -> int:
        """Delete for good the images trashed before `before` (all, if None): returns how
        many. They are out of the index already, so the vectors' generation stays."""
        condition: ColumnElement[bool] = Image.trashed_at.is_not(None)
        if before is not None:
            condition = condition & (Image.trashed_at < before)
        with self.session() as s:
            ids = list(s.scalars(select(Image.id).where(condition)))
            for chunk in chunks(ids):
                s.execute(delete(Image).where(Image.id.in_(chunk)))
        return len(ids)
