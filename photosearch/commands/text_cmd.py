"""photosearch text: the text read in a photo, line by line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from photosearch.commands.common import settings_from
from photosearch.output import clock, emit_json


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "text",
        parents=parents,
        help="the text in a photo, line by line",
        description="The lines of text in an image, in reading order, each with the "
        "reader's confidence and its box. A photo of the library answers with the text "
        "read when it was indexed; any other file is read now.",
    )
    p.add_argument("image", help="an image file")
    p.add_argument(
        "--json", action="store_true", help="JSON list of {text, confidence, box, t}"
    )
    p.set_defaults(func=run_text)


def run_text(args: argparse.Namespace) -> int:
    from retrieval.search.terms import parse_image
    from retrieval.text.search import text_of_file

    path = parse_image(args.image)
    lines = text_of_file(settings_from(args), path)
    rows: list[dict[str, Any]] = [
        {
            "text": line.text,
            "confidence": round(line.confidence, 4),
            "box": [round(v, 4) for v in line.box()],
            "t": line.t,
        }
        for line in lines
    ]
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print(f"no text found in {args.image}", file=sys.stderr)
        return 0
    for row in rows:
        at = f"@ {clock(row['t'])}  " if row["t"] is not None else ""
        print(f"{row['confidence']:5.0%}  {at}{row['text']}")
    return 0
