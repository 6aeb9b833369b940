"""The library's model, and the generation that every change to the vectors advances."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from retrieval.records import FloatArray, IdArray, ModelInfo
from retrieval.store.base import StoreBase, now, searchable_vectors
from retrieval.store.models import Embedding, ImageTag, LibraryInfo, VectorChange

log = logging.getLogger(__name__)

# Every PRUNE_EVERY generations, the log forgets changes older than KEEP_GENERATIONS: a
# reader that far behind reloads the whole index instead.
PRUNE_EVERY = 1000
KEEP_GENERATIONS = 20_000


class GenerationMixin(StoreBase):
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
                        created_at=now(),
                        vectors_generation=1,
                        changes_from=1,
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
                # Every vector changed: no reader can catch up from the log.
                row.changes_from = row.vectors_generation
                s.execute(delete(VectorChange))

    def generation(self) -> int:
        with self.session() as s:
            row = s.get(LibraryInfo, 1)
            return row.vectors_generation if row else 0

    def _bump(self, s: Session, changed: Iterable[int]) -> int:
        return bump_generation(s, changed)

    def changes_since(self, after: int, dim: int) -> ChangeSet | None:
        """What a reader holding the vectors of generation `after` must apply to reach the
        current one: the images to drop, and those to add with their vectors. None when
        the log does not reach back that far (or `after` is not this library's): reload.
        Read in one transaction, so the answer is one consistent state."""
        with self.session() as s:
            info = s.get(LibraryInfo, 1)
            if (
                info is None
                or not info.changes_from <= after <= info.vectors_generation
            ):
                return None
            ids = sorted(
                set(
                    s.scalars(
                        select(VectorChange.image_id).where(
                            VectorChange.generation > after
                        )
                    )
                )
            )
            added, vectors = searchable_vectors(s, ids, dim, views=True)
            return ChangeSet(
                generation=info.vectors_generation,
                removed=np.array(ids, dtype=np.int64),
                added=added,
                vectors=vectors,
            )


@dataclass(frozen=True)
class ChangeSet:
    """From one generation to `generation`: drop `removed` (every image touched, with all
    its views), then add `added` with `vectors` (the index entries of those that have a
    searchable vector now, views included)."""

    generation: int
    removed: IdArray
    added: IdArray
    vectors: FloatArray


def bump_generation(s: Session, changed: Iterable[int]) -> int:
    """Advance the vectors' generation inside the caller's transaction, and log which
    images' vectors changed in it; returns the new generation."""
    generation = int(
        s.execute(
            update(LibraryInfo)
            .where(LibraryInfo.id == 1)
            .values(vectors_generation=LibraryInfo.vectors_generation + 1)
            .returning(LibraryInfo.vectors_generation)
        ).scalar_one()
    )
    rows = [{"generation": generation, "image_id": int(i)} for i in set(changed)]
    if rows:
        s.execute(insert(VectorChange), rows)
    if generation % PRUNE_EVERY == 0:
        floor = generation - KEEP_GENERATIONS
        s.execute(delete(VectorChange).where(VectorChange.generation <= floor))
        s.execute(
            update(LibraryInfo)
            .where(LibraryInfo.id == 1, LibraryInfo.changes_from < floor)
            .values(changes_from=floor)
        )
    return generation
