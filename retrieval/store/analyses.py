"""Which analyzer, at which version, has looked at each image (the analyses table), and
the records analyzers write to tables of their own, in the transaction of the batch
they belong to.

An analyzer (indexer/analyzers/) hands its records to the store with a writer: a function
that, inside the caller's transaction, replaces the records of some images with new ones
(None: removes them). The store keeps the bookkeeping; what the records are is the
writer's business, and its tables, like every table, are Alembic's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from retrieval.records import Analyzed, Shape
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
        if name != CLIP:  # CLIP's records are the vectors, written with the image row
            writer = writers.get(name)
            if writer is None:
                # Recorded as done, its records would never be written: a bug, which
                # rolls the batch back rather than lose them silently.
                raise LookupError(f"no writer for the records of analyzer {name!r}")
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


# (searchable images `analyzer` has never looked at, searchable images): the same SQL
# for the store and the quick reader cold queries use.
UNLOOKED_SQL = (
    "SELECT sum(NOT EXISTS (SELECT 1 FROM analyses a WHERE a.image_id = i.id "
    "AND a.analyzer = ?)), count(*) FROM images i "
    "WHERE i.status = 'ok' AND i.trashed_at IS NULL"
)


class Pending(NamedTuple):
    """An image an analyzer has still to look at."""

    image_id: int
    path: str
    taken_at: datetime | None

    def newness(self) -> tuple[bool, datetime, int]:
        """Sorts the newest photo last: dated ones by date, the undated before them
        (their date unknown), then by id (the last indexed)."""
        return (self.taken_at is not None, self.taken_at or datetime.min, self.image_id)


def _due(
    analyzer: str, version: int, *, videos: bool, shape: Shape | None
) -> list[Any]:
    """The conditions on an image that `analyzer` at `version` has to look at: a
    searchable one without its row, or with one of an older version (a failure at this
    version is not retried: the file must change first)."""
    done = and_(
        Analysis.image_id == Image.id,
        Analysis.analyzer == analyzer,
        Analysis.version >= version,
    )
    conditions = [
        Image.status == STATUS_OK,
        LIVE,
        ~select(Analysis.image_id).where(done).exists(),
    ]
    if not videos:
        conditions.append(Image.duration.is_(None))
    if shape is not None:
        conditions += [
            Image.duration.is_(None),
            or_(
                Image.width >= shape.min_aspect * Image.height,
                Image.height >= shape.min_aspect * Image.width,
            ),
        ]
    return conditions


class AnalysesMixin(StoreBase):
    def pending_analyses(
        self,
        analyzer: str,
        version: int,
        limit: int,
        *,
        videos: bool = True,
        shape: Shape | None = None,
        skip: Collection[int] = (),
    ) -> list[Pending]:
        """At most `limit` images that `analyzer` at `version` has not looked at, the
        newest first (see `Pending.newness`), `skip` aside. `videos`: whether videos
        are the analyzer's to look at; `shape`: which photos are, by their size."""
        query = (
            select(Image.id, Image.path, Image.taken_at)
            .where(*_due(analyzer, version, videos=videos, shape=shape))
            .order_by(Image.taken_at.desc().nulls_last(), Image.id.desc())
            .limit(limit)
        )
        if skip:
            query = query.where(Image.id.not_in(sorted(skip)))
        with self.session() as s:
            return [Pending(int(i), str(p), t) for i, p, t in s.execute(query)]

    def pending_count(
        self,
        analyzer: str,
        version: int,
        *,
        videos: bool = True,
        shape: Shape | None = None,
    ) -> int:
        """How many images `analyzer` at `version` has still to look at."""
        query = (
            select(func.count())
            .select_from(Image)
            .where(*_due(analyzer, version, videos=videos, shape=shape))
        )
        with self.session() as s:
            return int(s.scalar(query) or 0)

    def analysis_progress(
        self, analyzer: str, version: int, *, videos: bool, shape: Shape | None
    ) -> tuple[int, int, int]:
        """(done, failed, pending) of `analyzer` at `version` over the searchable images
        that are its to look at."""
        kept = [Image.status == STATUS_OK, LIVE]
        if not videos or shape is not None:
            kept.append(Image.duration.is_(None))
        looked = (
            select(func.count(), func.count(Analysis.error))
            .select_from(Analysis)
            .join(Image, Image.id == Analysis.image_id)
            .where(*kept, Analysis.analyzer == analyzer, Analysis.version >= version)
        )
        with self.session() as s:
            analysed, failed = s.execute(looked).one()
        pending = self.pending_count(analyzer, version, videos=videos, shape=shape)
        return int(analysed) - int(failed or 0), int(failed or 0), pending

    def unlooked(self, analyzer: str) -> tuple[int, int]:
        """(how many searchable images `analyzer` has never looked at, how many
        searchable images there are): what a filter resting on it may miss."""
        never = (
            ~select(Analysis.image_id)
            .where(Analysis.image_id == Image.id, Analysis.analyzer == analyzer)
            .exists()
        )
        query = select(func.count(), func.count().filter(never)).where(
            Image.status == STATUS_OK, LIVE
        )
        with self.session() as s:
            total, pending = s.execute(query).one()
        return int(pending or 0), int(total or 0)

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
