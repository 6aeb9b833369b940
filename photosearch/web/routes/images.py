"""A library's images: listing them, one image's details, its files (thumbnail, original),
photos like it, and what it shows."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BeforeValidator

from photosearch.web import schemas
from photosearch.web.convert import (
    described,
    hit,
    pending_out,
    run_search,
    tag_out,
    with_people,
    with_text,
)
from photosearch.web.errors import ERRORS
from photosearch.web.params import BoxQ, FiltersQ, ImageIdP, options_from
from photosearch.web.ranges import check_range
from photosearch.web.state import WebD
from retrieval.errors import NotFoundError
from retrieval.search.collect import candidates
from retrieval.search.describe import rank_texts
from retrieval.search.search import browse as browse_images
from retrieval.search.terms import QueryTerm, parse_box
from retrieval.search.vectors import library_vector

router = APIRouter()
IMAGE_BYTES = {"schema": {"type": "string", "format": "binary"}}


@router.get("/api/images", response_model=schemas.Results, responses=ERRORS)
def browse(
    filters: FiltersQ,
    web: WebD,
    month_day: Annotated[
        str | None,
        Query(
            pattern=schemas.MONTH_DAY_PATTERN,
            description="M-D: photos taken on this day of an earlier year "
            '("on this day")',
        ),
    ] = None,
) -> schemas.Results:
    """Every photo, or those the filters leave (min_score aside), newest first by
    EXIF date (oldest first with sort=oldest; undated ones last)."""
    options = options_from(filters, extra=1, on_day=month_day)
    if month_day is not None:
        # An earlier year's: this year's photos of the day are not memories yet.
        last_year = date(date.today().year - 1, 12, 31)
        end = min(options.filters.date_to or last_year, last_year)
        options = replace(options, filters=replace(options.filters, date_to=end))
    rows = browse_images(web.library, options)
    found = with_people(web.library, [hit(m) for m in rows[: filters.limit]])
    return schemas.Results(
        results=with_text(web.library, found, options),
        offset=filters.offset,
        limit=filters.limit,
        more=len(rows) > filters.limit,
        pending=pending_out(web.library, options),
    )


@router.get(
    "/api/images/{image_id}", response_model=schemas.ImageDetail, responses=ERRORS
)
def image_detail(image_id: ImageIdP, web: WebD) -> schemas.ImageDetail:
    store = web.library.store
    meta = web.meta(image_id)
    tags = store.tags(assigned_only=False, image_id=image_id)
    details = store.details([image_id]).get(image_id)
    return schemas.ImageDetail(
        **with_people(web.library, [hit(meta)])[0].model_dump(),
        folder=os.path.dirname(meta.path),
        size=meta.size,
        tags=[tag_out(t) for t in tags],
        **(described(details) if details is not None else {}),
    )


@router.get(
    "/api/images/{image_id}/text",
    response_model=list[schemas.TextLineOut],
    responses=ERRORS,
)
def image_text(image_id: ImageIdP, web: WebD) -> list[schemas.TextLineOut]:
    """The lines of text read in a photo (or in a video's moments), in reading order;
    [] when none was read."""
    web.meta(image_id)  # 404 for an image the library does not have
    return [
        schemas.TextLineOut(
            text=line.text,
            confidence=line.confidence,
            box=list(line.box()),
            quad=[list(p) for p in line.quad],
            t=line.t,
        )
        for line in web.library.store.text_of([image_id]).get(image_id, [])
    ]


@router.get(
    "/api/images/{image_id}/metadata",
    response_model=schemas.MetadataOut,
    responses=ERRORS,
)
def image_metadata(image_id: ImageIdP, web: WebD) -> schemas.MetadataOut:
    """What other photo programs wrote of a photo: keywords, title, description,
    rating, colour label, named regions (all empty when none wrote anything)."""
    web.meta(image_id)  # 404 for an image the library does not have
    found = web.library.store.metadata_of([image_id]).get(image_id)
    return schemas.MetadataOut(**(found.as_json() if found is not None else {}))


@router.get(
    "/api/images/{image_id}/similar", response_model=schemas.Results, responses=ERRORS
)
def similar(
    image_id: ImageIdP, filters: FiltersQ, web: WebD, box: BoxQ = None
) -> schemas.Results:
    """More like this: the photos closest to a library photo, or to a region of it
    (the photo itself left out)."""
    region = parse_box(box, "box") if box else None
    return run_search(web, [QueryTerm(1.0, image_id=image_id, box=region)], filters)


@router.post(
    "/api/images/{image_id}/describe", response_model=schemas.Ranked, responses=ERRORS
)
def describe(
    image_id: ImageIdP, request: schemas.DescribeRequest, web: WebD
) -> schemas.Ranked:
    """Image to text: the given texts, best match first."""
    ranked = web.with_model(
        lambda lib: rank_texts(lib, library_vector(lib, image_id), request.texts)
    )
    return schemas.Ranked(
        results=[
            schemas.TextScoreOut(text=r.text, score=r.score, probability=r.probability)
            for r in ranked
        ]
    )


@router.get(
    "/api/images/{image_id}/concepts", response_model=schemas.Concepts, responses=ERRORS
)
def concepts(image_id: ImageIdP, web: WebD) -> schemas.Concepts:
    """What is in this photo: the vocabulary's concepts it shows, and a caption."""
    from retrieval.tagging.concepts import describe as describe_photo
    from retrieval.tagging.concepts import vocabulary

    web.meta(image_id)
    found = web.with_model(
        lambda lib: describe_photo(lib, library_vector(lib, image_id), vocabulary(lib))
    )
    return schemas.Concepts(
        concepts=[
            schemas.TextScoreOut(text=c.text, score=c.score, probability=c.probability)
            for c in found.concepts
        ],
        caption=found.caption,
    )


@router.get(
    "/api/images/{image_id}/thumbnail",
    response_class=FileResponse,
    responses={
        **ERRORS,
        200: {"description": "a JPEG", "content": {"image/jpeg": IMAGE_BYTES}},
    },
)
def thumbnail(
    image_id: ImageIdP,
    web: WebD,
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

    library = web.library
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


@router.get(
    "/api/images/{image_id}/original",
    response_class=FileResponse,
    responses={
        **ERRORS,
        200: {
            "description": "the photo's or video's file",
            "content": {"image/*": IMAGE_BYTES, "video/*": IMAGE_BYTES},
        },
        206: {
            "description": "the part of it a Range header asked for",
            "content": {"image/*": IMAGE_BYTES, "video/*": IMAGE_BYTES},
        },
        416: {"description": "a Range outside the file", "model": schemas.Error},
    },
)
def original(image_id: ImageIdP, request: Request, web: WebD) -> FileResponse:
    """The photo's or video's own file; parts of it with a Range header (a video
    plays from any second without being downloaded whole)."""
    meta = web.meta(image_id)
    if not os.path.isfile(meta.path):
        raise NotFoundError(
            f"image {image_id}'s file {meta.path} is gone: run `photosearch index`"
        )
    check_range(request.headers.get("range"), os.path.getsize(meta.path))
    return FileResponse(meta.path, headers={"Cache-Control": "private, no-cache"})


@router.post(
    "/api/download",
    response_class=StreamingResponse,
    responses={
        **ERRORS,
        200: {
            "description": "a ZIP of the photos' files, stored as they are (a name "
            "two of them share gets a suffix: IMG_0001 (1).jpg)",
            "content": {"application/zip": IMAGE_BYTES},
        },
    },
)
def download(body: schemas.Download, web: WebD) -> StreamingResponse:
    """Results taken into another program: their files in one ZIP."""
    files = []
    for image_id in dict.fromkeys(body.ids):
        meta = web.meta(image_id)  # 404 for an image the library does not have
        if not os.path.isfile(meta.path):
            raise NotFoundError(
                f"image {image_id}'s file {meta.path} is gone: run `photosearch index`"
            )
        files.append(meta.path)
    # Photos are compressed already: stored, not deflated. Spooled: a few photos stay
    # in memory, a large selection goes to a temporary file, not the server's memory.
    # It outlives this function: the response's generator closes it once sent.
    spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115
    names: set[str] = set()
    try:
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for path in files:
                name = next(
                    n for n in candidates(os.path.basename(path)) if n not in names
                )
                names.add(name)
                zf.write(path, name)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(1 << 20):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="photosearch.zip"'},
    )


@router.get(
    "/api/images/{image_id}/tags",
    response_model=list[schemas.TagOut],
    responses=ERRORS,
)
def image_tags(image_id: ImageIdP, web: WebD) -> list[schemas.TagOut]:
    web.meta(image_id)
    tags = web.library.store.tags(assigned_only=False, image_id=image_id)
    return [tag_out(t) for t in tags]
