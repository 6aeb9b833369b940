"""What other photo programs know of a photo (the image_metadata, image_keywords and
metadata_regions tables): written with a photo's batch by the metadata analyzer, matched
by the keyword, rating and label filters, read back for describe, the API and sidecars.
Titles, descriptions and keywords join the photo's searchable text
(retrieval.store.text.refresh_texts)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from retrieval.errors import NotFoundError
from retrieval.metadata.keywords import fold_keyword, keyword_patterns
from retrieval.metadata.model import METADATA_ANALYZER, Metadata, Region
from retrieval.records import IdArray
from retrieval.store import text_sql
from retrieval.store.base import LIVE, StoreBase, chunks
from retrieval.store.models import (
    STATUS_OK,
    Analysis,
    Embedding,
    Image,
    ImageDetails,
    ImageKeyword,
    ImageMetadata,
    MetadataRegion,
)
from retrieval.store.text import refresh_texts

_PLACE_COLUMNS = ("latitude", "longitude", "city", "region", "country", "country_code")


def _take_back(s: Session, ids: Sequence[int]) -> None:
    """The dates and positions these images' old metadata stood in with, taken back
    (unless the file's own EXIF has given one since, when its new row was written)."""
    for chunk in chunks(list(ids)):
        used = s.execute(
            select(
                ImageMetadata.image_id,
                ImageMetadata.date_used,
                ImageMetadata.taken_at,
                ImageMetadata.place_used,
                ImageMetadata.latitude,
            ).where(
                ImageMetadata.image_id.in_(chunk),
                or_(ImageMetadata.date_used, ImageMetadata.place_used),
            )
        ).all()
        for image_id, date_used, taken_at, place_used, latitude in used:
            if date_used:
                s.execute(
                    update(Image)
                    .where(Image.id == image_id, Image.taken_at == taken_at)
                    .values(taken_at=None)
                )
            if place_used:
                s.execute(
                    update(ImageDetails)
                    .where(
                        ImageDetails.image_id == image_id,
                        ImageDetails.latitude == latitude,
                    )
                    .values(dict.fromkeys(_PLACE_COLUMNS))
                )


def _stand_in(s: Session, image_id: int, found: Metadata) -> tuple[bool, bool]:
    """The record's date and position where the image's EXIF gave none: whether each
    was used."""
    dated = placed = False
    if found.taken_at is not None:
        done = s.execute(
            update(Image)
            .where(Image.id == image_id, Image.taken_at.is_(None))
            .values(taken_at=found.taken_at)
        )
        dated = bool(done.rowcount)  # type: ignore[attr-defined]
    if found.latitude is not None and found.longitude is not None:
        place = found.place
        done = s.execute(
            update(ImageDetails)
            .where(ImageDetails.image_id == image_id, ImageDetails.latitude.is_(None))
            .values(
                latitude=found.latitude,
                longitude=found.longitude,
                city=place.city if place else None,
                region=place.region if place else None,
                country=place.country if place else None,
                country_code=place.country_code if place else None,
            )
        )
        placed = bool(done.rowcount)  # type: ignore[attr-defined]
    return dated, placed


def replace_metadata(s: Session, rows: Sequence[tuple[int, Metadata | None]]) -> None:
    """In the caller's transaction: these images' metadata replaced (None: none), its
    date and position standing in where the images' EXIF has none."""
    ids = [i for i, _ in rows]
    _take_back(s, ids)
    for chunk in chunks(ids):
        for table in (ImageMetadata, ImageKeyword, MetadataRegion):
            s.execute(delete(table).where(table.image_id.in_(chunk)))
    kept = [(i, m) for i, m in rows if m is not None and not m.empty]
    values = []
    for i, m in kept:
        dated, placed = _stand_in(s, i, m)
        values.append(
            {
                "image_id": i,
                "title": m.title,
                "description": m.description,
                "rating": m.rating,
                "label": m.label,
                "taken_at": m.taken_at,
                "latitude": m.latitude,
                "longitude": m.longitude,
                "date_used": dated,
                "place_used": placed,
                "sources": json.dumps(list(m.sources)),
                "problems": json.dumps(list(m.problems)),
                "stamps": json.dumps([list(t) for t in m.stamps]),
            }
        )
    if values:
        s.execute(insert(ImageMetadata), values)
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
        """The searchable images with this keyword, at any level of a hierarchy; a
        keyword no photo has is a NotFoundError (as a label no photo is tagged with),
        most often a misspelling."""
        folded, likes = keyword_patterns(keyword)
        condition = or_(
            ImageKeyword.folded == folded,
            *(ImageKeyword.folded.like(p, escape="\\") for p in likes),
        )
        with self.session() as s:
            known = s.scalar(select(ImageKeyword.id).where(condition).limit(1))
        if known is None:
            raise NotFoundError(
                f"no photo has the keyword {keyword!r}: check its spelling (keywords "
                "come from XMP, IPTC, sidecars and Takeout; `photosearch status` counts "
                "them)"
            )
        return self._searchable(condition, ImageKeyword)

    def ids_rated(self, least: int) -> IdArray:
        """The searchable images rated `least` stars or more."""
        return self._searchable(ImageMetadata.rating >= least, ImageMetadata)

    def ids_labelled(self, label: str) -> IdArray:
        """The searchable images with this colour label (any case)."""
        condition = func.lower(ImageMetadata.label) == label.strip().lower()
        return self._searchable(condition, ImageMetadata)

    def metadata_of(self, ids: Iterable[int]) -> dict[int, Metadata]:
        wanted = sorted({int(i) for i in ids})
        found: dict[int, Metadata] = {}
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
                    found[row.image_id] = Metadata(
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

    def captions_of(self, ids: Iterable[int]) -> dict[int, list[str]]:
        """Each image's title, description and keywords (by their last level): what of
        other programs' metadata a hit shows as the text that matched."""
        rows: list[tuple[Any, ...]] = []
        with self.session() as s:
            for chunk in chunks(sorted({int(i) for i in ids})):
                for image_id, title, description in s.execute(
                    select(
                        ImageMetadata.image_id,
                        ImageMetadata.title,
                        ImageMetadata.description,
                    ).where(ImageMetadata.image_id.in_(chunk))
                ):
                    rows += [(image_id, title, "title")]
                    rows += [(image_id, description, "description")]
                rows += [
                    (i, keyword, "keyword")
                    for i, keyword in s.execute(
                        select(ImageKeyword.image_id, ImageKeyword.keyword)
                        .where(ImageKeyword.image_id.in_(chunk))
                        .order_by(ImageKeyword.id)
                    )
                ]
        return text_sql.captions(rows)

    def face_regions(self) -> dict[int, list[Region]]:
        """The named face regions other programs marked, by searchable image."""
        found: dict[int, list[Region]] = {}
        with self.session() as s:
            rows = s.execute(
                select(MetadataRegion.image_id, MetadataRegion.name, MetadataRegion.box)
                .join(Image, Image.id == MetadataRegion.image_id)
                .where(MetadataRegion.kind == "Face", Image.status == STATUS_OK, LIVE)
                .order_by(MetadataRegion.image_id, MetadataRegion.id)
            )
            for image_id, name, box in rows:
                corners = tuple(float(v) for v in json.loads(box))
                found.setdefault(int(image_id), []).append(
                    Region(name, corners)  # type: ignore[arg-type]
                )
        return found

    def metadata_problems(self) -> list[tuple[int, str, str]]:
        """(id, path, what could not be read and why) of each sidecar, packet or JSON
        the metadata analyzer could not read, the rest of the photo's read all the same."""
        with self.session() as s:
            rows = s.execute(
                select(Image.id, Image.path, ImageMetadata.problems)
                .join(Image, Image.id == ImageMetadata.image_id)
                .where(ImageMetadata.problems != "[]", LIVE)
                .order_by(Image.path)
            ).all()
        return [
            (int(i), str(path), str(problem))
            for i, path, problems in rows
            for problem in json.loads(problems)
        ]

    def metadata_counts(self) -> tuple[int, int]:
        """Photos with any metadata from other programs, and keywords."""
        with self.session() as s:
            photos = s.scalar(select(func.count()).select_from(ImageMetadata)) or 0
            keywords = s.scalar(select(func.count()).select_from(ImageKeyword)) or 0
        return int(photos), int(keywords)

    def metadata_read(
        self, folder: str | None = None
    ) -> list[tuple[int, str, set[tuple[str, int, int]]]]:
        """(id, path, its sidecars as they were when read: (path, mtime_ns, size)) of
        the searchable images the metadata analyzer has looked at, those at or below
        `folder` (absolute) when given."""
        query = (
            select(Image.id, Image.path, ImageMetadata.stamps)
            .join(
                Analysis,
                and_(
                    Analysis.image_id == Image.id,
                    Analysis.analyzer == METADATA_ANALYZER,
                ),
            )
            .outerjoin(ImageMetadata, ImageMetadata.image_id == Image.id)
            .where(Image.status == STATUS_OK, LIVE)
        )
        if folder is not None:
            query = query.where(
                Image.path.startswith(folder.rstrip(os.sep) + os.sep, autoescape=True)
            )
        with self.session() as s:
            return [
                (
                    int(i),
                    str(path),
                    {
                        (str(p), int(m), int(z))
                        for p, m, z in json.loads(stamps or "[]")
                    },
                )
                for i, path, stamps in s.execute(query)
            ]

    def forget_analysis(self, analyzer: str, ids: Sequence[int]) -> None:
        """These images are due for `analyzer` again (what they depend on changed)."""
        with self.session() as s:
            for chunk in chunks(list(ids)):
                s.execute(
                    delete(Analysis).where(
                        Analysis.analyzer == analyzer, Analysis.image_id.in_(chunk)
                    )
                )
