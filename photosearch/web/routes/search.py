"""Searching: by a sentence, by weighted texts and library images, by an uploaded image."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from photosearch.web import schemas
from photosearch.web.convert import run_search
from photosearch.web.errors import ERRORS
from photosearch.web.params import BoxQ, FiltersQ
from photosearch.web.state import WebD
from retrieval.errors import UsageError
from retrieval.search.terms import QueryTerm, check_box, parse_box

router = APIRouter()


@router.get("/api/search", response_model=schemas.Results, responses=ERRORS)
def search_text(
    q: Annotated[str, Query(min_length=1, max_length=1000, pattern=schemas.NOT_BLANK)],
    filters: FiltersQ,
    web: WebD,
) -> schemas.Results:
    """Text to image: the photos that best match a sentence."""
    return run_search(web, [QueryTerm(1.0, text=q.strip())], filters)


@router.post("/api/search", response_model=schemas.Results, responses=ERRORS)
def search_combined(request: schemas.SearchRequest, web: WebD) -> schemas.Results:
    """Combined query: texts and library images, each weighted; negative weights
    steer away ("a beach" minus "people")."""
    terms = [
        QueryTerm(t.weight, text=t.text.strip())
        if isinstance(t, schemas.TextTerm)
        else QueryTerm(
            t.weight,
            image_id=t.image_id,
            box=check_box(t.box, "box") if t.box else None,
        )
        for t in request.terms
    ]
    return run_search(web, terms, request)


@router.post("/api/search/image", response_model=schemas.Results, responses=ERRORS)
def search_upload(
    file: Annotated[UploadFile, File(description="an image file")],
    filters: FiltersQ,
    web: WebD,
    box: BoxQ = None,
) -> schemas.Results:
    """Image to image: photos like an uploaded one (or like a region of it)."""
    data = file.file.read()
    if not data:
        raise UsageError("the uploaded file is empty: choose an image file")
    region = parse_box(box, "box") if box else None
    return run_search(web, [QueryTerm(1.0, upload=data, box=region)], filters)
