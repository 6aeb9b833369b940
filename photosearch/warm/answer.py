"""Query requests as plain data, so that the command line can run them in-process or hand
them to a running daemon that has the model loaded (the warm path)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retrieval.library import Library
    from retrieval.records import FloatArray, SearchHit

OPS = ("search", "similar", "describe")


@dataclass(frozen=True)
class QueryRequest:
    op: str  # one of OPS
    main: str  # the sentence (search) or the image path (similar, describe)
    cwd: str  # the user's working folder: relative image paths are resolved against it
    terms: list[str] = field(default_factory=list)  # "+TERM" / "-TERM"
    top: int = 10
    min_score: float | None = None
    under: str | None = None
    tag: str | None = None
    texts: list[str] = field(default_factory=list)  # describe: the candidate texts
    box: str | None = None  # similar: only this region of the image, "X,Y,W,H"
    sort: str = "score"  # "score", "newest" or "oldest"
    place: str | None = (
        None  # the filters of retrieval.search.search.SearchOptions, as typed
    )
    near: str | None = None  # "LAT,LON[,KM]"
    camera: str | None = None
    after: str | None = None  # "YYYY-MM-DD", inclusive
    before: str | None = None  # exclusive
    vocabulary: str | None = None  # describe without texts: a file of extra concepts

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueryRequest:
        return cls(**data)


def run_request(library: Library, request: QueryRequest) -> list[dict[str, Any]]:
    """Rows, best first: {id, path, score} for searches, {text, score, probability} for
    describe. Raises PhotosearchError for anything the user got wrong."""
    from retrieval.errors import UsageError
    from retrieval.search.search import (
        SearchOptions,
        browse,
        image_vector,
        query_vector,
        rank_texts,
        search,
    )
    from retrieval.search.terms import (
        QueryTerm,
        parse_box,
        parse_day,
        parse_extra_terms,
        parse_image,
        parse_near,
        parse_term,
    )

    base = Path(request.cwd)
    under = str(base / request.under) if request.under else None
    if request.op == "describe":
        vector, _ = image_vector(library, parse_image(request.main, base))
        if not request.texts:
            return _concept_rows(library, vector, request, base)
        ranked = rank_texts(library, vector, request.texts)
        return [
            {"text": r.text, "score": r.score, "probability": r.probability}
            for r in ranked
        ]
    options = SearchOptions(
        request.top,
        request.min_score,
        under,
        request.tag,
        sort=request.sort,
        taken_after=parse_day(request.after, "--after") if request.after else None,
        taken_before=parse_day(request.before, "--before") if request.before else None,
        place=request.place or None,
        near=parse_near(request.near) if request.near else None,
        camera=request.camera or None,
    )
    if request.op == "search":
        text = request.main.strip()
        if not text and not request.terms:
            # Filters alone: browse what they leave, by date.
            return [
                {"id": m.image_id, "path": m.path, "score": None, "kind": m.kind}
                for m in browse(library, options)
            ]
        if not text:
            raise UsageError(
                "empty query: describe what to find, e.g. photosearch search 'a red car'"
            )
        first = QueryTerm(1.0, text=text)
    elif request.op == "similar":
        first = parse_term(request.main, image_only=True, base=base)
        if request.box is not None:
            first = replace(first, box=parse_box(request.box))
    else:
        raise UsageError(f"unknown request {request.op!r}: one of {', '.join(OPS)}")
    terms = [first, *parse_extra_terms(request.terms, base)]
    vector, query_ids = query_vector(library, terms)
    hits = search(library, vector, options, exclude=query_ids)
    return [hit_row(h) for h in hits]


def hit_row(hit: SearchHit) -> dict[str, Any]:
    """A search result as the CLI's --json and the daemon give it."""
    return {
        "id": hit.image_id,
        "path": hit.path,
        "score": hit.score,
        "kind": hit.kind,
        # The other files of the shot (its RAW), and a Live Photo's video.
        "companions": list(hit.companions),
        "live": hit.live,
        # A video's (or a Live Photo's motion part's) best moment, and its best moments.
        "t": hit.t,
        "moments": [{"t": m.t, "score": round(m.score, 6)} for m in hit.moments],
    }


def _concept_rows(
    library: Library, vector: FloatArray, request: QueryRequest, base: Path
) -> list[dict[str, Any]]:
    """What the photo shows, from the vocabulary: the concepts as rows of kind
    "concept", then the caption as one row of kind "caption" (when any is shown)."""
    from retrieval.tagging.concepts import describe, vocabulary

    extra = base / request.vocabulary if request.vocabulary else None
    words = vocabulary(library, extra)
    description = describe(library, vector, words, request.top)
    rows: list[dict[str, Any]] = [
        {
            "kind": "concept",
            "text": c.text,
            "score": c.score,
            "probability": c.probability,
        }
        for c in description.concepts
    ]
    if description.caption is not None:
        rows.append(
            {
                "kind": "caption",
                "text": description.caption,
                "score": None,
                "probability": None,
            }
        )
    return rows
