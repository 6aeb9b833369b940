"""Label sets: the labels users invent, and tagging every photo with them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from photosearch.web import schemas
from photosearch.web.errors import ERRORS
from photosearch.web.params import LabelSetP
from photosearch.web.state import Web, WebD

router = APIRouter()


def label_set_out(web: Web, name: str) -> dict[str, Any]:
    store = web.library.store
    record = store.label_set(name)
    counts = {label: 0 for label in record.labels}
    for t in store.tags(label_set=name):
        counts[t.label] += 1
    return {
        "name": record.name,
        "labels": list(record.labels),
        "threshold": record.threshold,
        "top": record.top,
        "exclusive": record.exclusive,
        "counts": counts,
    }


def apply(web: Web, name: str) -> schemas.Tagged:
    from retrieval.tagging.scoring import tag_images

    tagged = web.with_model(
        lambda lib: tag_images(lib.store, lib.encoder, lib.store.label_set(name))
    )
    return schemas.Tagged(**label_set_out(web, name), tagged=tagged)


@router.get(
    "/api/labelsets", response_model=list[schemas.LabelSetOut], responses=ERRORS
)
def label_sets(web: WebD) -> list[dict[str, Any]]:
    return [label_set_out(web, r.name) for r in web.library.store.label_sets()]


@router.post("/api/labelsets", response_model=schemas.Tagged, responses=ERRORS)
def create_label_set(request: schemas.LabelSetIn, web: WebD) -> schemas.Tagged:
    """Create (or replace) a label set and tag every photo with it."""
    from retrieval.tagging.scoring import clean_labels

    settings = web.library.settings
    web.library.store.save_label_set(
        request.name.strip(),
        clean_labels(request.labels),
        settings.tag_threshold if request.threshold is None else request.threshold,
        settings.tag_top if request.top is None else request.top,
        exclusive=request.exclusive,
    )
    return apply(web, request.name.strip())


@router.post(
    "/api/labelsets/{name}/apply", response_model=schemas.Tagged, responses=ERRORS
)
def apply_label_set(name: LabelSetP, web: WebD) -> schemas.Tagged:
    """Tag every photo with a saved label set again (new photos included)."""
    return apply(web, name)


@router.delete(
    "/api/labelsets/{name}", response_model=schemas.Deleted, responses=ERRORS
)
def delete_label_set(name: LabelSetP, web: WebD) -> dict[str, str]:
    web.library.store.delete_label_set(name)
    return {"deleted": name}
