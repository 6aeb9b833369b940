"""Text to image, image to image and image to text search over a library."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from retrieval.choices import SORTS
from retrieval.errors import NotFoundError, UsageError
from retrieval.library import Library
from retrieval.records import FloatArray, IdArray, ImageMeta, SearchHit
from retrieval.search.filters import Filters
from retrieval.search.moments import best_moments
from retrieval.search.pairs import pair_up
from retrieval.text.search import fuse

# Matches re-ordered by date are drawn from at most this many of the best.
SORT_POOL = 2000


@dataclass(frozen=True)
class SearchOptions:
    """Which page of which results: the filters (retrieval.search.filters), how many,
    from where, in what order."""

    top: int = 10
    min_score: float | None = None
    filters: Filters = field(default_factory=Filters)
    offset: int = 0  # skip this many of the best (paging)
    # "score": best first; "newest" / "oldest": by EXIF date (undated last) among the
    # best matches (all of them above min_score, if given; else the top SORT_POOL).
    sort: str = "score"
    # A sentence's words (retrieval.text.fold.sentence_words): the photos whose text
    # shows them are fused into the ranking (retrieval.text.search); by score only.
    words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.top < 1:
            raise UsageError(f"-k {self.top}: ask for at least 1 result")
        if self.offset < 0:
            raise UsageError(f"offset {self.offset} must not be negative")
        if self.sort not in SORTS:
            raise UsageError(
                f"unknown sort {self.sort!r}: choose one of {', '.join(SORTS)}"
            )


def search(
    library: Library,
    vector: FloatArray,
    options: SearchOptions,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[SearchHit]:
    """The `options.top` library images closest to `vector`, best first, after skipping
    `options.offset` of them."""
    allowed = allowed_ids(library, options.filters)
    skip = options.offset
    # Twice as many: the files of one shot become one result (retrieval.search.pairs).
    wanted = 2 * (skip + options.top)
    if options.sort != "score":
        wanted = max(wanted, SORT_POOL)
    scores, ids = library.search_index(vector, wanted + len(exclude), allowed)
    pairs = [
        (int(i), float(s))
        for s, i in zip(scores[0], ids[0], strict=True)
        if i >= 0 and int(i) not in exclude
    ]
    if options.words and options.sort == "score":
        pairs = fuse(library, vector, pairs, options.words, allowed, exclude)
    if options.min_score is not None:
        pairs = [(i, s) for i, s in pairs if s >= options.min_score]
    meta = library.store.meta([i for i, _ in pairs])
    if options.sort != "score":
        pairs = by_date(pairs, meta, newest=options.sort == "newest")
    hits = [
        SearchHit(i, meta[i].path, s, kind=meta[i].kind) for i, s in pairs if i in meta
    ]
    shown = pair_up(library.store, hits, skip + options.top, exclude)[skip:]
    return [with_moments(library, hit, vector) for hit in shown]


def with_moments(library: Library, hit: SearchHit, query: FloatArray) -> SearchHit:
    """A video's hit (or a Live Photo's, through its motion part) with the moments that
    match the query best."""
    video = hit.video_id
    if video is None:
        return hit
    try:
        times, vectors = library.store.moments(video, library.model.dim)
    except NotFoundError:
        return hit  # changed or gone since the search: shown without its moments
    return replace(hit, moments=best_moments(times, vectors, query))


def browse(library: Library, options: SearchOptions) -> list[ImageMeta]:
    """No query, only filters: the images they leave, by EXIF date (newest first unless
    `options.sort` is "oldest"; undated ones last, by path), one page of them."""
    allowed = allowed_ids(library, options.filters)
    if allowed is None:
        # No filter: every photo, a page of them read in that order by the store.
        return library.store.browse(
            options.offset, options.top, oldest=options.sort == "oldest"
        )
    # The filters leave searchable images only: indexed, with a vector, not trashed.
    metas = list(library.store.meta(allowed.tolist()).values())
    oldest = options.sort == "oldest"
    dated = sorted(
        (m for m in metas if m.taken_at is not None),
        key=lambda m: (m.taken_at or datetime.min, m.path),
        reverse=not oldest,
    )
    undated = sorted((m for m in metas if m.taken_at is None), key=lambda m: m.path)
    return (dated + undated)[options.offset : options.offset + options.top]


def by_date(
    pairs: list[tuple[int, float]], meta: dict[int, ImageMeta], *, newest: bool
) -> list[tuple[int, float]]:
    """(id, score) pairs ordered by EXIF date, undated ones last (by score)."""
    dated = [p for p in pairs if p[0] in meta and meta[p[0]].taken_at is not None]
    undated = [p for p in pairs if p[0] in meta and meta[p[0]].taken_at is None]
    dated.sort(key=lambda p: meta[p[0]].taken_at or datetime.min, reverse=newest)
    return dated + undated


def allowed_ids(library: Library, filters: Filters) -> IdArray | None:
    """The ids the filters leave (None: no filter, every image)."""
    allowed: IdArray | None = None

    def narrow(ids: IdArray) -> None:
        nonlocal allowed
        allowed = ids if allowed is None else np.intersect1d(allowed, ids)

    store = library.store
    if filters.folder is not None:
        narrow(store.ids_under(filters.folder))
    if filters.tag is not None:
        narrow(store.ids_tagged(filters.tag))
    if filters.date_from is not None or filters.date_to is not None:
        narrow(store.ids_taken(*filters.taken_between()))
    if filters.place:
        narrow(store.ids_in_place(filters.place))
    if filters.near is not None:
        near = filters.near
        narrow(store.ids_near(near.latitude, near.longitude, near.km))
    if filters.camera:
        narrow(store.ids_by_camera(filters.camera))
    if filters.on_day is not None:
        narrow(store.ids_on_day(*filters.on_day))
    for key in filters.persons:
        narrow(store.ids_with_person(store.person_id(key)))
    if filters.contains is not None:
        narrow(store.ids_containing(filters.contains))
    for keyword in filters.keywords:
        narrow(store.ids_with_keyword(keyword))
    if filters.rating is not None:
        narrow(store.ids_rated(filters.rating))
    if filters.label:
        narrow(store.ids_labelled(filters.label))
    return allowed
