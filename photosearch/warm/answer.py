"""Running a query request (photosearch.warm.protocol) against an open library: what the
daemon does for a client, and what the command line does itself when no daemon runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retrieval.library import Library
    from retrieval.records import FloatArray, SearchHit
    from retrieval.search.search import SearchOptions

Request = dict[str, Any]

# The command line's filter options, for the message that asks for a query or a filter.
FILTERS_HINT = (
    "--place, --near, --camera, --after, --before, --in, --tag, --person, --contains, "
    "--keyword, --rating or --label"
)


def run_request(library: Library, request: Request) -> list[dict[str, Any]]:
    """Rows, best first: {id, path, score} for searches, {text, score, probability} for
    describe. Raises PhotosearchError for anything the user got wrong."""
    from retrieval.errors import UsageError
    from retrieval.search.describe import rank_texts
    from retrieval.search.filters import CLI_NAMES, parse_filters
    from retrieval.search.search import SearchOptions, browse, search
    from retrieval.search.terms import (
        QueryTerm,
        parse_box,
        parse_extra_terms,
        parse_image,
        parse_term,
    )
    from retrieval.search.vectors import image_vector, query_vector
    from retrieval.text.fold import sentence_words

    base = Path(request["cwd"])
    op, main = request["op"], request["main"]
    if op == "describe":
        vector, known = image_vector(library, parse_image(main, base))
        if not request["texts"]:
            return (
                _concept_rows(library, vector, request, base)
                + _text_rows(library, known)
                + _metadata_rows(library, known, base / main)
            )
        ranked = rank_texts(library, vector, request["texts"])
        return [
            {"text": r.text, "score": r.score, "probability": r.probability}
            for r in ranked
        ]
    options = SearchOptions(
        top=request["top"],
        min_score=request["min_score"],
        filters=parse_filters(request, CLI_NAMES, base),
        sort=request["sort"],
    )
    if op == "search":
        text = main.strip()
        if not text and not request["terms"]:
            if not options.filters.narrows:
                raise UsageError(
                    "empty query: describe what to find (photosearch search 'a red "
                    f"car'), or list photos by filters alone with {FILTERS_HINT}"
                )
            # Filters alone: browse what they leave, by date.
            listed: list[dict[str, Any]] = [
                {"id": m.image_id, "path": m.path, "score": None, "kind": m.kind}
                for m in browse(library, options)
            ]
            return with_found(library, listed, options)
        if not text:
            raise UsageError(
                "empty query: describe what to find, e.g. photosearch search 'a red car'"
            )
        first = QueryTerm(1.0, text=text)
        options = replace(options, words=sentence_words(text))
    elif request["face"]:
        from retrieval.faces.search import similar_faces

        if request["terms"] or request["box"] is not None:
            raise UsageError(
                "similar --face finds a person's photos by the face alone: leave out "
                "--box and the +TERM/-TERM terms, or leave out --face"
            )

        found = similar_faces(library, parse_image(main, base), options)
        metas = library.store.meta([i for i, _ in found])
        rows: list[dict[str, Any]] = [
            {"id": i, "path": metas[i].path, "score": score, "kind": metas[i].kind}
            for i, score in found
            if i in metas
        ]
        return with_found(library, rows, options)
    else:
        first = parse_term(main, image_only=True, base=base)
        if request["box"] is not None:
            first = replace(first, box=parse_box(request["box"]))
    terms = [first, *parse_extra_terms(request["terms"], base)]
    vector, query_ids = query_vector(library, terms)
    hits = search(library, vector, options, exclude=query_ids)
    return with_found(library, [hit_row(h) for h in hits], options)


def request_notes(library: Library, request: Request) -> list[str]:
    """What the answer to a search may miss: the filters resting on faces or text that
    have not looked at every photo yet (retrieval.search.pending); a line each."""
    from retrieval.search.filters import CLI_NAMES, parse_filters
    from retrieval.search.pending import pending_notes

    if request["op"] == "describe":
        return []
    filters = parse_filters(request, CLI_NAMES, Path(request["cwd"]))
    return [note.message for note in pending_notes(library, filters)]


def with_found(
    library: Library, rows: list[dict[str, Any]], options: SearchOptions
) -> list[dict[str, Any]]:
    """The rows with who is in them and the line of text that matched."""
    return with_text(
        library, with_people(library, rows, options.filters.persons), options
    )


def with_text(
    library: Library, rows: list[dict[str, Any]], options: SearchOptions
) -> list[dict[str, Any]]:
    """Each row with the line of its text that holds most of what was asked
    (`--contains`, or the sentence's words): `text` and `text_box` (left, top, right,
    bottom: fractions of the upright picture); None where none does."""
    from retrieval.text.search import matched_lines

    contains = options.filters.contains
    terms = [*(contains.terms if contains else ()), *options.words]
    lines = matched_lines(library, [r["id"] for r in rows], terms)
    for row in rows:
        line = lines.get(row["id"])
        row["text"] = line.text if line else None
        box = line.box if line else None
        row["text_box"] = [round(v, 4) for v in box] if box is not None else None
    return rows


def with_people(
    library: Library, rows: list[dict[str, Any]], asked: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Each row with the persons in it (`people`: id, name, box, moment). A video
    listed for persons asked for alone, with no moment of its own, answers with the
    first moment they are in."""
    people = library.store.people_of([r["id"] for r in rows]) if rows else {}
    wanted = {library.store.person_id(key) for key in asked}
    for row in rows:
        row["people"] = people.get(row["id"], [])
        if wanted and row.get("t") is None:
            times = [p["t"] for p in row["people"] if p["person"] in wanted]
            times = [t for t in times if t is not None]
            if times:
                row["t"] = min(times)
    return rows


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


def _text_rows(library: Library, image_id: int | None) -> list[dict[str, Any]]:
    """A library photo's text, as rows of kind "text" (describe shows them)."""
    if image_id is None:
        return []
    return [
        {
            "kind": "text",
            "text": line.text,
            "score": None,
            "probability": line.confidence,
        }
        for line in library.store.text_of([image_id]).get(image_id, [])
    ]


def _metadata_rows(
    library: Library, image_id: int | None, path: Path
) -> list[dict[str, Any]]:
    """What other programs wrote of the photo, as one row of kind "metadata": the
    library's record of a library photo, else what the file and its sidecars say."""
    from retrieval.metadata.read import read_metadata

    if image_id is not None:
        found = library.store.metadata_of([image_id]).get(image_id)
    else:
        found = read_metadata(path) if path.is_file() else None
    return (
        [{"kind": "metadata", **found.as_json()}] if found and not found.empty else []
    )


def _concept_rows(
    library: Library, vector: FloatArray, request: Request, base: Path
) -> list[dict[str, Any]]:
    """What the photo shows, from the vocabulary: the concepts as rows of kind
    "concept", then the caption as one row of kind "caption" (when any is shown)."""
    from retrieval.tagging.concepts import describe, vocabulary

    extra = base / request["vocabulary"] if request["vocabulary"] else None
    words = vocabulary(library, extra)
    description = describe(library, vector, words, request["top"])
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
