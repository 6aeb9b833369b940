"""Image rows: what the library knows of each file, and moving, touching, removing them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    delete,
    func,
    select,
    update,
)

from retrieval.models import (
    STATUS_FAILED,
    STATUS_OK,
    Embedding,
    Image,
    LabelSet,
)
from retrieval.records import (
    FileState,
)
from retrieval.store.base import (
    chunks,
    meta_of,
    path_under,
)
from retrieval.store.generation import GenerationMixin
from retrieval.types import ImageMeta

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
        if under is not None:
            query = query.where(path_under(Image.path, under))
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
            for chunk in chunks(wanted):
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
            for chunk in chunks(wanted):
                for row in s.scalars(select(Image).where(Image.id.in_(chunk))):
                    out[row.id] = meta_of(row)
        return out

    def meta_by_path(self, path: str) -> ImageMeta | None:
        with self.session() as s:
            row = s.scalar(select(Image).where(Image.path == path))
            return meta_of(row) if row else None

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
            return [meta_of(row) for row in s.scalars(query)]

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
            return [meta_of(r) for r in rows]

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
            for chunk in chunks(ids):
                s.execute(delete(Image).where(Image.id.in_(chunk)))
            self._bump(s)
