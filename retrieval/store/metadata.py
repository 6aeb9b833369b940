"""What other photo programs know of a photo (the image_metadata, image_keywords and
metadata_regions tables): written with a photo's batch by the metadata analyzer, matched
by the keyword, rating and label filters, read back for describe, the API and sidecars.
Titles, descriptions and keywords join the photo's searchable text
(retrieval.store.text.refresh_texts)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from retrieval.metadata.keywords import fold_keyword, keyword_patterns
from retrieval.metadata.model import Metadata, Region
from retrieval.records import IdArray
from retrieval.store.base import LIVE, StoreBase, chunks
from retrieval.store.models import (
    STATUS_OK,
    Embedding,
    Image,
    ImageKeyword,
    ImageMetadata,
    MetadataRegion,
)
from retrieval.store.text import refresh_texts


def replace_metadata(s: Session, rows: Sequence[tuple[int, Metadata | None]]) -> None:
    """In the caller's transaction: these images' metadata replaced (None: none)."""
    ids = [i for i, _ in rows]
    for chunk in chunks(ids):
        for table in (ImageMetadata, ImageKeyword, MetadataRegion):
            s.execute(delete(table).where(table.image_id.in_(chunk)))
    kept = [(i, m) for i, m in rows if m is not None and not m.empty]
    if kept:
        s.execute(
            insert(ImageMetadata),
            [
                {
                    "image_id": i,
                    "title": m.title,
                    "description": m.description,
                    "rating": m.rating,
                    "label": m.label,
                    "taken_at": m.taken_at,
                    "latitude": m.latitude,
                    "longitude": m.longitude,
                    "sources": json.dumps(list(m.sources)),
                    "problems": json.dumps(list(m.problems)),
                    "stamps": json.dumps([list(t) for t in m.stamps]),
                }
                for i, m in kept
            ],
        )
    keywords = [
        {"image_id": i, "keyword": k, "folded": fold_keyword(k)}
        for i, m in kept
        for k in m.keywords
        if fold_keyword(k)
    ]
    if keywords:
        s.execute(insert(ImageKeyword), keywords)
    regions = [
        {"image_id": i, "name": r.name, "kind": r.kind, "box": json.dumps(list(r.box))}
        for i, m in kept
        for r in m.regions
    ]
    if regions:
        s.execute(insert(MetadataRegion), regions)
    refresh_texts(s, ids)


@dataclass(frozen=True)
class StoredMetadata:
    """A photo's metadata as the store keeps it, for describe, the API and sidecars."""

    keywords: tuple[str, ...]
    title: str | None
    description: str | None
    rating: int | None
    label: str | None
    regions: tuple[Region, ...]
    taken_at: Any
    latitude: float | None
    longitude: float | None
    sources: tuple[str, ...]
    problems: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "keywords": list(self.keywords),
            "title": self.title,
            "description": self.description,
            "rating": self.rating,
            "label": self.label,
            "regions": [
                {"name": r.name, "kind": r.kind, "box": list(r.box)}
                for r in self.regions
            ],
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "sources": list(self.sources),
            "problems": list(self.problems),
        }


class MetadataMixin(StoreBase):
    def _searchable(self, condition: Any, table: Any) -> IdArray:
        query = (
            select(func.distinct(table.image_id))
            .join(Image, Image.id == table.image_id)
            .join(Embedding, Embedding.image_id == Image.id)
            .where(condition, Image.status == STATUS_OK, LIVE)
        )
        with self.session() as s:
            return np.array(sorted(int(i) for i in s.scalars(query)), dtype=np.int64)

    def ids_with_keyword(self, keyword: str) -> IdArray:
        """The searchable images with this keyword, at any level of a hierarchy."""
        folded, likes = keyword_patterns(keyword)
        condition = or_(
            ImageKeyword.folded == folded,
            *(ImageKeyword.folded.like(p, escape="\\") for p in likes),
        )
        return self._searchable(condition, ImageKeyword)

    def ids_rated(self, least: int) -> IdArray:
        """The searchable images rated `least` stars or more."""
        return self._searchable(ImageMetadata.rating >= least, ImageMetadata)

    def ids_labelled(self, label: str) -> IdArray:
        """The searchable images with this colour label (any case)."""
        condition = func.lower(ImageMetadata.label) == label.strip().lower()
        return self._searchable(condition, ImageMetadata)

    def metadata_of(self, ids: Iterable[int]) -> dict[int, StoredMetadata]:
        wanted = sorted({int(i) for i in ids})
        found: dict[int, StoredMetadata] = {}
        with self.session() as s:
            for chunk in chunks(wanted):
                keywords: dict[int, list[str]] = {}
                for image_id, keyword in s.execute(
                    select(ImageKeyword.image_id, ImageKeyword.keyword)
                    .where(ImageKeyword.image_id.in_(chunk))
                    .order_by(ImageKeyword.id)
                ):
                    keywords.setdefault(image_id, []).append(keyword)
                regions: dict[int, list[Region]] = {}
                for image_id, name, kind, box in s.execute(
                    select(
                        MetadataRegion.image_id,
                        MetadataRegion.name,
                        MetadataRegion.kind,
                        MetadataRegion.box,
                    )
                    .where(MetadataRegion.image_id.in_(chunk))
                    .order_by(MetadataRegion.id)
                ):
                    corners = tuple(float(v) for v in json.loads(box))
                    regions.setdefault(image_id, []).append(
                        Region(name, corners, kind)  # type: ignore[arg-type]
                    )
                for row in s.scalars(
                    select(ImageMetadata).where(ImageMetadata.image_id.in_(chunk))
                ):
                    found[row.image_id] = StoredMetadata(
                        keywords=tuple(keywords.get(row.image_id, ())),
                        title=row.title,
                        description=row.description,
                        rating=row.rating,
                        label=row.label,
                        regions=tuple(regions.get(row.image_id, ())),
                        taken_at=row.taken_at,
                        latitude=row.latitude,
                        longitude=row.longitude,
                        sources=tuple(json.loads(row.sources)),
                        problems=tuple(json.loads(row.problems)),
                    )
        return found

    def metadata_counts(self) -> tuple[int, int]:
        """Photos with any metadata from other programs, and keywords."""
        with self.session() as s:
            photos = s.scalar(select(func.count()).select_from(ImageMetadata)) or 0
            keywords = s.scalar(select(func.count()).select_from(ImageKeyword)) or 0
        return int(photos), int(keywords)

    def metadata_stamps(self) -> dict[int, list[tuple[str, int, int]]]:
        """Each image's sidecars as they were when read: (path, mtime_ns, size)."""
        with self.session() as s:
            rows = s.execute(select(ImageMetadata.image_id, ImageMetadata.stamps))
            return {
                int(i): [(str(p), int(m), int(z)) for p, m, z in json.loads(st)]
                for i, st in rows
            }
