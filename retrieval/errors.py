"""The errors the library raises. Only the command-line entry point turns them into messages.

Every message names the input at fault and says how to fix it, in one line.
"""

from __future__ import annotations


class PhotosearchError(Exception):
    """Base of every error a user can cause; its message is shown to them as it is."""

    exit_code = 2


class UsageError(PhotosearchError):
    """A bad argument: empty query, k of 0, a missing or unreadable file."""


class ModelError(PhotosearchError):
    """An unknown model or pretrained tag, or weights that cannot be loaded."""


class ModelUnavailableError(ModelError):
    """Weights that would have to be downloaded and cannot be."""


class ModelMismatchError(PhotosearchError):
    """The library was built with another model than the one asked for."""


class FacesUnavailableError(PhotosearchError):
    """Faces were asked for and the face model's packages are not installed."""


class TextUnavailableError(PhotosearchError):
    """Reading text was asked for and the text reader's package is not installed."""


class LibraryError(PhotosearchError):
    """The library directory cannot be opened or used."""


class DecodeError(PhotosearchError):
    """A file is not an image we can read; the reason is kept with the file's record."""


class NotFoundError(PhotosearchError):
    """A label, label set or image that the library does not have."""


def first_line(exc: BaseException, limit: int | None = 200) -> str:
    """What a third-party exception says, for a one-line message: its first line (cut to
    `limit` characters), or its type when it says nothing."""
    lines = str(exc).strip().splitlines()
    return lines[0][:limit] if lines else type(exc).__name__
