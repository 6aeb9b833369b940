"""Analyzers: what each photo yields besides its CLIP vector, one analyzer per kind of
record (its EXIF details, the views of a wide photo, its faces, its text, what other
programs wrote of it). `base` is the interface and the two passes they run in,
`registry` which are enabled and who writes each one's records, `backfill` the second
pass (which is also how an existing library gets a new analyzer's records without CLIP
being run again)."""

__all__ = [
    "backfill",
    "base",
    "exif",
    "faces",
    "metadata",
    "registry",
    "text",
    "views",
]
