"""A photo's EXIF facts and place (the image_details table): written with its batch,
read for the large view, and the filters by place, position and camera."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sqlalchemy import and_, delete, extract, func, insert, or_, select
from sqlalchemy.orm import Session

from retrieval.media.exif import PhotoInfo
from retrieval.media.places import EARTH_RADIUS_KM, Place, km_between
from retrieval.records import IdArray, PhotoDetails
from retrieval.store.base import LIVE, StoreBase, chunks
from retrieval.store.models import STATUS_OK, Embedding, Image, ImageDetails

_INFO_COLUMNS = (
    "utc_offset_min",
    "camera_make",
    "camera_model",
    "lens",
    "focal_length_mm",
    "f_number",
    "exposure_s",
    "iso",
    "latitude",
    "longitude",
    "altitude_m",
    "content_id",
)


def details_row(image_id: int, details: PhotoDetails) -> dict[str, object]:
    row: dict[str, object] = {"image_id": image_id}
    row.update({name: getattr(details.info, name) for name in _INFO_COLUMNS})
    place = details.place
    row.update(
        city=place.city if place else None,
        region=place.region if place else None,
        country=place.country if place else None,
        country_code=place.country_code if place else None,
    )
    return row


def replace_details(
    s: Session, rows: Sequence[tuple[int, PhotoDetails | None]]
) -> None:
    """In the caller's transaction: these images' details replaced (None: removed)."""
    ids = [i for i, _ in rows]
    for chunk in chunks(ids):
        s.execute(delete(ImageDetails).where(ImageDetails.image_id.in_(chunk)))
    values = [details_row(i, d) for i, d in rows if d is not None]
    if values:
        s.execute(insert(ImageDetails), values)


class DetailsMixin(StoreBase):
    def details(self, ids: Sequence[int]) -> dict[int, PhotoDetails]:
        found: dict[int, PhotoDetails] = {}
        with self.session() as s:
            for chunk in chunks([int(i) for i in ids]):
                rows = s.execute(
                    select(ImageDetails, Image.taken_at)
                    .join(Image, Image.id == ImageDetails.image_id)
                    .where(ImageDetails.image_id.in_(chunk))
                )
                for row, taken_at in rows:
                    found[row.image_id] = _details_of(row, taken_at)
        return found

    def content_ids(self, ids: Sequence[int]) -> dict[int, str]:
        """The Live Photo content identifiers of those of `ids` that have one."""
        found: dict[int, str] = {}
        with self.session() as s:
            for chunk in chunks([int(i) for i in ids]):
                rows = s.execute(
                    select(ImageDetails.image_id, ImageDetails.content_id).where(
                        ImageDetails.image_id.in_(chunk),
                        ImageDetails.content_id.is_not(None),
                    )
                )
                found.update((int(i), str(c)) for i, c in rows)
        return found

    def ids_in_place(self, text: str) -> IdArray:
        """Images whose town, region or country contains `text` (any case), or whose
        country code it is ("PT", "us")."""
        needle = text.strip().lower()
        columns = (ImageDetails.city, ImageDetails.region, ImageDetails.country)
        condition = or_(
            *(func.lower(c).contains(needle, autoescape=True) for c in columns),
            func.upper(ImageDetails.country_code) == text.strip().upper(),
        )
        return self._live_ids(condition)

    def ids_by_camera(self, text: str) -> IdArray:
        """Images whose camera make, model or lens contains `text` (any case)."""
        needle = text.strip().lower()
        both = func.lower(
            func.coalesce(ImageDetails.camera_make, "")
            + " "
            + func.coalesce(ImageDetails.camera_model, "")
        )
        condition = or_(
            both.contains(needle, autoescape=True),
            func.lower(ImageDetails.camera_model).contains(needle, autoescape=True),
            func.lower(ImageDetails.lens).contains(needle, autoescape=True),
        )
        return self._live_ids(condition)

    def ids_near(self, latitude: float, longitude: float, km: float) -> IdArray:
        """Images taken within `km` of a position: a latitude band from the index, then
        the exact distance (SQLite has no trigonometry by default)."""
        band = np.degrees(km / EARTH_RADIUS_KM)
        query = (
            select(ImageDetails.image_id, ImageDetails.latitude, ImageDetails.longitude)
            .join(Image, Image.id == ImageDetails.image_id)
            .join(Embedding, Embedding.image_id == Image.id)
            .where(
                and_(
                    ImageDetails.latitude >= latitude - band,
                    ImageDetails.latitude <= latitude + band,
                    ImageDetails.longitude.is_not(None),
                ),
                LIVE,
            )
        )
        with self.session() as s:
            ids = [
                int(i)
                for i, lat, lon in s.execute(query)
                if lat is not None
                and lon is not None
                and km_between(latitude, longitude, lat, lon) <= km
            ]
        return np.asarray(sorted(ids), dtype=np.int64)

    def summary(self, top: int = 10) -> dict[str, list[tuple[str, int]]]:
        """The searchable photos counted by year taken, country and camera, the most
        common first (at most `top` of each)."""
        searchable = (Image.status == STATUS_OK, LIVE)
        year = extract("year", Image.taken_at)
        counts: dict[str, Counter[str]] = {}
        with self.session() as s:
            counts["years"] = Counter(
                {
                    str(y): int(n)
                    for y, n in s.execute(
                        select(year, func.count())
                        .where(*searchable, Image.taken_at.is_not(None))
                        .group_by(year)
                    )
                }
            )
            countries = s.execute(
                select(ImageDetails.country, func.count())
                .join(Image, Image.id == ImageDetails.image_id)
                .where(*searchable, ImageDetails.country.is_not(None))
                .group_by(ImageDetails.country)
            )
            counts["countries"] = Counter({str(c): int(n) for c, n in countries})
            cameras: Counter[str] = Counter()
            rows = s.execute(
                select(
                    ImageDetails.camera_make, ImageDetails.camera_model, func.count()
                )
                .join(Image, Image.id == ImageDetails.image_id)
                .where(*searchable)
                .group_by(ImageDetails.camera_make, ImageDetails.camera_model)
            )
            for make, model, n in rows:
                name = PhotoInfo(camera_make=make, camera_model=model).camera
                if name:
                    cameras[name] += int(n)
            counts["cameras"] = cameras
        return {
            name: sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
            for name, counter in counts.items()
        }

    def ids_on_day(self, month: int, day: int) -> IdArray:
        """Images taken on this calendar day, in any year."""
        query = (
            select(Image.id)
            .join(Embedding, Embedding.image_id == Image.id)
            .where(
                extract("month", Image.taken_at) == month,
                extract("day", Image.taken_at) == day,
                LIVE,
            )
        )
        with self.session() as s:
            return np.fromiter(s.scalars(query), dtype=np.int64)

    def _live_ids(self, condition: object) -> IdArray:
        query = (
            select(ImageDetails.image_id)
            .join(Image, Image.id == ImageDetails.image_id)
            .join(Embedding, Embedding.image_id == Image.id)
            .where(condition, LIVE)  # type: ignore[arg-type]
        )
        with self.session() as s:
            return np.fromiter(s.scalars(query), dtype=np.int64)


def _details_of(row: ImageDetails, taken_at: object) -> PhotoDetails:
    info = PhotoInfo(
        taken_at=taken_at,  # type: ignore[arg-type]
        **{name: getattr(row, name) for name in _INFO_COLUMNS},
    )
    place = (
        Place(row.city, row.region, row.country or "", row.country_code or "")
        if row.city
        else None
    )
    return PhotoDetails(info, place)
