"""The photosearch program, the top floor over the `retrieval` library and the `indexer`:
the command line (`cli`, `commands/`), the CLI's warm path to a running daemon (`warm/`),
the web page and HTTP API (`web/`), and the offline demo (`demo/`). The only floor that
turns errors into messages, exit codes and HTTP statuses. `main` runs the command line."""

__all__ = ["main"]


def main() -> None:
    from photosearch.cli import main as _main

    _main()
