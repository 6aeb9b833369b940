"""photosearch search / similar / describe: text to image, image to image, image to text."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from photosearch.commands.options import configure_logging, positive_int
from photosearch.output import emit_hit_rows, emit_json
from photosearch.warm.lean import TYPE_CHECKING
from photosearch.warm.protocol import make_request
from retrieval.choices import SORTS, library_location
from retrieval.errors import UsageError

if TYPE_CHECKING:
    from typing import Any

    # What a query asks, as photosearch.warm.answer.QueryRequest's fields: a plain dict here,
    # so that a query a daemon answers never imports dataclasses and the library's modules.
    Request = dict[str, Any]

# The commands this module registers.
COMMANDS = ("search", "similar", "describe")
TERMS_HELP = (
    "extra terms: +TERM adds, -TERM subtracts; a TERM is a sentence, an image path or a "
    "library image as id:N (a result you liked or not), with an optional weight (+2:cat, "
    "'-0.5:a blurry photo', -id:42); a term that looks like an option (-x, --word) "
    "goes after --"
)


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-k", "--top", type=positive_int, default=10, help="results (default 10)"
    )
    p.add_argument(
        "--min-score", type=float, metavar="S", help="only results scoring >= S"
    )
    p.add_argument(
        "--in", dest="folder", metavar="FOLDER", help="only images in or below a folder"
    )
    p.add_argument("--tag", metavar="LABEL", help="only images tagged LABEL")
    p.add_argument(
        "--person",
        action="append",
        metavar="NAME_OR_ID",
        help="only photos this person is in (repeat: all of them together; "
        "`photosearch people` lists them)",
    )
    p.add_argument(
        "--contains",
        metavar="WORDS",
        help="only photos whose text (read in them, or their title, description or "
        'keywords from other programs) holds all these words, in any order; "a '
        'phrase" in quotes, in that order; case and accents aside',
    )
    p.add_argument(
        "--keyword",
        action="append",
        metavar="KEYWORD",
        help="only photos with this keyword from XMP, IPTC or sidecars (any level of a "
        "hierarchy: Lisbon finds Places|Portugal|Lisbon; repeat: all of them)",
    )
    p.add_argument(
        "--rating",
        metavar="STARS",
        help="only photos rated at least this many stars (1-5, xmp:Rating)",
    )
    p.add_argument(
        "--label",
        metavar="COLOUR",
        help="only photos with this colour label (Red, Yellow, Green, ..., xmp:Label)",
    )
    p.add_argument(
        "--place",
        metavar="TEXT",
        help="only photos taken in this town, region or country (from their GPS "
        "position, e.g. Lisbon, Portugal, PT)",
    )
    p.add_argument(
        "--near",
        metavar="LAT,LON[,KM]",
        help="only photos taken within KM (default 10) of a position",
    )
    p.add_argument(
        "--camera", metavar="TEXT", help="only photos whose camera or lens matches TEXT"
    )
    p.add_argument(
        "--after",
        "--from",
        dest="date_from",
        metavar="DATE",
        help="only photos taken on DATE or later (YYYY-MM-DD; YYYY-MM or YYYY: from "
        "its first day)",
    )
    p.add_argument(
        "--before",
        "--to",
        dest="date_to",
        metavar="DATE",
        help="only photos taken on DATE or earlier: the day itself is included, as the "
        "API's date_to (YYYY-MM: to its last day; YYYY: to the 31st of December)",
    )
    p.add_argument(
        "--sort",
        choices=SORTS,
        default="score",
        help="score: best first (default); newest / oldest: by EXIF date among the best "
        "matches (all those over --min-score when given)",
    )
    p.add_argument("--json", action="store_true", help="JSON list of {id, path, score}")
    taken = p.add_mutually_exclusive_group()
    taken.add_argument(
        "--copy-to",
        metavar="DIR",
        type=Path,
        help="copy the results' files into DIR (a RAW's JPEG and a Live Photo's video "
        "with them; a name already taken gets a suffix, nothing is overwritten)",
    )
    taken.add_argument(
        "--link-to",
        metavar="DIR",
        type=Path,
        help="link the results' files into DIR instead (symbolic links; --hard for "
        "hard links, on the same file system)",
    )
    p.add_argument(
        "--hard", action="store_true", help="with --link-to: hard links, not symbolic"
    )


def register(
    sub: argparse._SubParsersAction,
    parents: list[argparse.ArgumentParser],
    only: str | None = None,
) -> None:
    """The three commands' parsers; `only`: just that one's (a query being run builds
    nothing else: milliseconds of a warm query)."""
    if only in (None, "search"):
        _register_search(sub, parents)
    if only in (None, "similar"):
        _register_similar(sub, parents)
    if only in (None, "describe"):
        _register_describe(sub, parents)


def _register_search(
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
        nargs="?",
        default="",
        help="a sentence, e.g. 'a dog on a beach at sunset'; then any +TERM/-TERM. "
        "Leave it out to list what the filters leave, newest first (--sort oldest)",
    )
    _filters(p)
    p.set_defaults(func=run_search)


def _register_similar(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "similar",
        parents=parents,
        help="find images like a given one",
        description=f"Image to image search; the image can be in the library or not. {TERMS_HELP}.",
    )
    p.add_argument("image", help="an image file; then any +TERM/-TERM")
    p.add_argument(
        "--face",
        action="store_true",
        help="photos of the person whose face is the largest in the image, nearest "
        "face first (the image can be in the library or not)",
    )
    p.add_argument(
        "--box",
        metavar="X,Y,W,H",
        help="only this region of the image: pixels of the upright picture, or "
        "fractions of it (0.5,0,0.5,1: the right half)",
    )
    _filters(p)
    p.set_defaults(func=run_similar)


def _register_describe(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "describe",
        parents=parents,
        help="rank captions or labels for an image",
        description="Image to text: rank the given texts by how well they match the "
        "image; without texts, the concepts of the vocabulary the image shows and a "
        "caption assembled from them.",
    )
    p.add_argument("image", help="an image file")
    p.add_argument(
        "--text", action="append", default=[], metavar="T", help="a candidate text"
    )
    p.add_argument(
        "--texts", type=Path, metavar="FILE", help="candidate texts, one per line"
    )
    p.add_argument(
        "--vocabulary",
        type=Path,
        metavar="FILE",
        help="without texts: concepts to add to the built-in vocabulary, one per line "
        "(LIBRARY/vocabulary.txt is always added)",
    )
    p.add_argument(
        "-k",
        "--top",
        type=positive_int,
        default=10,
        help="without texts: at most this many concepts (default 10)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON list of {text, score, probability}; without texts {concepts, caption, "
        "text} (text: the lines read in a library photo)",
    )
    p.set_defaults(func=run_describe)


def _request(args: argparse.Namespace, op: str, main: str, texts: list[str]) -> Request:
    return make_request(
        args,
        op=op,
        main=main,
        cwd=os.getcwd(),
        terms=getattr(args, "terms", []),
        texts=texts,
        vocabulary=str(args.vocabulary) if getattr(args, "vocabulary", None) else None,
    )


def _answer(
    args: argparse.Namespace,
    request: Request,
    show: Callable[[list[dict[str, Any]]], None],
) -> None:
    """Ask the library's daemon if one runs (model already loaded); else run it here.
    The rows are shown before the library closes: closing may still export the towers
    for the next query (once, seconds), which must not hold back this answer."""
    if args.model is None and args.pretrained is None and args.device is None:
        from photosearch.warm.client import ask_daemon

        library = library_location(args.library)
        answer = ask_daemon(library.expanduser().absolute(), request)
        if answer is not None:
            if "error" in answer:
                raise UsageError(str(answer["error"]))
            show(answer["rows"])
            _note(answer.get("notes", ()))
            return
    configure_logging(args.verbose)
    from photosearch.commands.common import settings_from
    from photosearch.warm.answer import request_notes, run_request
    from retrieval.library import Library

    with Library.open(settings_from(args), writer=False, cold=True) as opened:
        show(run_request(opened, request))
        sys.stdout.flush()
        _note(request_notes(opened, request))


def _note(notes: Sequence[str]) -> None:
    """What the results may miss (indexing still going on), on stderr: the results on
    stdout stay what a script reads."""
    for note in notes:
        print(f"photosearch: note: {note}", file=sys.stderr)


def run_search(args: argparse.Namespace) -> int:
    request = _request(args, "search", args.query, [])
    _answer(args, request, _show_hits(args))
    return 0


def run_similar(args: argparse.Namespace) -> int:
    request = _request(args, "similar", args.image, [])
    _answer(args, request, _show_hits(args))
    return 0


def _show_hits(args: argparse.Namespace) -> Callable[[list[dict[str, Any]]], None]:
    """The hits printed; with --copy-to or --link-to, their files taken there first
    (each row then says where: `taken_to`)."""
    folder = args.copy_to or args.link_to
    if args.hard and args.link_to is None:
        raise UsageError(
            "--hard goes with --link-to DIR (hard links instead of symbolic)"
        )

    def show(rows: list[dict[str, Any]]) -> None:
        if folder is not None:
            _take(
                rows,
                folder,
                "copy" if args.copy_to else "hardlink" if args.hard else "symlink",
            )
        emit_hit_rows(rows, args.json)

    return show


def _take(rows: list[dict[str, Any]], folder: Path, how: str) -> None:
    from retrieval.search.collect import take

    paths = [
        p
        for row in rows
        for p in (row["path"], *(row.get("companions") or ()), row.get("live"))
        if p
    ]
    taken = take(paths, folder, how)
    where = {t.source: t.target for t in taken}
    for row in rows:
        row["taken_to"] = str(where[row["path"]])
    fresh = [t for t in taken if t.fresh]
    renamed = sum(1 for t in fresh if t.target.name != Path(t.source).name)
    verb = {"copy": "copied", "symlink": "linked", "hardlink": "hard-linked"}[how]
    notes = [f"{renamed} renamed: their names were taken"] if renamed else []
    if len(fresh) < len(taken):
        notes.append(f"{len(taken) - len(fresh)} there already")
    extra = f" ({'; '.join(notes)})" if notes else ""
    print(f"{verb} {len(fresh)} files to {folder}{extra}", file=sys.stderr)


def run_describe(args: argparse.Namespace) -> int:
    texts = list(args.text)
    if any(not t.strip() for t in texts):
        raise UsageError("--text '': give a text to rank, not a blank one")
    if args.texts is not None:
        from photosearch.commands.common import read_lines

        found = [line for line in read_lines(args.texts, "texts") if line.strip()]
        if not found:
            raise UsageError(f"--texts {args.texts}: the file has no text to rank")
        texts += found
    request = _request(args, "describe", args.image, texts)
    _answer(args, request, _show_ranked(args) if texts else _show_concepts(args))
    return 0


def _show_concepts(
    args: argparse.Namespace,
) -> Callable[[list[dict[str, Any]]], None]:
    def show(rows: list[dict[str, Any]]) -> None:
        concepts = [r for r in rows if r["kind"] == "concept"]
        caption = next((r["text"] for r in rows if r["kind"] == "caption"), None)
        lines = [r["text"] for r in rows if r["kind"] == "text"]
        metadata = next(
            (
                {k: v for k, v in r.items() if k != "kind"}
                for r in rows
                if r["kind"] == "metadata"
            ),
            None,
        )
        if args.json:
            emit_json(
                {
                    "concepts": [
                        {k: r[k] for k in ("text", "score", "probability")}
                        for r in concepts
                    ],
                    "caption": caption,
                    "text": lines,
                    "metadata": metadata,
                }
            )
            return
        if lines:
            print(f"text: {' / '.join(lines)}  (read in the photo)")
        if metadata:
            _show_metadata(metadata)
        if not concepts:
            print(
                "none of the vocabulary's concepts is shown in this photo (add your "
                "own with --vocabulary FILE, or rank texts with --text)",
                file=sys.stderr,
            )
            return
        print(f"caption: {caption}  (assembled from the concepts below)")
        for r in concepts:
            print(f"{r['probability']:6.1%}  {r['score']:7.4f}  {r['text']}")

    return show


def _show_metadata(found: dict[str, Any]) -> None:
    """What other programs wrote of the photo, a line per fact."""
    if found["title"]:
        print(f"title: {found['title']}")
    if found["description"]:
        print(f"description: {found['description']}")
    if found["keywords"]:
        print(f"keywords: {', '.join(found['keywords'])}")
    if found["rating"] is not None:
        stars = "rejected" if found["rating"] < 0 else "*" * found["rating"] or "none"
        print(f"rating: {stars}")
    if found["label"]:
        print(f"label: {found['label']}")
    for region in found["regions"]:
        box = ", ".join(f"{v:.3f}" for v in region["box"])
        print(f"region: {region['name']} ({region['kind']}: {box})")
    if found["taken_at"]:
        print(f"taken (from metadata): {found['taken_at']}")
    for problem in found["problems"]:
        print(f"could not read: {problem}", file=sys.stderr)
    if found["sources"]:
        print(f"from: {', '.join(found['sources'])}")


def _show_ranked(args: argparse.Namespace) -> Callable[[list[dict[str, Any]]], None]:
    def show(ranked: list[dict[str, Any]]) -> None:
        if args.json:
            emit_json(ranked)
        else:
            for r in ranked:
                print(f"{r['score']:7.4f}  {r['probability']:6.1%}  {r['text']}")

    return show
