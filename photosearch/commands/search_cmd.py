"""photosearch search / similar / describe: text to image, image to image, image to text."""

from __future__ import annotations

import argparse
from pathlib import Path

from photosearch.commands.common import open_library, positive_int, read_lines
from photosearch.output import emit_hits, emit_json

TERMS_HELP = (
    "extra terms: +TERM adds, -TERM subtracts; a TERM is a sentence or an image path, "
    "with an optional weight (+2:cat, '-0.5:a blurry photo')"
)


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-k", "--top", type=positive_int, default=10, help="results (default 10)"
    )
    p.add_argument(
        "--min-score", type=float, metavar="S", help="only results scoring >= S"
    )
    p.add_argument(
        "--in", dest="under", metavar="PATH_PREFIX", help="only images under a folder"
    )
    p.add_argument("--tag", metavar="LABEL", help="only images tagged LABEL")
    p.add_argument("--json", action="store_true", help="JSON list of {id, path, score}")


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "search",
        parents=parents,
        help="find images by describing them",
        description=f"Text to image search. {TERMS_HELP}.",
    )
    p.add_argument(
        "query",
        help="a sentence, e.g. 'a dog on a beach at sunset'; then any +TERM/-TERM",
    )
    _filters(p)
    p.set_defaults(func=run_search)

    p = sub.add_parser(
        "similar",
        parents=parents,
        help="find images like a given one",
        description=f"Image to image search; the image can be in the library or not. {TERMS_HELP}.",
    )
    p.add_argument("image", help="an image file; then any +TERM/-TERM")
    _filters(p)
    p.set_defaults(func=run_similar)

    p = sub.add_parser(
        "describe",
        parents=parents,
        help="rank captions or labels for an image",
        description="Image to text: rank the given texts by how well they match the image.",
    )
    p.add_argument("image", help="an image file")
    p.add_argument(
        "--text", action="append", default=[], metavar="T", help="a candidate text"
    )
    p.add_argument(
        "--texts", type=Path, metavar="FILE", help="candidate texts, one per line"
    )
    p.add_argument(
        "--json", action="store_true", help="JSON list of {text, score, probability}"
    )
    p.set_defaults(func=run_describe)


def _run_query(args: argparse.Namespace, first: object) -> int:
    from retrieval.query import parse_extra_terms
    from retrieval.search import SearchOptions, query_vector, search

    options = SearchOptions(args.top, args.min_score, args.under, args.tag)
    terms = [first, *parse_extra_terms(args.terms)]
    with open_library(args) as library:
        vector, query_ids = query_vector(library, terms)  # type: ignore[arg-type]
        hits = search(library, vector, options, exclude=query_ids)
    emit_hits(hits, args.json)
    return 0


def run_search(args: argparse.Namespace) -> int:
    from retrieval.errors import UsageError
    from retrieval.query import QueryTerm

    text = args.query.strip()
    if not text:
        raise UsageError(
            "empty query: describe what to find, e.g. photosearch search 'a red car'"
        )
    return _run_query(args, QueryTerm(1.0, text=text))


def run_similar(args: argparse.Namespace) -> int:
    from retrieval.query import parse_term

    return _run_query(args, parse_term(args.image, image_only=True))


def run_describe(args: argparse.Namespace) -> int:
    from retrieval.errors import UsageError
    from retrieval.query import parse_image
    from retrieval.search import rank_texts

    texts = list(args.text)
    if args.texts is not None:
        texts += [line for line in read_lines(args.texts, "texts") if line.strip()]
    if not texts:
        raise UsageError("no texts to rank: pass --text T (repeatable) or --texts FILE")
    image = parse_image(args.image)
    with open_library(args) as library:
        ranked = rank_texts(library, image, texts)
    if args.json:
        emit_json(
            [
                {"text": r.text, "score": r.score, "probability": r.probability}
                for r in ranked
            ]
        )
    else:
        for r in ranked:
            print(f"{r.score:7.4f}  {r.probability:6.1%}  {r.text}")
    return 0
