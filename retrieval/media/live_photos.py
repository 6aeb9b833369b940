"""Live Photos: an iPhone's still and its short video share a content identifier, in the
still's Apple maker note and in the video's QuickTime metadata. Both are read here with
nothing but the standard library: a few hundred bytes of each file."""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from PIL import Image

_EXIF_IFD = 0x8769
_MAKER_NOTE = 0x927C
_APPLE_HEADER = b"Apple iOS\x00"
_CONTENT_ID_TAG = 0x0011
_CONTENT_ID_KEY = b"com.apple.quicktime.content.identifier"
_ID_MAX = 128
# Top-level atoms looked at before giving up on a file that is not a QuickTime movie.
_MAX_ATOMS = 64


def still_content_id(exif: Image.Exif) -> str | None:
    """The content identifier in a still's Apple maker note; None if it has none."""
    try:
        note = exif.get_ifd(_EXIF_IFD).get(_MAKER_NOTE)
    except Exception:  # noqa: BLE001 - a broken EXIF block has no identifier
        return None
    if not isinstance(note, bytes) or not note.startswith(_APPLE_HEADER):
        return None
    # "Apple iOS\0", a version (2 bytes), the byte order ("MM"), then one IFD whose
    # offsets count from the start of the note.
    try:
        order = {b"MM": ">", b"II": "<"}[note[12:14]]
        (count,) = struct.unpack_from(f"{order}H", note, 14)
        for index in range(min(count, 256)):
            tag, kind, size, value = struct.unpack_from(
                f"{order}HHII", note, 16 + 12 * index
            )
            if tag != _CONTENT_ID_TAG or kind != 2:  # ASCII
                continue
            raw = (
                note[16 + 12 * index + 8 : 16 + 12 * index + 8 + size]
                if size <= 4
                else note[value : value + size]
            )
            return _identifier(raw)
    except (KeyError, struct.error):
        return None
    return None


def video_content_id(path: str) -> str | None:
    """The content identifier in a QuickTime movie's metadata (moov/meta keys + ilst);
    None if it has none or is no movie."""
    try:
        with open(path, "rb") as f:
            end = os.fstat(f.fileno()).st_size
            moov = _find(f, 0, end, b"moov")
            meta = _find(f, *moov, b"meta") if moov else None
            if meta is None:
                return None
            start, stop = meta
            # QuickTime's meta is a plain container; ISO's carries version and flags.
            f.seek(start + 4)
            if f.read(4) not in (b"hdlr", b"keys", b"ilst"):
                start += 4
            keys = _find(f, start, stop, b"keys")
            items = _find(f, start, stop, b"ilst")
            if keys is None or items is None:
                return None
            index = _key_index(f, *keys)
            return _item_value(f, *items, index) if index else None
    except (OSError, struct.error, ValueError):
        return None


def _find(f: BinaryIO, start: int, stop: int, kind: bytes) -> tuple[int, int] | None:
    """The payload (start, stop) of the first `kind` atom among those in [start, stop)."""
    position = start
    for _ in range(_MAX_ATOMS):
        if position + 8 > stop:
            return None
        f.seek(position)
        size, atom = struct.unpack(">I4s", f.read(8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", f.read(8))
            header = 16
        elif size == 0:
            size = stop - position
        if size < header or position + size > stop:
            return None
        if atom == kind:
            return position + header, position + size
        position += size
    return None


def _key_index(f: BinaryIO, start: int, stop: int) -> int | None:
    """The 1-based index of the content identifier among the `keys` atom's keys."""
    f.seek(start + 4)  # version and flags
    (count,) = struct.unpack(">I", f.read(4))
    position = start + 8
    for index in range(1, min(count, 1024) + 1):
        if position + 8 > stop:
            return None
        f.seek(position)
        size, _namespace = struct.unpack(">I4s", f.read(8))
        if size < 8 or position + size > stop:
            return None
        if f.read(size - 8) == _CONTENT_ID_KEY:
            return index
        position += size
    return None


def _item_value(f: BinaryIO, start: int, stop: int, index: int) -> str | None:
    item = _find(f, start, stop, struct.pack(">I", index))
    data = _find(f, *item, b"data") if item else None
    if data is None or data[1] - data[0] < 8:
        return None
    f.seek(data[0] + 8)  # type indicator and locale
    return _identifier(f.read(min(data[1] - data[0] - 8, _ID_MAX)))


def _identifier(raw: bytes) -> str | None:
    text = raw.split(b"\x00", 1)[0].decode("utf-8", "replace").strip()
    return text[:_ID_MAX] or None
