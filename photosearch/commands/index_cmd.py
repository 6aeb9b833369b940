"""photosearch index: bring the library up to date with photo folders."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

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
        "nothing. Two passes: the first makes every photo searchable (CLIP, dates, "
        "places, other programs' metadata), the second looks closer (the views of wide "
        "photos, faces, text), newest photos first. Ctrl-C in the second stops after the "
        "photos in hand: the rest follows on the next index or in watch.",
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
    p.add_argument(
        "--quick",
        action="store_true",
        help="stop once every photo is searchable: the views of wide photos, faces and "
        "text follow on the next index or in `photosearch watch`",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from indexer.pipeline import index_folders
    from photosearch.progress import IndexReport

    check_folders(args)
    stopping = _stop_on_first_interrupt()
    bars = not args.no_progress and sys.stderr.isatty()
    report = IndexReport(bars=bars)
    with open_library(args, create=True, reencode=args.reencode) as library:
        try:
            summary = index_folders(
                library,
                args.folders,
                reencode=args.reencode,
                progress=bars,
                stop=stopping.is_set,
                catch_up=not args.quick,
                searchable=report.searchable,
                second=report,
            )
        finally:
            report.close()
        print(summary.line(), flush=True)
        library.export_towers_if_missing()
        if stopping.is_set():
            report.say(
                "photosearch: stopped; what was done is kept, and "
                + (
                    "the views, faces and text still to look at follow"
                    if report.searchable_at is not None
                    else "the photos not indexed yet follow"
                )
                + " on the next `photosearch index` or in `photosearch watch`"
            )
            return 130
    return 0


def _stop_on_first_interrupt() -> threading.Event:
    """The first Ctrl-C asks the run to stop after the batch in flight (written whole);
    a second one stops at once (the batch in flight is rolled back)."""
    stopping = threading.Event()

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set():
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        stopping.set()
        os.write(
            2,
            b"\nphotosearch: stopping after the photos in hand (Ctrl-C again to stop "
            b"at once)\n",
        )

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_interrupt)
    return stopping
