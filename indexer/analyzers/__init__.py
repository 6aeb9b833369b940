"""Analyzers: what each photo yields besides its CLIP vectors, one analyzer per kind of
record (its EXIF details, its faces, its text, what other programs wrote of it). `base` is the interface and how the
pipeline runs them, `registry` which are enabled, `backfill` how an existing library
gets a new analyzer's records without CLIP being run again."""

__all__ = ["backfill", "base", "exif", "faces", "metadata", "registry", "text"]
