"""Which analyzer, at which version, has looked at each image (the analyses table), and
the records analyzers write to tables of their own, in the transaction of the batch
they belong to.

An analyzer (indexer/analyzers/) hands its records to the store with a writer: a function
that, inside the caller's transaction, replaces the records of some images with new ones
(None: removes them). The store keeps the bookkeeping; what the records are is the
writer's business, and its tables, like every table, are Alembic's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.orm import Session

from retrieval.records import Analyzed
from retrieval.store.base import LIVE, StoreBase, chunks, now
from retrieval.store.models import STATUS_OK, Analysis, Image

# Inside the caller's transaction: replace these images' records with these (None:
# remove them).
AnalysisWriter = Callable[[Session, Sequence[tuple[int, Any]]], None]
# The analysis every indexed image has: its CLIP vectors, written with its row.
CLIP = "clip"
CLIP_VERSION = 1


def record_analyses(
    s: Session,
    rows: Sequence[tuple[int, Analyzed]],
    writers: Mapping[str, AnalysisWriter],
) -> None:
    """In the caller's transaction: each (image, outcome) recorded, and the outcome's
    records written by its analyzer's writer (a failure removes the image's old ones)."""
    by_analyzer: dict[str, list[tuple[int, Analyzed]]] = {}
    for image_id, outcome in rows:
        by_analyzer.setdefault(outcome.analyzer, []).append((image_id, outcome))
    stamp = now()
    for name, group in by_analyzer.items():
        ids = [i for i, _ in group]
        for chunk in chunks(ids):
            s.execute(
                delete(Analysis).where(
                    Analysis.analyzer == name, Analysis.image_id.in_(chunk)
                )
            )
        writer = writers.get(name)
        if writer is not None:
            writer(s, [(i, o.output if o.error is None else None) for i, o in group])
        s.execute(
            insert(Analysis),
            [
                {
                    "image_id": i,
                    "analyzer": name,
                    "version": o.version,
                    "analyzed_at": stamp,
                    "error": o.error,
                }
                for i, o in group
            ],
        )


def forget_analyses(s: Session, ids: Sequence[int]) -> None:
    """In the caller's transaction: no analyzer has looked at these images (their
    content changed, or they failed to decode)."""
    for chunk in chunks(list(ids)):
        s.execute(delete(Analysis).where(Analysis.image_id.in_(chunk)))


class AnalysesMixin(StoreBase):
    def pending_analyses(
        self,
        analyzer: str,
        version: int,
        limit: int,
        *,
        videos: bool = True,
        after: int = 0,
    ) -> list[tuple[int, str]]:
        """(id, path) of at most `limit` searchable images with ids above `after`, by
        id, that `analyzer` at `version` has not looked at: no row for it, or one of an
        older version. A failure at this version is not retried (the file must change
        first). `videos`: whether videos are the analyzer's to look at."""
        done = and_(
            Analysis.image_id == Image.id,
            Analysis.analyzer == analyzer,
            Analysis.version >= version,
        )
        query = (
            select(Image.id, Image.path)
            .where(
                Image.status == STATUS_OK,
                Image.id > after,
                LIVE,
                ~select(Analysis.image_id).where(done).exists(),
            )
            .order_by(Image.id)
            .limit(limit)
        )
        if not videos:
            query = query.where(Image.duration.is_(None))
        with self.session() as s:
            return [(int(i), str(p)) for i, p in s.execute(query)]

    def write_analyses(
        self,
        rows: Sequence[tuple[int, Analyzed]],
        writers: Mapping[str, AnalysisWriter],
    ) -> None:
        """Outcomes for images already in the library (one transaction): an analyzer
        added to a library, catching up."""
        with self.session() as s:
            # An image may have gone meanwhile: its outcomes go with it.
            present: set[int] = set()
            for chunk in chunks(sorted({i for i, _ in rows})):
                present.update(s.scalars(select(Image.id).where(Image.id.in_(chunk))))
            record_analyses(s, [(i, o) for i, o in rows if i in present], writers)

    def analysed(self, image_id: int, analyzer: str) -> bool:
        """Whether `analyzer` has looked at this image, and not failed."""
        with self.session() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(Analysis)
                    .where(
                        Analysis.image_id == image_id,
                        Analysis.analyzer == analyzer,
                        Analysis.error.is_(None),
                    )
                )
                or 0
            ) > 0

    def analysis_counts(self) -> dict[str, tuple[int, int]]:
        """For each analyzer that has looked at any searchable image: (how many it
        analysed, how many of those failed)."""
        query = (
            # count() of a column counts the rows where it is not null: the failures.
            select(Analysis.analyzer, func.count(), func.count(Analysis.error))
            .join(Image, Image.id == Analysis.image_id)
            .where(Image.status == STATUS_OK, LIVE)
            .group_by(Analysis.analyzer)
        )
        with self.session() as s:
            return {str(a): (int(n), int(f or 0)) for a, n, f in s.execute(query)}

    def analysis_failures(self) -> list[tuple[int, str, str, str]]:
        """(id, path, analyzer, why) of every searchable image an analyzer failed on."""
        query = (
            select(Image.id, Image.path, Analysis.analyzer, Analysis.error)
            .join(Analysis, Analysis.image_id == Image.id)
            .where(Analysis.error.is_not(None), Image.status == STATUS_OK, LIVE)
            .order_by(Image.path, Analysis.analyzer)
        )
        with self.session() as s:
            return [(int(i), str(p), str(a), str(e)) for i, p, a, e in s.execute(query)]
