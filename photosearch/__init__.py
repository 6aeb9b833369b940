"""The photosearch program: the command line over the `retrieval` library and the
`indexer`."""

__all__ = ["main"]


def main() -> None:
    from photosearch.cli import main as _main

    _main()
