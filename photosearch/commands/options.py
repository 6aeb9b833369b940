"""Options every command shares, in a module a warm query's client can import: nothing
heavier than argparse and pathlib (that client's start-up is most of a warm query)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from photosearch.warm.lean import TYPE_CHECKING
from retrieval.choices import DEVICES, ENGINES

if TYPE_CHECKING:
    from typing import Any, NoReturn


class HelpFormatter(argparse.HelpFormatter):
    """argparse's own, without its `shutil` import for the terminal width: argparse makes
    a formatter for every option it adds, and shutil brings the compression modules with
    it (2 ms of every warm query)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """As shutil.get_terminal_size: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class OneLineParser(argparse.ArgumentParser):
    """Argument errors in one line that points at --help, rather than a usage dump."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def common_options() -> argparse.ArgumentParser:
    parent = OneLineParser(add_help=False)
    group = parent.add_argument_group("library and model")
    group.add_argument(
        "--library",
        type=Path,
        metavar="DIR",
        help="library directory (default: $PHOTOSEARCH_LIBRARY, else the user data dir)",
    )
    group.add_argument(
        "--database",
        metavar="URL",
        help="keep the library's tables in this database instead of SQLite in the "
        "library directory, e.g. postgresql+psycopg://USER:PASSWORD@HOST/DB "
        "(default: $PHOTOSEARCH_DATABASE)",
    )
    group.add_argument(
        "--model",
        help="open_clip architecture, e.g. ViT-B-32, or `demo` for the offline demo model "
        "(default: the library's own model)",
    )
    group.add_argument(
        "--pretrained",
        metavar="TAG_OR_FILE",
        help="open_clip pretrained tag, or a local .safetensors/.pt weights file",
    )
    group.add_argument("--device", choices=DEVICES, help="where to run the model")
    group.add_argument(
        "--engine",
        choices=ENGINES,
        help="what runs the model: auto (torch indexes, queries without a daemon use "
        "ONNX Runtime), torch, onnx, onnx-int8 (int8 image weights for indexing: about "
        "twice as fast on a CPU); default auto or $PHOTOSEARCH_ENGINE",
    )
    # -v too: after `search`, an unknown "-v" would be taken for a query term
    # ("minus v") and quietly change the answer.
    group.add_argument("-v", "--verbose", action="store_true", help="log more")
    return parent


def configure_logging(verbose: bool) -> None:
    import logging

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value
