"""Writing a batch of indexed files (rows, vectors, tags) in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Session

from retrieval.faults import checkpoint
from retrieval.records import (
    Analyzed,
    EncodedFile,
    FailedFile,
    FileStamp,
    TagScores,
)
from retrieval.store.analyses import (
    CLIP,
    CLIP_VERSION,
    AnalysisWriter,
    forget_analyses,
    record_analyses,
)
from retrieval.store.base import (
    chunks,
    now,
)
from retrieval.store.generation import GenerationMixin
from retrieval.store.models import (
    STATUS_FAILED,
    STATUS_OK,
    Embedding,
    Image,
    ImageTag,
)
from retrieval.store.tags import TagsMixin
from retrieval.vectors import times_to_blob, to_blob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchWritten:
    ids: list[int]  # of the encoded files, in order
    failed_ids: list[int]  # of the failed files, in order
    generation: int  # of the vectors, after this batch


class BatchMixin(GenerationMixin, TagsMixin):
    def write_batch(
        self,
        encoded: Sequence[EncodedFile],
        failed: Sequence[FailedFile] = (),
        tags: Sequence[TagScores] = (),
        writers: Mapping[str, AnalysisWriter] | None = None,
    ) -> BatchWritten:
        """Insert or replace these files (matched by path), with their tags (rows follow
        `encoded`) and what each analyzer made of them (written by `writers`, by the
        analyzer's name), in one transaction: after a crash a file is there whole or not
        at all.

        Returns the image ids of `encoded` and of `failed`, in order, and the generation
        the batch made. A replaced file keeps its id; its old vector and tags go, since its
        content changed. A file at the path of a trashed image takes that row over.
        """
        stamp = now()
        with self.session() as s:
            # A few statements per batch rather than per file: row-at-a-time ORM writes
            # cost more than decoding the photo did.
            rows = self._rows_for(
                s, [*(f.path for f in encoded), *(f.path for f in failed)]
            )
            known = {path for path, row in rows.items() if row.id is not None}
            for item in encoded:
                _fill(rows[item.path], item.file, STATUS_OK, None, stamp)
                row = rows[item.path]
                row.width, row.height = item.width, item.height
                row.taken_at, row.duration = item.taken_at, item.duration
            for bad in failed:
                _fill(rows[bad.path], bad.file, STATUS_FAILED, bad.error, stamp)
            s.flush()
            ids = [rows[item.path].id for item in encoded]
            failed_ids = [rows[bad.path].id for bad in failed]
            for chunk in chunks([*ids, *failed_ids]):
                s.execute(delete(ImageTag).where(ImageTag.image_id.in_(chunk)))
                s.execute(delete(Embedding).where(Embedding.image_id.in_(chunk)))
            _insert_vectors(s, ids, encoded)
            replaced = {rows[p].id for p in known}
            _write_analyses(s, ids, encoded, failed_ids, replaced, writers or {})
            for scores in tags:
                self._write_tags(s, ids, scores)
            generation = self._bump(s, [*ids, *failed_ids])
            s.flush()
            checkpoint("before-commit")
        return BatchWritten(ids, failed_ids, generation)

    @staticmethod
    def _rows_for(s: Session, paths: Sequence[str]) -> dict[str, Image]:
        """The rows of these paths, new ones added for paths not in the library yet."""
        rows: dict[str, Image] = {}
        for chunk in chunks(list(dict.fromkeys(paths))):
            rows.update(
                (row.path, row)
                for row in s.scalars(select(Image).where(Image.path.in_(chunk)))
            )
        for path in paths:
            if path not in rows:
                rows[path] = Image(
                    path=path, status=STATUS_OK, size=0, mtime_ns=0, indexed_at=now()
                )
                s.add(rows[path])
        return rows


def _fill(
    row: Image, file: FileStamp, status: str, error: str | None, stamp: datetime
) -> None:
    """A row as the file now is (its size, time and hash), indexed or failed now; a
    failed file keeps nothing of what its content was."""
    row.size, row.mtime_ns, row.content_hash = (
        file.size,
        file.mtime_ns,
        file.content_hash,
    )
    row.status, row.error, row.indexed_at = status, error, stamp
    row.trashed_at = None
    if status != STATUS_OK:
        row.width = row.height = None
        row.taken_at = row.duration = None


def _insert_vectors(
    s: Session, ids: Sequence[int], encoded: Sequence[EncodedFile]
) -> None:
    if not encoded:
        return
    s.execute(
        insert(Embedding),
        [
            {
                "image_id": i,
                "vector": to_blob(item.vector),
                "views": to_blob(item.views)
                if item.views is not None and len(item.views)
                else None,
                "times": times_to_blob(item.times) if item.times is not None else None,
            }
            for i, item in zip(ids, encoded, strict=True)
        ],
    )


def _write_analyses(
    s: Session,
    ids: Sequence[int],
    encoded: Sequence[EncodedFile],
    failed_ids: Sequence[int],
    replaced: set[int],
    writers: Mapping[str, AnalysisWriter],
) -> None:
    """New content: what any analyzer said of the old one no longer holds, so every
    analyzer's records of a replaced image go (`writers`: every analyzer's, whether it
    ran or not), and CLIP and the analyzers that came with the batch record what they
    made of the new."""
    forget_analyses(s, [*ids, *failed_ids])
    outcomes = [
        (i, outcome)
        for i, item in zip(ids, encoded, strict=True)
        for outcome in (Analyzed(CLIP, CLIP_VERSION), *item.analyses)
    ]
    came = {(i, o.analyzer) for i, o in outcomes}
    for name, writer in writers.items():
        stale = [
            i for i in [*ids, *failed_ids] if i in replaced and (i, name) not in came
        ]
        if stale:
            writer(s, [(i, None) for i in stale])
    record_analyses(s, outcomes, writers)
