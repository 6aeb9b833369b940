"""The library as a whole: its status, and its near-duplicates."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Query

from photosearch.web import schemas
from photosearch.web.errors import ERRORS
from photosearch.web.state import WebD

router = APIRouter()


@router.get("/api/status", response_model=schemas.Status, responses=ERRORS)
def get_status(web: WebD) -> dict[str, Any]:
    from photosearch.library_status import collect

    library = web.library
    summary = collect(library.store.root, library.store, settings=library.settings)
    return {**summary, "model": library.model.describe()}


@router.get("/api/duplicates", response_model=schemas.Duplicates, responses=ERRORS)
def duplicates(
    web: WebD,
    threshold: Annotated[float | None, Query(ge=0.5, le=1.0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> schemas.Duplicates:
    """Groups of near-identical photos (resized and re-encoded copies), largest first."""
    from retrieval.index.duplicates import duplicate_groups

    library = web.library
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
