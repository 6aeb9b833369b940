"""The command line's commands, one module per group; each registers its subcommands with
`register` (photosearch.cli puts them together). `common` and `options` are what they
share: opening a library from the options, the options every command takes."""

__all__ = [
    "common",
    "eval_cmd",
    "index_cmd",
    "info_cmd",
    "options",
    "people_cmd",
    "search_cmd",
    "serve_cmd",
    "sidecars_cmd",
    "tag_cmd",
    "text_cmd",
    "watch_cmd",
]
