"""The library's model, and the generation that every change to the vectors advances."""

from __future__ import annotations

import logging

from sqlalchemy import (
    delete,
    update,
)
from sqlalchemy.orm import Session

from retrieval.models import (
    Embedding,
    ImageTag,
    LibraryInfo,
)
from retrieval.store.base import (
    StoreBase,
    now,
)
from retrieval.types import ModelInfo

log = logging.getLogger(__name__)


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
