"""Label sets the user made, and each image's scores for their labels."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import numpy as np
from sqlalchemy import (
    delete,
    func,
    select,
)
from sqlalchemy.orm import Session, selectinload

from retrieval.errors import NotFoundError, UsageError
from retrieval.records import (
    IdArray,
    LabelSetRecord,
    TagRecord,
    TagScores,
)
from retrieval.store.base import (
    LIVE,
    StoreBase,
    chunks,
    now,
)
from retrieval.store.models import (
    Image,
    ImageTag,
    Label,
    LabelSet,
)
from retrieval.tagging.calibration import Calibration

log = logging.getLogger(__name__)


def check_label_set_name(name: str) -> None:
    """A name the page and the API can put in a URL: no slash or backslash, no control
    characters, not blank, not "." or ".."."""
    bad = [c for c in name if c in "/\\" or ord(c) < 0x20 or ord(c) == 0x7F]
    if bad or not name.strip() or name.strip() in (".", ".."):
        raise UsageError(
            f"label set name {name!r} cannot be used: give a name without slashes or "
            "control characters, not blank, '.' or '..'"
        )


class TagsMixin(StoreBase):
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
                .join(Image, Image.id == ImageTag.image_id)
                .where(Label.text == label, ImageTag.assigned.is_(True), LIVE)
                .distinct()
            )
            return np.fromiter(s.scalars(query), dtype=np.int64)

    def save_label_set(
        self,
        name: str,
        labels: Sequence[str],
        threshold: float,
        top: int,
        *,
        exclusive: bool = False,
    ) -> None:
        """Create or replace the label set `name`; tags of labels it no longer has go,
        and so does its calibration (it is fitted again when the set is applied)."""
        check_label_set_name(name)
        with self.session() as s:
            row = s.scalar(select(LabelSet).where(LabelSet.name == name))
            if row is None:
                row = LabelSet(
                    name=name, threshold=threshold, top=top, created_at=now()
                )
                s.add(row)
            row.threshold, row.top, row.exclusive = threshold, top, exclusive
            row.calibration = None
            existing = {label.text: label for label in row.labels}
            row.labels = [
                existing.get(text) or Label(text=text, position=i)
                for i, text in enumerate(labels)
            ]
            for i, label in enumerate(row.labels):
                label.position = i

    def label_sets(self, name: str | None = None) -> list[LabelSetRecord]:
        """Every label set by name (or only the one called `name`), with its labels
        loaded in one more query rather than one per set."""
        query = (
            select(LabelSet)
            .options(selectinload(LabelSet.labels))
            .order_by(LabelSet.name)
        )
        if name is not None:
            query = query.where(LabelSet.name == name)
        with self.session() as s:
            return [
                LabelSetRecord(
                    name=row.name,
                    labels=tuple(label.text for label in row.labels),
                    label_ids=tuple(label.id for label in row.labels),
                    threshold=row.threshold,
                    top=row.top,
                    exclusive=row.exclusive,
                    calibration=Calibration.from_json(row.calibration)
                    if row.calibration
                    else None,
                )
                for row in s.scalars(query)
            ]

    def save_calibration(self, name: str, calibration: Calibration | None) -> None:
        with self.session() as s:
            row = s.scalar(select(LabelSet).where(LabelSet.name == name))
            if row is None:
                raise NotFoundError(f"no label set {name!r}")
            row.calibration = calibration.to_json() if calibration else None

    def label_set(self, name: str) -> LabelSetRecord:
        found = self.label_sets(name)
        if found:
            return found[0]
        with self.session() as s:
            names = list(s.scalars(select(LabelSet.name).order_by(LabelSet.name)))
        known = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise NotFoundError(
            f"no label set {name!r} (saved sets: {known or 'none yet'})"
        )

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
        for chunk in chunks(image_ids):
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
                ranges=json.dumps(tags.ranges[row, col])
                if (row, col) in tags.ranges
                else None,
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
                ImageTag.ranges,
            )
            .join(Image, Image.id == ImageTag.image_id)
            .join(Label, Label.id == ImageTag.label_id)
            .join(LabelSet, LabelSet.id == Label.label_set_id)
            .where(LIVE)
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
