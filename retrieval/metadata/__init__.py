"""What a user's other photo programs know of a photo: the record and how sources merge
(`model`), XMP packets (`xmp`), IPTC-IIM (`iptc`), what a file embeds (`embedded`), the
sidecars and Takeout JSON beside it (`sidecars`, `takeout`), all of them read together
(`read`), keywords as they are matched (`keywords`), and XMP sidecars written back for
those programs (`write`, `export`). Submodules are imported where used: the filters a
cold query parses need `model` alone, not Pillow."""

__all__ = [
    "embedded",
    "export",
    "iptc",
    "keywords",
    "model",
    "read",
    "sidecars",
    "takeout",
    "write",
    "xmp",
]
