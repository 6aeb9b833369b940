"""The HTTP API and the page: one FastAPI app around one open library, whose model is
loaded once. Images are served by id only: no request names a path on disk."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, File, Query, Request, UploadFile
from fastapi import Path as FPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BeforeValidator
from starlette.exceptions import HTTPException
from starlette.routing import Match

from photosearch.web import schemas
from photosearch.web.guard import COOKIE, Guard
from retrieval.errors import (
    DecodeError,
    LibraryError,
    ModelError,
    NotFoundError,
    PhotosearchError,
    UsageError,
)
from retrieval.library import Library
from retrieval.records import ImageMeta, PhotoDetails, SearchHit, TagRecord
from retrieval.search.search import (
    SearchOptions,
    library_vector,
    query_vector,
    rank_texts,
    search,
)
from retrieval.search.search import browse as search_browse
from retrieval.search.terms import QueryTerm, parse_box, parse_near

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
STATUS_OF = {
    NotFoundError: 404,
    DecodeError: 415,
    LibraryError: 503,
    ModelError: 500,
}

T = TypeVar("T")

LimitQ = Annotated[int, Query(ge=1, le=200)]
ImageIdP = Annotated[int, FPath(ge=1, le=schemas.MAX_ID, description="the image's id")]
LabelSetP = Annotated[
    str, FPath(min_length=1, max_length=100, pattern=schemas.LABEL_SET_NAME_PATTERN)
]
# Every error an operation may answer with, as JSON ({"error": one line}).
ERROR_CODES = (400, 401, 404, 413, 415, 422, 500, 503)
IMAGE_BYTES = {"schema": {"type": "string", "format": "binary"}}
UNION_BRANCHES = frozenset({"TextTerm", "ImageTerm"})
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
OffsetQ = Annotated[int, Query(ge=0, le=10_000)]
ScoreQ = Annotated[float | None, Query(ge=-1.0, le=1.0)]


class Web:
    """The app's state: the library, whose one model thread runs every query's model
    work (see `retrieval.model.thread`)."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def with_model(self, work: Callable[[Library], T]) -> T:
        def run(library: Library) -> T:
            library.reload_if_stale()
            return work(library)

        return self.library.on_model_thread(run)

    def meta(self, image_id: int) -> ImageMeta:
        return self.library.store.indexed(image_id)

    def poster(self, video: int) -> float:
        """The second of a video's own vector: its most typical moment."""
        times = self.library.store.times_of([video])[0]
        return float(times[0]) if times is not None and len(times) else 0.0


def query_filters(
    limit: LimitQ = 60,
    offset: OffsetQ = 0,
    folder: str | None = None,
    tag: str | None = None,
    date_from: schemas.Day | None = None,
    date_to: schemas.Day | None = None,
    min_score: ScoreQ = None,
    sort: schemas.Sort = "score",
    place: Annotated[str | None, Query(max_length=200)] = None,
    near: Annotated[str | None, Query(pattern=schemas.NEAR_PATTERN)] = None,
    camera: Annotated[str | None, Query(max_length=200)] = None,
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
    )


BoxQ = Annotated[
    str | None,
    Query(
        pattern=schemas.BOX_PATTERN,
        description="only this region: X,Y,W,H in pixels of the upright picture, or "
        "fractions of it when all four are at most 1 (0.5,0,0.5,1: the right half)",
    ),
]
FiltersQ = Annotated[schemas.Filters, Depends(query_filters)]


def tag_out(tag: TagRecord) -> schemas.TagOut:
    return schemas.TagOut(
        label=tag.label,
        label_set=tag.label_set,
        score=tag.score,
        assigned=tag.assigned,
        ranges=[tuple(r) for r in json.loads(tag.ranges)] if tag.ranges else [],
    )


def hit(
    meta: ImageMeta, score: float | None = None, found: SearchHit | None = None
) -> schemas.Hit:
    """A result for the page; `found`: the search hit it comes from (its moments)."""
    video = found.video_id if found is not None else None
    if video is None and meta.kind == "video":
        video = meta.image_id
    return schemas.Hit(
        id=meta.image_id,
        path=meta.path,
        name=os.path.basename(meta.path),
        score=score,
        width=meta.width,
        height=meta.height,
        taken_at=meta.taken_at,
        version=meta.mtime_ns,
        kind="video" if meta.kind == "video" else "photo",
        duration=meta.duration,
        video=video,
        t=found.t if found is not None else None,
        moments=[
            schemas.MomentOut(t=m.t, score=m.score)
            for m in (found.moments if found is not None else ())
        ],
    )


def described(details: PhotoDetails) -> dict[str, Any]:
    """The large view's lines about where and with what a photo was taken."""
    info, place = details.info, details.place
    exposure = []
    if info.exposure_s:
        exposure.append(
            f"1/{round(1 / info.exposure_s)} s"
            if info.exposure_s < 1
            else f"{info.exposure_s:g} s"
        )
    if info.f_number:
        exposure.append(f"f/{info.f_number:g}")
    if info.iso:
        exposure.append(f"ISO {info.iso}")
    if info.focal_length_mm:
        exposure.append(f"{info.focal_length_mm:g} mm")
    return {
        "place": ", ".join(
            dict.fromkeys(p for p in (place.city, place.region, place.country) if p)
        )
        if place
        else None,
        "latitude": info.latitude,
        "longitude": info.longitude,
        "camera": info.camera,
        "lens": info.lens,
        "exposure": " · ".join(exposure) or None,
        "utc_offset_min": info.utc_offset_min,
    }


def options_from(filters: schemas.Filters, extra: int = 0) -> SearchOptions:
    """Search options for a page of results, asking for `extra` more to tell if a next page
    holds anything."""

    def day(value: date | None, shift: int = 0) -> datetime | None:
        if value is None:
            return None
        try:
            return datetime.combine(value + timedelta(days=shift), time())
        except OverflowError:  # the day after 9999-12-31: no end at all
            return None

    return SearchOptions(
        top=filters.limit + extra,
        min_score=filters.min_score,
        under=filters.folder or None,
        tag=filters.tag or None,
        offset=filters.offset,
        taken_after=day(filters.date_from),
        taken_before=day(filters.date_to, shift=1),  # the end day is included
        sort=filters.sort,
        place=filters.place or None,
        near=parse_near(filters.near) if filters.near else None,
        camera=filters.camera or None,
    )


def results(
    web: Web, hits: list[SearchHit], filters: schemas.Filters
) -> schemas.Results:
    page = hits[: filters.limit]
    meta = web.library.store.meta(h.image_id for h in page)
    return schemas.Results(
        results=[hit(meta[h.image_id], h.score, h) for h in page if h.image_id in meta],
        offset=filters.offset,
        limit=filters.limit,
        more=len(hits) > filters.limit,
    )


def run_search(
    web: Web, terms: list[QueryTerm], filters: schemas.Filters
) -> schemas.Results:
    def run(library: Library) -> list[SearchHit]:
        vector, query_ids = query_vector(library, terms)
        return search(library, vector, options_from(filters, extra=1), query_ids)

    return results(web, web.with_model(run), filters)


def one_line(exc: RequestValidationError) -> str:
    """The first validation error, naming where it is: "query parameter 'limit': ..."."""
    errors = exc.errors()
    if not errors:
        return "invalid request"

    # A union's branch shows up as a part of the location ("terms.0.TextTerm.text"). A
    # branch that misses a field or has one too many is merely the wrong branch: report a
    # bad value in the right one if there is one, else what the union wants.
    def in_branch(error: Any) -> bool:
        return any(str(part) in UNION_BRANCHES for part in error.get("loc", ()))

    shape = ("missing", "extra_forbidden")
    first = next(
        (e for e in errors if not (in_branch(e) and e.get("type") in shape)), errors[0]
    )
    loc = [str(part) for part in first.get("loc", ())]
    where = [part for part in loc if part not in UNION_BRANCHES]
    if in_branch(first) and first.get("type") in shape:
        term = ".".join(where[1:-1]) if len(where) > 2 else ".".join(where[1:])
        return f"body field {term!r}: a term has exactly one of 'text' and 'image_id'"
    kinds = {"query": "query parameter", "body": "body field", "path": "path part"}
    place = kinds.get(where[0], where[0]) if where else "request"
    name = ".".join(where[1:])
    message = str(first.get("msg", "invalid"))
    if first.get("type") == "json_invalid":
        return f"malformed JSON body: {first.get('ctx', {}).get('error', message)}"
    return f"{place} {name!r}: {message}" if name else f"{place}: {message}"


def create_app(
    library: Library,
    *,
    token: str | None = None,
    loopback_only: bool = True,
) -> Guard:
    """The ASGI app."""
    web = Web(library)
    app = FastAPI(
        title="photosearch",
        description="Search a local photo library by text, by example image and by tags.",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )

    @app.exception_handler(PhotosearchError)
    def photosearch_error(_: Request, exc: PhotosearchError) -> JSONResponse:
        code = next((c for k, c in STATUS_OF.items() if isinstance(exc, k)), 400)
        return JSONResponse({"error": str(exc)}, status_code=code)

    @app.exception_handler(RequestValidationError)
    def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": one_line(exc)}, status_code=422)

    @app.exception_handler(HTTPException)
    def http_error(_: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and exc.detail == "Not Found":
            return JSONResponse(
                {"error": "no such page or API endpoint: see /api/docs"}, 404
            )
        return JSONResponse(
            {"error": str(exc.detail)},
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    def crashed(_: Request, exc: Exception) -> JSONResponse:
        log.error("request failed", exc_info=exc)
        return JSONResponse(
            {"error": "internal error: the server's log has the details"}, 500
        )

    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": schemas.Error} for code in ERROR_CODES
    }

    @app.get("/api/status", response_model=schemas.Status, responses=errors)
    def get_status() -> dict[str, Any]:
        from photosearch.library_status import collect

        summary = collect(library.store.root, library.store)
        return {**summary, "model": library.model.describe()}

    @app.get("/api/search", response_model=schemas.Results, responses=errors)
    def search_text(
        q: Annotated[str, Query(min_length=1, max_length=1000)], filters: FiltersQ
    ) -> schemas.Results:
        """Text to image: the photos that best match a sentence."""
        text = q.strip()
        if not text:
            raise UsageError("empty query: describe what to find, e.g. 'a red car'")
        return run_search(web, [QueryTerm(1.0, text=text)], filters)

    @app.post("/api/search", response_model=schemas.Results, responses=errors)
    def search_combined(request: schemas.SearchRequest) -> schemas.Results:
        """Combined query: texts and library images, each weighted; negative weights
        steer away ("a beach" minus "people")."""
        terms = [
            QueryTerm(t.weight, text=t.text)
            if isinstance(t, schemas.TextTerm)
            else QueryTerm(
                t.weight,
                image_id=t.image_id,
                box=parse_box(",".join(map(str, t.box))) if t.box else None,
            )
            for t in request.terms
        ]
        return run_search(web, terms, request)

    @app.post("/api/search/image", response_model=schemas.Results, responses=errors)
    def search_upload(
        file: Annotated[UploadFile, File(description="an image file")],
        filters: FiltersQ,
        box: BoxQ = None,
    ) -> schemas.Results:
        """Image to image: photos like an uploaded one (or like a region of it)."""
        data = file.file.read()
        if not data:
            raise UsageError("the uploaded file is empty: choose an image file")
        region = parse_box(box) if box else None
        return run_search(web, [QueryTerm(1.0, upload=data, box=region)], filters)

    @app.get("/api/images", response_model=schemas.Results, responses=errors)
    def browse(
        filters: FiltersQ,
        month_day: Annotated[
            str | None,
            Query(
                pattern=r"^(1[0-2]|0?[1-9])-(3[01]|[12][0-9]|0?[1-9])$",
                description="M-D: photos taken on this day of an earlier year "
                '("on this day")',
            ),
        ] = None,
    ) -> schemas.Results:
        """Every photo, or those the filters leave (min_score aside), newest first by
        EXIF date (oldest first with sort=oldest; undated ones last)."""
        limit, offset = filters.limit, filters.offset
        options = options_from(filters, extra=1)
        if month_day is not None:
            month, day = (int(part) for part in month_day.split("-"))
            this_year = datetime(datetime.now().year, 1, 1)
            before = min(options.taken_before or this_year, this_year)
            options = replace(options, on_day=(month, day), taken_before=before)
        if not options.narrows:
            rows = library.store.browse(offset, limit + 1)
        else:
            rows = search_browse(library, options)
        return schemas.Results(
            results=[hit(m) for m in rows[:limit]],
            offset=offset,
            limit=limit,
            more=len(rows) > limit,
        )

    @app.get(
        "/api/images/{image_id}", response_model=schemas.ImageDetail, responses=errors
    )
    def image_detail(image_id: ImageIdP) -> schemas.ImageDetail:
        meta = web.meta(image_id)
        tags = library.store.tags(assigned_only=False, image_id=image_id)
        details = library.store.details([image_id]).get(image_id)
        return schemas.ImageDetail(
            **hit(meta).model_dump(),
            folder=os.path.dirname(meta.path),
            size=meta.size,
            tags=[tag_out(t) for t in tags],
            **(described(details) if details is not None else {}),
        )

    @app.get(
        "/api/images/{image_id}/similar",
        response_model=schemas.Results,
        responses=errors,
    )
    def similar(
        image_id: ImageIdP, filters: FiltersQ, box: BoxQ = None
    ) -> schemas.Results:
        """More like this: the photos closest to a library photo, or to a region of it
        (the photo itself left out)."""
        region = parse_box(box) if box else None
        return run_search(web, [QueryTerm(1.0, image_id=image_id, box=region)], filters)

    @app.post(
        "/api/images/{image_id}/describe",
        response_model=schemas.Ranked,
        responses=errors,
    )
    def describe(
        image_id: ImageIdP, request: schemas.DescribeRequest
    ) -> schemas.Ranked:
        """Image to text: the given texts, best match first."""
        ranked = web.with_model(
            lambda lib: rank_texts(lib, library_vector(lib, image_id), request.texts)
        )
        return schemas.Ranked(
            results=[
                schemas.TextScoreOut(
                    text=r.text, score=r.score, probability=r.probability
                )
                for r in ranked
            ]
        )

    @app.get(
        "/api/images/{image_id}/concepts",
        response_model=schemas.Concepts,
        responses=errors,
    )
    def concepts(image_id: ImageIdP) -> schemas.Concepts:
        """What is in this photo: the vocabulary's concepts it shows, and a caption."""
        from retrieval.tagging.concepts import describe as describe_photo
        from retrieval.tagging.concepts import vocabulary

        web.meta(image_id)
        found = web.with_model(
            lambda lib: describe_photo(
                lib, library_vector(lib, image_id), vocabulary(lib)
            )
        )
        return schemas.Concepts(
            concepts=[
                schemas.TextScoreOut(
                    text=c.text, score=c.score, probability=c.probability
                )
                for c in found.concepts
            ],
            caption=found.caption,
        )

    @app.get(
        "/api/images/{image_id}/thumbnail",
        response_class=FileResponse,
        responses={
            **errors,
            200: {"description": "a JPEG", "content": {"image/jpeg": IMAGE_BYTES}},
        },
    )
    def thumbnail(
        image_id: ImageIdP,
        size: Annotated[
            Literal[320, 1280],
            Query(description="longer side"),
            BeforeValidator(schemas.number_from_query),
        ] = 320,
        t: Annotated[
            float | None,
            Query(ge=0, le=10**7, description="a video's: the frame at this second"),
        ] = None,
    ) -> FileResponse:
        """A JPEG whose longer side is at most `size`, cached. A video's shows the frame
        at `t`, or its most typical moment."""
        from retrieval.media.thumbnails import thumbnail as make

        path = make(
            library.store.root,
            web.meta(image_id),
            size,
            library.settings.max_pixels,
            t=t,
            poster=lambda: web.poster(image_id),
        )
        return FileResponse(
            path,
            media_type="image/jpeg",
            headers={"Cache-Control": "private, max-age=86400"},
        )

    @app.get(
        "/api/images/{image_id}/original",
        response_class=FileResponse,
        responses={
            **errors,
            200: {
                "description": "the photo's or video's file",
                "content": {"image/*": IMAGE_BYTES, "video/*": IMAGE_BYTES},
            },
            206: {
                "description": "the part of it a Range header asked for",
                "content": {"image/*": IMAGE_BYTES, "video/*": IMAGE_BYTES},
            },
            416: {"description": "a Range outside the file"},
        },
    )
    def original(image_id: ImageIdP) -> FileResponse:
        """The photo's or video's own file; parts of it with a Range header (a video
        plays from any second without being downloaded whole)."""
        meta = web.meta(image_id)
        if not os.path.isfile(meta.path):
            raise NotFoundError(
                f"image {image_id}'s file {meta.path} is gone: run `photosearch index`"
            )
        return FileResponse(meta.path, headers={"Cache-Control": "private, no-cache"})

    @app.get(
        "/api/images/{image_id}/tags",
        response_model=list[schemas.TagOut],
        responses=errors,
    )
    def image_tags(image_id: ImageIdP) -> list[schemas.TagOut]:
        web.meta(image_id)
        tags = library.store.tags(assigned_only=False, image_id=image_id)
        return [tag_out(t) for t in tags]

    def label_set_out(name: str) -> dict[str, Any]:
        record = library.store.label_set(name)
        counts = {label: 0 for label in record.labels}
        for t in library.store.tags(label_set=name):
            counts[t.label] += 1
        return {
            "name": record.name,
            "labels": list(record.labels),
            "threshold": record.threshold,
            "top": record.top,
            "exclusive": record.exclusive,
            "counts": counts,
        }

    def apply(name: str) -> schemas.Tagged:
        from retrieval.tagging.scoring import tag_images

        tagged = web.with_model(
            lambda lib: tag_images(lib.store, lib.encoder, lib.store.label_set(name))
        )
        return schemas.Tagged(**label_set_out(name), tagged=tagged)

    @app.get(
        "/api/labelsets", response_model=list[schemas.LabelSetOut], responses=errors
    )
    def label_sets() -> list[dict[str, Any]]:
        return [label_set_out(r.name) for r in library.store.label_sets()]

    @app.post("/api/labelsets", response_model=schemas.Tagged, responses=errors)
    def create_label_set(request: schemas.LabelSetIn) -> schemas.Tagged:
        """Create (or replace) a label set and tag every photo with it."""
        from retrieval.tagging.scoring import clean_labels

        settings = library.settings
        library.store.save_label_set(
            request.name.strip(),
            clean_labels(request.labels),
            settings.tag_threshold if request.threshold is None else request.threshold,
            settings.tag_top if request.top is None else request.top,
            exclusive=request.exclusive,
        )
        return apply(request.name.strip())

    @app.post(
        "/api/labelsets/{name}/apply", response_model=schemas.Tagged, responses=errors
    )
    def apply_label_set(name: LabelSetP) -> schemas.Tagged:
        """Tag every photo with a saved label set again (new photos included)."""
        return apply(name)

    @app.delete(
        "/api/labelsets/{name}", response_model=schemas.Deleted, responses=errors
    )
    def delete_label_set(name: LabelSetP) -> dict[str, str]:
        library.store.delete_label_set(name)
        return {"deleted": name}

    @app.get("/api/duplicates", response_model=schemas.Duplicates, responses=errors)
    def duplicates(
        threshold: Annotated[float | None, Query(ge=0.5, le=1.0)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> schemas.Duplicates:
        """Groups of near-identical photos (resized and re-encoded copies), largest first."""
        from retrieval.index.duplicates import duplicate_groups

        least = library.settings.duplicate_threshold if threshold is None else threshold
        groups = web.with_model(
            lambda lib: duplicate_groups(lib.store, lib.index, lib.model.dim, least)
        )[:limit]
        meta = library.store.meta(i for group in groups for i, _ in group)
        return schemas.Duplicates(
            threshold=least,
            groups=[
                [
                    schemas.DuplicateMember(
                        id=i,
                        path=meta[i].path,
                        name=os.path.basename(meta[i].path),
                        similarity=s,
                        version=meta[i].mtime_ns,
                    )
                    for i, s in group
                    if i in meta
                ]
                for group in groups
            ],
        )

    @app.api_route(
        "/api/{rest:path}", methods=list(HTTP_METHODS), include_in_schema=False
    )
    def unknown_api(rest: str, request: Request) -> None:
        """Answers what no operation took: 405 with `Allow` where the path exists with
        other methods, else 404 (the page's files would otherwise answer both)."""
        allowed = sorted(
            {
                method
                for route in app.routes
                if isinstance(route, APIRoute)
                and route.endpoint is not unknown_api
                and route.matches(request.scope)[0] == Match.PARTIAL
                for method in route.methods or ()
            }
        )
        if allowed:
            raise HTTPException(
                405,
                f"{request.method} is not allowed on /api/{rest}: use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise NotFoundError(f"no API endpoint /api/{rest}: see /api/docs")

    declare_security(app, token is not None)

    app.mount("/", StaticFiles(directory=STATIC, html=True), name="page")
    max_body = library.settings.upload_max_mb * 2**20
    return Guard(app, token=token, loopback_only=loopback_only, max_body=max_body)


def declare_security(app: FastAPI, required: bool) -> None:
    """The token, as the OpenAPI description's security schemes: a bearer header, the
    `token` query parameter, or the page's cookie. Optional when the server has none."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = make()
        spec.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "tokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
            "tokenCookie": {"type": "apiKey", "in": "cookie", "name": COOKIE},
        }
        options: list[dict[str, list[str]]] = [
            {"bearer": []},
            {"tokenQuery": []},
            {"tokenCookie": []},
        ]
        spec["security"] = options if required else [*options, {}]
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
