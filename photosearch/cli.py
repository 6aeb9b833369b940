"""The `photosearch` program. Errors the user can cause become one line on stderr and a
non-zero exit; anything else is a bug and keeps its traceback."""

from __future__ import annotations

import argparse
import os
import sys

from photosearch.commands import search_cmd
from photosearch.commands.options import (
    OneLineParser,
    common_options,
    configure_logging,
)

QUERY_COMMANDS = ("search", "similar")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; for a query `command` only its own subparser, since a query
    should start as fast as Python does (the others import and build more)."""
    parser = OneLineParser(
        prog="photosearch",
        description="Search your photos by describing them, by example, and with your own "
        "labels. Local and private: CLIP runs on this machine.",
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parents = [common_options()]
    if command in search_cmd.COMMANDS:
        search_cmd.register(sub, parents, only=command)
        return parser
    from photosearch.commands import (
        eval_cmd,
        index_cmd,
        info_cmd,
        people_cmd,
        serve_cmd,
        sidecars_cmd,
        tag_cmd,
        text_cmd,
        watch_cmd,
    )

    index_cmd.register(sub, parents)
    watch_cmd.register(sub, parents)
    search_cmd.register(sub, parents)
    tag_cmd.register(sub, parents)
    info_cmd.register(sub, parents)
    people_cmd.register(sub, parents)
    text_cmd.register(sub, parents)
    sidecars_cmd.register(sub, parents)
    serve_cmd.register(sub, parents)
    eval_cmd.register(sub, parents)
    from photosearch.demo import run as demo_run

    demo_run.register(sub, parents)
    return parser


def split_query_terms(
    parser: argparse.ArgumentParser, argv: list[str]
) -> tuple[list[str], list[str]]:
    """Take the `+TERM` / `-TERM` query terms out of the arguments of search and similar.

    argparse would read `-TERM` as an unknown option, so terms are set aside before it
    parses: a token after the command that starts with '+', or with one '-' and more
    than one character, without being one of the command's options (or an option's
    value). A token that looks like an option the command does not have (`--colour`,
    `-x`) is an error, never a term: a mistyped option must not quietly change the
    answer. After '--', every token that starts with '+' or '-' is a term.
    """
    if not argv or argv[0] not in QUERY_COMMANDS:
        return argv, []
    sub_action = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    command = sub_action.choices[argv[0]]
    options = command._option_string_actions
    kept: list[str] = [argv[0]]
    terms: list[str] = []
    expecting_value = False
    after_dashes = False
    for token in argv[1:]:
        name = token.split("=", 1)[0]
        if expecting_value:
            kept.append(token)
            expecting_value = False
        elif after_dashes:
            (terms if token.startswith(("+", "-")) and len(token) > 1 else kept).append(
                token
            )
        elif token == "--":
            after_dashes = True
        elif token.startswith("-") and len(token) > 1 and name in options:
            kept.append(token)
            expecting_value = "=" not in token and options[name].nargs != 0
        elif token.startswith("--") or (
            len(token) == 2 and token[0] == "-" and token[1].isalpha()
        ):
            command.error(_unknown_option(name, options))
        elif token.startswith(("+", "-")) and len(token) > 1:
            terms.append(token)
        else:
            kept.append(token)
    return kept, terms


def _unknown_option(name: str, options: dict[str, argparse.Action]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(options), n=2, cutoff=0.65)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return (
        f"unknown option {name}{hint}; a query term that starts with '-' goes after "
        "'--': photosearch search red -- -blue"
    )


def main(argv: list[str] | None = None) -> None:
    from retrieval.errors import PhotosearchError

    # The program itself (not a caller passing arguments, such as a test): it may end
    # without the interpreter's teardown.
    called_as_program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv else None)
    arguments, terms = split_query_terms(parser, argv)
    args = parser.parse_args(arguments)
    args.terms = terms
    # A query a daemon answers logs nothing: it configures logging (7 ms of imports)
    # only when it runs in this process (search_cmd).
    if args.command not in search_cmd.COMMANDS or args.verbose:
        configure_logging(args.verbose)
    try:
        code = args.func(args)
    except PhotosearchError as exc:
        print(f"photosearch: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("photosearch: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    if called_as_program:
        _exit_now(code)
    sys.exit(code)


def _exit_now(code: int) -> None:
    """End the program without the interpreter's teardown when torch was loaded: its
    libraries take 1.5 s to unload, a tenth of a small `index`. Everything of ours is
    written and closed by now (the library's context has closed it); the standard
    streams and the log handlers are flushed first."""
    if "torch" not in sys.modules:
        sys.exit(code)
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
