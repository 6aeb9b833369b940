"""The library's records as the API's bodies (photosearch.web.schemas)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import Any

from photosearch.web import schemas
from photosearch.web.params import options_from
from photosearch.web.state import Web
from retrieval.library import Library
from retrieval.records import ImageMeta, PhotoDetails, SearchHit, TagRecord
from retrieval.search.pending import pending_notes
from retrieval.search.search import SearchOptions, search
from retrieval.search.terms import QueryTerm
from retrieval.search.vectors import query_vector
from retrieval.text.fold import sentence_words
from retrieval.text.search import matched_lines


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


def with_people(library: Library, hits: list[schemas.Hit]) -> list[schemas.Hit]:
    """The hits with the persons in them."""
    people = library.store.people_of([h.id for h in hits]) if hits else {}
    for h in hits:
        h.people = [schemas.PersonInPhoto(**p) for p in people.get(h.id, [])]
    return hits


def with_text(
    library: Library, hits: list[schemas.Hit], options: SearchOptions
) -> list[schemas.Hit]:
    """The hits with the line of their text that matched what was asked (the contains
    filter, or the query's words)."""
    contains = options.filters.contains
    terms = [*(contains.terms if contains else ()), *options.words]
    lines = matched_lines(library, [h.id for h in hits], terms)
    for h in hits:
        line = lines.get(h.id)
        if line is not None:
            h.text = line.text
            h.text_box = list(line.box) if line.box is not None else None
    return hits


def results(
    web: Web, hits: list[SearchHit], filters: schemas.Filters, options: SearchOptions
) -> schemas.Results:
    page = hits[: filters.limit]
    meta = web.library.store.meta(h.image_id for h in page)
    found = [hit(meta[h.image_id], h.score, h) for h in page if h.image_id in meta]
    return schemas.Results(
        results=with_text(web.library, with_people(web.library, found), options),
        offset=filters.offset,
        limit=filters.limit,
        more=len(hits) > filters.limit,
        pending=pending_out(web.library, options),
    )


def pending_out(library: Library, options: SearchOptions) -> list[schemas.PendingOut]:
    """What the results may miss: the filters' analyses still under way."""
    return [
        schemas.PendingOut(
            analysis=note.analysis,
            pending=note.pending,
            of=note.of,
            message=note.message,
        )
        for note in pending_notes(library, options.filters)
    ]


def run_search(
    web: Web, terms: list[QueryTerm], filters: schemas.Filters
) -> schemas.Results:
    options = options_from(filters, extra=1)
    if terms and all(t.text is not None and t.weight > 0 for t in terms):
        # A query of sentences alone: their words are looked for in the photos' text.
        options = replace(
            options, words=sentence_words(" ".join(t.text or "" for t in terms))
        )

    def run(library: Library) -> list[SearchHit]:
        vector, query_ids = query_vector(library, terms)
        return search(library, vector, options, query_ids)

    return results(web, web.with_model(run), filters, options)
