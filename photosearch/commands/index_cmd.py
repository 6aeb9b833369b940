"""photosearch index: bring the library up to date with photo folders."""

from __future__ import annotations

import argparse
import sys

from photosearch.commands.common import (
    add_indexing_options,
    check_folders,
    open_library,
)


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "index",
        parents=parents,
        help="index photo folders (new, changed, moved and deleted files)",
        description="Walk the folders, encode new and changed images, follow moves without "
        "re-encoding, drop deleted files. Running it again over unchanged folders encodes "
        "nothing.",
    )
    add_indexing_options(p)
    p.add_argument(
        "--reencode",
        action="store_true",
        help="re-encode every image, e.g. after choosing another --model",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="decode and encode on the workers of a Ray cluster: the address `ray start "
        "--head` printed, or none for one started on this machine for the run; the "
        "workers read the files by the paths given here (shared storage; see the "
        "README) ($PHOTOSEARCH_RAY)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from indexer.pipeline import index_folders

    check_folders(args)
    with open_library(args, create=True, reencode=args.reencode) as library:
        summary = index_folders(
            library,
            args.folders,
            reencode=args.reencode,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
        print(summary.line(), flush=True)
        library.export_towers_if_missing()
    return 0
