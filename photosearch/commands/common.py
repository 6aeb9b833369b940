"""Options every command shares, and turning them into settings and an open library."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from photosearch.commands.options import (  # noqa: F401  # shared by the commands
    common_options,
    configure_logging,
    positive_int,
)
from retrieval.choices import INDEX_TYPES
from retrieval.errors import UsageError
from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.library import Library


def settings_from(args: argparse.Namespace) -> Settings:
    """Defaults, then PHOTOSEARCH_* variables, then every option the command was given:
    an option whose destination is named like a setting sets it."""
    given = {f.name: getattr(args, f.name, None) for f in fields(Settings)}
    return Settings.from_env(library=given["library"]).with_options(**given)


def open_library(
    args: argparse.Namespace,
    *,
    create: bool = False,
    reencode: bool = False,
    writer: bool = True,
) -> Library:
    """`writer`: the command changes the vectors; a reader (search, serve) never writes
    the index file and follows writers through the change log."""
    from retrieval.library import Library

    return Library.open(
        settings_from(args), create=create, reencode=reencode, writer=writer
    )


def check_folders(args: argparse.Namespace) -> None:
    """Before a library is created for nothing: the folders must exist. Once a library
    exists, a missing folder it holds photos from is offline, not an error (the indexer
    says which)."""
    from indexer.scan import check_roots
    from retrieval.store import DATABASE_NAME

    settings = settings_from(args)
    # A library in a database server may exist without its folder here: the indexer
    # then says which folders are offline.
    if settings.database is None and not (settings.library / DATABASE_NAME).exists():
        check_roots(args.folders)


def add_indexing_options(parser: argparse.ArgumentParser) -> None:
    """What `index` and `watch` share: the folders, the batch size, the index type."""
    parser.add_argument("folders", nargs="+", metavar="DIR", help="folders of photos")
    now = Settings.effective()
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        help="images per model batch (default "
        f"{now.batch_size or 'auto: 128 on a GPU, 32 on a CPU'}; "
        "$PHOTOSEARCH_BATCH_SIZE)",
    )
    parser.add_argument(
        "--tiles",
        type=int,
        choices=(0, 2, 3),
        help="also encode a 2x2 or 3x3 grid of tiles of each large photo, so that small "
        "things in it are found (more vectors per photo; photos encoded from now on; "
        f"default {now.tiles}: none; $PHOTOSEARCH_TILES)",
    )
    parser.add_argument(
        "--video-interval",
        type=number_between(0.1, 3600),
        metavar="SECONDS",
        help="a moment of each video at least this often (default "
        f"{now.video_interval:g}; $PHOTOSEARCH_VIDEO_INTERVAL)",
    )
    parser.add_argument(
        "--video-scene",
        type=number_between(0.01, 1.0),
        metavar="SHARE",
        help="also a moment wherever this share of the picture changed since the last "
        f"one (default {now.video_scene:g}; 1: on the interval only; "
        "$PHOTOSEARCH_VIDEO_SCENE)",
    )
    parser.add_argument(
        "--no-videos",
        dest="videos",
        action="store_const",
        const=False,
        help="index photos only, leave videos out ($PHOTOSEARCH_VIDEOS=0)",
    )
    parser.add_argument(
        "--no-faces",
        dest="faces",
        action="store_const",
        const=False,
        help="look for no faces (those found before stay until `photosearch people "
        "--forget`) ($PHOTOSEARCH_FACES=0)",
    )
    parser.add_argument(
        "--face-side",
        type=int,
        metavar="PIXELS",
        help="look for faces in a copy this long (default "
        f"{now.face_side}: faces from a twelfth of a photo's long side; 2048 finds "
        "those half as large, at about four times the cost; $PHOTOSEARCH_FACE_SIDE)",
    )
    parser.add_argument(
        "--no-text",
        dest="text",
        action="store_const",
        const=False,
        help="read no text in photos (what was read before stays searchable) "
        "($PHOTOSEARCH_TEXT=0)",
    )
    parser.add_argument(
        "--no-metadata",
        dest="metadata",
        action="store_const",
        const=False,
        help="read nothing other programs wrote: XMP, IPTC, sidecars, Google Takeout "
        "(what was read before stays) ($PHOTOSEARCH_METADATA=0)",
    )
    parser.add_argument(
        "--text-side",
        type=int,
        metavar="PIXELS",
        help="read text in a copy this long, where a first look found any (default "
        f"{now.text_side}: words from about a fortieth of a photo's height; 3072 reads "
        "print half as tall, at about four times the cost; $PHOTOSEARCH_TEXT_SIDE)",
    )
    parser.add_argument(
        "--index-type",
        choices=INDEX_TYPES,
        help="vector index: auto (exact while fast enough, then approximate, tuned to "
        f"recall@10 >= {now.index_recall}), flat (always exact), ivf (8-bit codes) or pq "
        "(4-bit codes re-ranked exactly, for tens of millions) (default "
        f"{now.index_type}; $PHOTOSEARCH_INDEX_TYPE)",
    )


def number_between(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number within [low, high], with a message naming the bounds."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            bounds = (
                f"at least {low:g}"
                if high == math.inf
                else f"between {low:g} and {high:g}"
            )
            raise argparse.ArgumentTypeError(f"{value:g} must be {bounds}")
        return value

    return parse


unit_float = number_between(-1.0, 1.0)  # a cosine similarity
probability = number_between(0.0, 1.0)
seconds = number_between(0.0, math.inf)


def read_lines(path: Path, what: str) -> list[str]:
    """A text file's lines, for label and caption files."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UsageError(f"{what} file {path} not found: check the path") from None
    except IsADirectoryError:
        raise UsageError(f"{what} file {path} is a folder: give a text file") from None
    except PermissionError:
        raise UsageError(
            f"{what} file {path} is not readable: fix its permissions"
        ) from None
    except UnicodeDecodeError:
        raise UsageError(
            f"{what} file {path} is not UTF-8 text: save it as UTF-8"
        ) from None
