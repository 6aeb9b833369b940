"""The query and path parameters routes share, and the search options they make (through
the one filter parser, retrieval.search.filters, under the API's own names)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from fastapi import Path as FPath

from photosearch.web import schemas
from retrieval.search.filters import API_NAMES, parse_filters
from retrieval.search.search import SearchOptions

LimitQ = Annotated[int, Query(ge=1, le=200)]
OffsetQ = Annotated[int, Query(ge=0, le=10_000)]
ScoreQ = Annotated[float | None, Query(ge=-1.0, le=1.0)]
ImageIdP = Annotated[int, FPath(ge=1, le=schemas.MAX_ID, description="the image's id")]
LabelSetP = Annotated[
    str, FPath(min_length=1, max_length=100, pattern=schemas.LABEL_SET_NAME_PATTERN)
]
BoxQ = Annotated[
    str | None,
    Query(
        pattern=schemas.BOX_PATTERN,
        description="only this region: X,Y,W,H in pixels of the upright picture, or "
        "fractions of it when all four are at most 1 (0.5,0,0.5,1: the right half). "
        "A region wholly outside the picture is refused with 400: the picture's size "
        "is not known to this description.",
    ),
]


def query_filters(
    limit: LimitQ = 60,
    offset: OffsetQ = 0,
    folder: str | None = None,
    tag: str | None = None,
    date_from: Annotated[
        schemas.Day | None, Query(description=schemas.DATE_FROM_HELP)
    ] = None,
    date_to: Annotated[
        schemas.Day | None, Query(description=schemas.DATE_TO_HELP)
    ] = None,
    min_score: ScoreQ = None,
    sort: schemas.Sort = "score",
    place: Annotated[str | None, Query(max_length=200)] = None,
    near: Annotated[
        str | None,
        Query(pattern=schemas.NEAR_PATTERN, description=schemas.NEAR_HELP),
    ] = None,
    camera: Annotated[str | None, Query(max_length=200)] = None,
    person: Annotated[
        list[schemas.PersonKey] | None,
        Query(
            max_length=20,
            description="only photos all these persons are in (repeat the parameter; "
            "ids or names as /api/people lists them)",
        ),
    ] = None,
    contains: Annotated[
        str | None,
        Query(
            max_length=500,
            pattern=schemas.CONTAINS_PATTERN,
            description=schemas.CONTAINS_HELP,
        ),
    ] = None,
    keyword: Annotated[
        list[schemas.Keyword] | None,
        Query(max_length=20, description=schemas.KEYWORD_HELP),
    ] = None,
    rating: Annotated[
        schemas.Rating | None, Query(description=schemas.RATING_HELP)
    ] = None,
    label: Annotated[
        schemas.ColourLabel | None, Query(description=schemas.LABEL_HELP)
    ] = None,
) -> schemas.Filters:
    """The filters and page of a search given as query parameters."""
    return schemas.Filters(
        limit=limit,
        offset=offset,
        folder=folder,
        tag=tag,
        date_from=date_from,
        date_to=date_to,
        min_score=min_score,
        sort=sort,
        place=place,
        near=near,
        camera=camera,
        person=person or [],
        contains=contains,
        keyword=keyword or [],
        rating=rating,
        label=label,
    )


FiltersQ = Annotated[schemas.Filters, Depends(query_filters)]


def options_from(
    filters: schemas.Filters, extra: int = 0, on_day: str | None = None
) -> SearchOptions:
    """Search options for a page of results, asking for `extra` more to tell if a next
    page holds anything."""
    raw = {
        "folder": filters.folder,
        "tag": filters.tag,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
        "place": filters.place,
        "near": filters.near,
        "camera": filters.camera,
        "on_day": on_day,
        "person": filters.person,
        "contains": filters.contains,
        "keyword": filters.keyword,
        "rating": filters.rating,
        "label": filters.label,
    }
    return SearchOptions(
        top=filters.limit + extra,
        min_score=filters.min_score,
        filters=parse_filters(raw, API_NAMES),
        offset=filters.offset,
        sort=filters.sort,
    )
