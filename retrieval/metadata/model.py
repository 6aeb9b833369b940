"""What is read of a photo's metadata, from every source merged into one record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from retrieval.media.places import Place

# The analyzer's name in the store (the analyses table).
METADATA_ANALYZER = "metadata"
# How a hierarchical keyword's levels are joined, as Lightroom writes
# lr:hierarchicalSubject (digiKam's TagsList uses "/", converted on reading).
LEVEL = "|"
# Ratings as xmp:Rating says them: -1 is "rejected", 0 none, 1 to 5 stars.
RATING_MIN, RATING_MAX = -1, 5


@dataclass(frozen=True)
class Region:
    """A named region of the photo (a face, mostly): its box in fractions of the upright
    picture, left, top, width, height."""

    name: str
    box: tuple[float, float, float, float]
    kind: str = "Face"


@dataclass(frozen=True)
class Metadata:
    """A photo's facts from one source, or from all of them merged (`merged`)."""

    # Hierarchical ones with their levels joined by LEVEL; flat ones as they are.
    keywords: tuple[str, ...] = ()
    title: str | None = None
    description: str | None = None
    rating: int | None = None
    label: str | None = None
    regions: tuple[Region, ...] = ()
    # Only where the file's own EXIF has none (the EXIF analyzer's details win).
    taken_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    # The files it came from (the photo itself for embedded XMP and IPTC).
    sources: tuple[str, ...] = ()
    # What could not be read, each with its source and reason: the rest still counts.
    problems: tuple[str, ...] = ()
    # The town the position is in (looked up by the analyzer, as EXIF's is).
    place: Place | None = field(default=None, compare=False)
    # Sidecars' modification stamps ((path, mtime_ns, size)), to notice when one
    # changes or goes.
    stamps: tuple[tuple[str, int, int], ...] = field(default=(), compare=False)

    @property
    def empty(self) -> bool:
        return not (
            self.keywords
            or self.title
            or self.description
            or self.rating is not None
            or self.label
            or self.regions
            or self.taken_at is not None
            or self.latitude is not None
            or self.problems
            or self.stamps
        )

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


def merged(parts: list[Metadata]) -> Metadata:
    """Sources merged, the first of `parts` the most trusted: each fact (title, rating,
    date, ...) comes from the first that has it, and so do the keywords, as a whole (a
    keyword removed in darktable's sidecar must not come back from the copy embedded
    in the file), and the regions (two programs' boxes of one face would be two
    faces)."""

    def first(name: str) -> object:
        return next(
            (getattr(p, name) for p in parts if getattr(p, name) is not None), None
        )

    position = next(
        ((p.latitude, p.longitude) for p in parts if p.latitude is not None),
        (None, None),
    )
    return Metadata(
        keywords=next((p.keywords for p in parts if p.keywords), ()),
        title=first("title"),  # type: ignore[arg-type]
        description=first("description"),  # type: ignore[arg-type]
        rating=first("rating"),  # type: ignore[arg-type]
        label=first("label"),  # type: ignore[arg-type]
        regions=next((p.regions for p in parts if p.regions), ()),
        taken_at=first("taken_at"),  # type: ignore[arg-type]
        latitude=position[0],
        longitude=position[1],
        sources=tuple(dict.fromkeys(s for p in parts for s in p.sources)),
        problems=tuple(q for p in parts for q in p.problems),
        stamps=tuple(s for p in parts for s in p.stamps),
    )
