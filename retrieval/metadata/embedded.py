"""The XMP packet and IPTC-IIM block inside a photo's file, found without decoding it.

A JPEG is walked segment by segment up to its image data (XMP in APP1, IPTC in
Photoshop's APP13), reading only the headers and those segments. Other formats go through
Pillow's lazy open (PNG's iTXt, TIFF's tag 700 and 33723, WebP's and HEIF's XMP chunks);
a format Pillow cannot open (RAW, videos) has its first MB searched for a packet.
"""

from __future__ import annotations

import hashlib
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image

_XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
_PHOTOSHOP_ID = b"Photoshop 3.0\x00"
# How much of a file Pillow cannot open is searched for an XMP packet: cameras and
# phones write it near the start.
SCAN_BYTES = 1024 * 1024
_TIFF_XMP, _TIFF_IPTC = 700, 33723
_IRB_IPTC, _IRB_DIGEST = 0x0404, 0x0425


@dataclass(frozen=True)
class Embedded:
    xmp: bytes | None = None
    iptc: bytes | None = None  # IIM datasets
    orientation: int = 1  # EXIF's, to turn regions upright
    # Photoshop's IPTCDigest: the MD5 of the IPTC block when an XMP-aware program last
    # wrote both. The block no longer matching it means a program that knows only IPTC
    # changed it since, and it is then the newer (MWG's guidelines).
    iptc_digest: bytes | None = None

    @property
    def iptc_is_newer(self) -> bool:
        return (
            self.iptc is not None
            and self.iptc_digest is not None
            and hashlib.md5(self.iptc, usedforsecurity=False).digest()
            != self.iptc_digest
        )


def read_embedded(path: str | Path) -> Embedded:
    with open(path, "rb") as f:
        if f.read(2) == b"\xff\xd8":
            return _jpeg(f)
    return _other(path)


def _jpeg(f: BinaryIO) -> Embedded:
    xmp = iptc = digest = None
    orientation = 1
    while True:
        marker = f.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            break
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:
            continue  # markers without a length
        if kind in (0xDA, 0xD9):
            break  # the image data: no metadata segment follows that matters
        raw = f.read(2)
        if len(raw) < 2:
            break
        length = struct.unpack(">H", raw)[0] - 2
        if length < 0:
            break
        if kind in (0xE1, 0xED):
            body = f.read(length)
            if kind == 0xE1 and body.startswith(_XMP_ID) and xmp is None:
                xmp = body[len(_XMP_ID) :]
            elif kind == 0xE1 and body.startswith(b"Exif\x00\x00"):
                orientation = _exif_orientation(body[6:])
            elif kind == 0xED and body.startswith(_PHOTOSHOP_ID):
                found = photoshop_resources(body[len(_PHOTOSHOP_ID) :])
                iptc = found.get(_IRB_IPTC, iptc)
                digest = found.get(_IRB_DIGEST, digest)
        else:
            f.seek(length, 1)
    return Embedded(xmp, iptc, orientation, digest)


def _exif_orientation(tiff: bytes) -> int:
    """Tag 0x0112 of IFD0 in a TIFF-structured EXIF block; 1 when absent or broken."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    end = "<" if tiff[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(end + "I", tiff[4:8])
        (count,) = struct.unpack(end + "H", tiff[offset : offset + 2])
        for n in range(count):
            entry = tiff[offset + 2 + 12 * n : offset + 14 + 12 * n]
            tag, _, _, value = struct.unpack(end + "HHIH", entry[:10])
            if tag == 0x0112:
                return value if 1 <= value <= 8 else 1
    except struct.error:
        pass
    return 1


def photoshop_resources(resources: bytes) -> dict[int, bytes]:
    """Photoshop's image resources, by id (0x0404: IPTC-IIM, 0x0425: its digest)."""
    found: dict[int, bytes] = {}
    at = 0
    while at + 12 <= len(resources) and resources[at : at + 4] == b"8BIM":
        (ident,) = struct.unpack(">H", resources[at + 4 : at + 6])
        name_len = resources[at + 6]
        at += 7 + name_len + ((name_len + 1) % 2)  # the name is padded to even
        if at + 4 > len(resources):
            break
        (size,) = struct.unpack(">I", resources[at : at + 4])
        at += 4
        found.setdefault(ident, resources[at : at + size])
        at += size + (size % 2)
    return found


def _other(path: str | Path) -> Embedded:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
                iptc = None
                tags = getattr(im, "tag_v2", None)
                if tags is not None:
                    xmp = xmp or tags.get(_TIFF_XMP)
                    iptc = tags.get(_TIFF_IPTC)
                orientation = int(im.getexif().get(0x0112, 1) or 1)
        return Embedded(_bytes(xmp), _bytes(iptc), orientation)
    except Exception:  # noqa: BLE001 - not a picture Pillow knows: search its bytes
        return Embedded(_scan(path))


def _bytes(value: object) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return bytes(value)  # TIFF's undefined type, as Pillow gives it
    return None


def _scan(path: str | Path) -> bytes | None:
    with open(path, "rb") as f:
        head = f.read(SCAN_BYTES)
    start = head.find(b"<x:xmpmeta")
    end = head.find(b"</x:xmpmeta>", start)
    if start < 0 or end < 0:
        return None
    return head[start : end + len(b"</x:xmpmeta>")]
