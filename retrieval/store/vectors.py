"""Reading the stored vectors, and the ids that a filter leaves; writing a wide photo's
other views (the views analyzer's records)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime

import numpy as np
from sqlalchemy import (
    func,
    null,
    select,
    update,
)
from sqlalchemy.orm import Session

from retrieval.errors import NotFoundError
from retrieval.records import FloatArray, IdArray
from retrieval.store.base import (
    IS_VIDEO,
    LIVE,
    StoreBase,
    chunks,
    path_under,
    searchable_vectors,
    stored_moments,
    views_blob,
    with_views,
)
from retrieval.store.generation import bump_generation
from retrieval.store.models import (
    Embedding,
    Image,
)
from retrieval.vectors import STORED_DTYPE, from_blobs, times_blob, to_blob

log = logging.getLogger(__name__)


class VectorsMixin(StoreBase):
    def vectors(self, ids: Sequence[int], dim: int) -> FloatArray:
        """Searchable vectors of `ids`, in that order; NotFoundError if one has none."""
        found, vectors = self.vectors_found(ids, dim)
        row = {int(i): n for n, i in enumerate(found)}
        missing = [i for i in ids if i not in row]
        if missing:
            raise NotFoundError(
                f"no vector for image ids {missing[:5]}: run `photosearch index`"
            )
        return vectors[[row[i] for i in ids]].reshape(len(ids), dim)

    def vectors_found(
        self, ids: Sequence[int], dim: int, *, views: bool = False
    ) -> tuple[IdArray, FloatArray]:
        """The searchable vectors among `ids` (ids without one, or in the trash, are left
        out): (their ids, ascending, and their vectors); `views`: as the index holds them,
        with wide photos' other views."""
        with self.session() as s:
            return searchable_vectors(s, ids, dim, views=views)

    def iter_vectors(
        self, dim: int, chunk: int = 20_000, *, views: bool = False
    ) -> Iterator[tuple[IdArray, FloatArray]]:
        """Every searchable vector (not in the trash), in id order, a chunk of photos at a
        time; `views`: with each wide photo's other views, as the index holds them (the
        FAISS rebuild reads this)."""
        last = -1
        # The views column only when asked: a wide photo's views outweigh its vector.
        extra = Embedding.views if views else null()
        while True:
            with self.session() as s:
                rows = s.execute(
                    select(Embedding.image_id, Embedding.vector, extra, IS_VIDEO)
                    .join(Image)
                    .where(Embedding.image_id > last, LIVE)
                    .order_by(Embedding.image_id)
                    .limit(chunk)
                ).all()
            if not rows:
                return
            ids = np.fromiter(
                (r.image_id for r in rows), dtype=np.int64, count=len(rows)
            )
            if views:
                yield with_views(ids.tolist(), [(r[1], r[2], r[3]) for r in rows], dim)
            else:
                yield ids, from_blobs([r.vector for r in rows], dim)
            last = int(ids[-1])

    def entry_count(self, dim: int) -> int:
        """How many entries the index holds for the searchable photos: one each, plus
        their other views."""
        with self.session() as s:
            photos, view_bytes = s.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(func.length(Embedding.views)), 0),
                )
                .select_from(Embedding)
                .join(Image)
                .where(LIVE)
            ).one()
        return int(photos) + int(view_bytes) // (dim * np.dtype(STORED_DTYPE).itemsize)

    def views_of(self, ids: Sequence[int], dim: int) -> list[FloatArray | None]:
        """The other views of each of `ids` (None: it has none), in that order."""
        found: dict[int, bytes | None] = {}
        with self.session() as s:
            for part in chunks(ids):
                query = select(Embedding.image_id, Embedding.views).where(
                    Embedding.image_id.in_(part)
                )
                found.update({row.image_id: row.views for row in s.execute(query)})
        return [views_blob(found.get(int(i)), dim) for i in ids]

    def times_of(self, ids: Sequence[int]) -> list[FloatArray | None]:
        """Each of `ids`' moment times, its own vector's first (None: not a video)."""
        found: dict[int, bytes | None] = {}
        with self.session() as s:
            for part in chunks(ids):
                query = select(Embedding.image_id, Embedding.times).where(
                    Embedding.image_id.in_(part)
                )
                found.update({row.image_id: row.times for row in s.execute(query)})
        return [times_blob(found.get(int(i))) for i in ids]

    def moments(self, video: int, dim: int) -> tuple[FloatArray, FloatArray]:
        """A video's moments: (their seconds, their vectors), the video's own vector
        first; NotFoundError for an id that is not an indexed video."""
        with self.session() as s:
            row = s.execute(
                select(Embedding.vector, Embedding.views, Embedding.times).where(
                    Embedding.image_id == video
                )
            ).one_or_none()
        if row is None or row.times is None:
            raise NotFoundError(f"no indexed video with id {video}")
        return stored_moments(row.vector, row.views, row.times, dim)

    def ids_under(self, prefix: str) -> IdArray:
        query = (
            select(Embedding.image_id)
            .join(Image)
            .where(path_under(Image.path, [prefix]), LIVE)
        )
        with self.session() as s:
            return np.fromiter(s.scalars(query), dtype=np.int64)

    def ids_taken(self, after: datetime | None, before: datetime | None) -> IdArray:
        """Images whose EXIF date is in [after, before); undated ones are left out."""
        query = (
            select(Embedding.image_id)
            .join(Image)
            .where(Image.taken_at.is_not(None), LIVE)
        )
        if after is not None:
            query = query.where(Image.taken_at >= after)
        if before is not None:
            query = query.where(Image.taken_at < before)
        with self.session() as s:
            return np.fromiter(s.scalars(query), dtype=np.int64)


def replace_views(s: Session, rows: Sequence[tuple[int, FloatArray | None]]) -> None:
    """In the caller's transaction: these photos' other views (None or none: only their
    own vector), logged as a change of their vectors so that every index follows. A
    video's other moments share the column and are not views: they are left alone."""
    changed: list[int] = []
    for image_id, views in rows:
        query = update(Embedding).where(
            Embedding.image_id == image_id, Embedding.times.is_(None)
        )
        if views is None or not len(views):
            query = query.where(Embedding.views.is_not(None)).values(views=None)
        else:
            query = query.values(views=to_blob(views))
        if s.execute(query).rowcount:  # type: ignore[attr-defined]
            changed.append(image_id)
    if changed:
        bump_generation(s, changed)
