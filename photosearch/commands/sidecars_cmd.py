"""photosearch sidecars write: the library's tags and named persons handed back to other
photo programs, in XMP sidecars beside the photos (never the photos themselves)."""

from __future__ import annotations

import argparse
import sys

from photosearch.commands.common import settings_from
from retrieval.metadata.write import DEFAULT_PARENT, STYLES


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    group = sub.add_parser(
        "sidecars",
        parents=parents,
        help="hand tags and named persons to other photo programs (XMP sidecars)",
        description="XMP sidecars for darktable, digiKam, Lightroom and the rest.",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = actions.add_parser(
        "write",
        parents=parents,
        help="write the library's tags (and named persons) into XMP sidecars",
        description="Each photo's assigned tags as keywords (under a parent keyword, "
        "and flat), and with --people its named persons as face regions, merged into "
        "the sidecar the chosen program reads: every field photosearch does not own "
        "stays as it was, a sidecar already up to date is not touched, and no photo "
        "is ever written to.",
    )
    p.add_argument(
        "--tags",
        nargs="+",
        metavar="SET",
        default=[],
        help="the label sets whose tags to write (default: every set)",
    )
    p.add_argument(
        "--people",
        action="store_true",
        help="also write named persons as MWG face regions (digiKam, Lightroom, "
        "Picasa and ExifTool read them)",
    )
    p.add_argument(
        "--style",
        choices=STYLES,
        default="darktable",
        help="whose naming: darktable and digikam write IMG_0001.jpg.xmp, lightroom "
        "IMG_0001.xmp (default darktable)",
    )
    p.add_argument(
        "--parent",
        default=DEFAULT_PARENT,
        metavar="KEYWORD",
        help=f"the keyword the tags go under (default {DEFAULT_PARENT}: "
        f"{DEFAULT_PARENT}|beach)",
    )
    p.add_argument(
        "--in", dest="folder", metavar="FOLDER", help="only photos in or below it"
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would be written, write nothing",
    )
    p.set_defaults(func=run_write)


def run_write(args: argparse.Namespace) -> int:
    from retrieval.errors import UsageError
    from retrieval.metadata.export import wanted_sidecars, write_sidecars
    from retrieval.search.filters import absolute
    from retrieval.store import open_store

    parent = args.parent.strip().strip("|")
    if not parent or "|" in parent:
        raise UsageError(
            f"--parent {args.parent!r}: give one keyword level, e.g. --parent photosearch"
        )
    folder = absolute(args.folder) if args.folder else None
    counts = {"written": 0, "unchanged": 0, "failed": 0}
    verb = "would write" if args.dry_run else "wrote"
    with open_store(settings_from(args)) as store:
        for name in args.tags:
            store.label_set(name)  # an unknown set: NotFoundError, one line
        wanted = wanted_sidecars(
            store, label_sets=args.tags, people=args.people, under=folder
        )
        for outcome in write_sidecars(
            wanted, style=args.style, parent=parent, dry_run=args.dry_run
        ):
            counts[outcome.state] += 1
            if outcome.state == "written":
                print(f"{verb} {outcome.sidecar}")
            elif outcome.state == "failed":
                print(f"{outcome.sidecar}: {outcome.reason}", file=sys.stderr)
    done = "would be written" if args.dry_run else "written"
    print(
        f"{counts['written']} sidecars {done}, {counts['unchanged']} already up to "
        f"date, {counts['failed']} failed",
        file=sys.stderr,
    )
    return 1 if counts["failed"] else 0
