"""A minimal DNG writer for tests: LibRaw reads it as a camera RAW with an embedded
preview, as cameras and phones write them.

Layout (one little-endian TIFF): IFD0 is the preview (8-bit RGB, NewSubfileType 1) and
carries the DNG tags, the camera's make and model, the orientation and the EXIF; its
SubIFDs tag points at the raw image, a LinearRaw (already demosaiced) 16-bit RGB picture
of the same scene, the simplest kind LibRaw develops.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image

_SHORT, _LONG, _ASCII, _RATIONAL, _SRATIONAL, _BYTE = 3, 4, 2, 5, 10, 1


def _entry(tag: int, kind: int, values: list[int] | bytes | str) -> tuple:
    return (tag, kind, values)


class _Writer:
    def __init__(self) -> None:
        self.data = bytearray(b"II*\x00\x00\x00\x00\x00")

    def blob(self, payload: bytes) -> int:
        if len(self.data) % 2:
            self.data += b"\x00"
        offset = len(self.data)
        self.data += payload
        return offset

    def ifd(self, entries: list[tuple], next_ifd: int = 0) -> tuple[int, int]:
        """Writes an IFD; returns its offset and the offset of its next-IFD field."""
        entries = sorted(entries, key=lambda e: e[0])
        encoded = []
        for tag, kind, values in entries:
            if kind == _ASCII:
                raw = values.encode() + b"\x00"
                count = len(raw)
            elif kind == _BYTE:
                raw = bytes(values)
                count = len(raw)
            elif kind == _SHORT:
                raw = struct.pack(f"<{len(values)}H", *values)
                count = len(values)
            elif kind == _LONG:
                raw = struct.pack(f"<{len(values)}I", *values)
                count = len(values)
            elif kind in (_RATIONAL, _SRATIONAL):
                raw = struct.pack(
                    f"<{len(values)}{'I' if kind == _RATIONAL else 'i'}", *values
                )
                count = len(values) // 2
            else:
                raise ValueError(kind)
            if len(raw) <= 4:
                field = raw.ljust(4, b"\x00")
            else:
                field = struct.pack("<I", self.blob(raw))
            encoded.append(struct.pack("<HHI", tag, kind, count) + field)
        if len(self.data) % 2:
            self.data += b"\x00"
        offset = len(self.data)
        self.data += struct.pack("<H", len(encoded)) + b"".join(encoded)
        next_field = len(self.data)
        self.data += struct.pack("<I", next_ifd)
        return offset, next_field


def write_dng(
    path: Path,
    picture: Image.Image,
    *,
    preview_side: int = 512,
    make: str = "Testcam",
    model: str = "Testcam DNG-1",
    orientation: int = 1,
    with_preview: bool = True,
) -> Path:
    """`picture` as a DNG: the raw at its full size, an 8-bit preview whose long side is
    `preview_side` (none when `with_preview` is False)."""
    w = _Writer()
    rgb = picture.convert("RGB")
    raw = (np.asarray(rgb, dtype=np.uint16) * 257).astype("<u2")
    raw_offset = w.blob(raw.tobytes())
    height, width = raw.shape[:2]
    common = [
        _entry(50706, _BYTE, [1, 4, 0, 0]),  # DNGVersion
        _entry(50707, _BYTE, [1, 1, 0, 0]),  # DNGBackwardVersion
        _entry(50708, _ASCII, model),  # UniqueCameraModel
        _entry(271, _ASCII, make),
        _entry(272, _ASCII, model),
        _entry(274, _SHORT, [orientation]),
        # ColorMatrix1 (identity-ish, XYZ -> camera) and illuminant D65
        _entry(
            50721, _SRATIONAL, [1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1]
        ),
        _entry(50778, _SHORT, [21]),
        _entry(50728, _RATIONAL, [1, 1, 1, 1, 1, 1]),  # AsShotNeutral
    ]
    raw_entries = [
        _entry(254, _LONG, [0]),
        _entry(256, _LONG, [width]),
        _entry(257, _LONG, [height]),
        _entry(258, _SHORT, [16, 16, 16]),
        _entry(259, _SHORT, [1]),
        _entry(262, _SHORT, [34892]),  # LinearRaw
        _entry(273, _LONG, [raw_offset]),
        _entry(277, _SHORT, [3]),
        _entry(278, _LONG, [height]),
        _entry(279, _LONG, [len(raw.tobytes())]),
        _entry(284, _SHORT, [1]),
        _entry(50717, _LONG, [65535]),  # WhiteLevel
    ]
    if not with_preview:
        first, _ = w.ifd(raw_entries + common)
        w.data[4:8] = struct.pack("<I", first)
        path.write_bytes(bytes(w.data))
        return path
    sub_offset, _ = w.ifd(raw_entries)
    preview = rgb.copy()
    preview.thumbnail((preview_side, preview_side))
    pixels = np.asarray(preview, dtype=np.uint8)
    preview_offset = w.blob(pixels.tobytes())
    first, _ = w.ifd(
        [
            _entry(254, _LONG, [1]),
            _entry(256, _LONG, [preview.width]),
            _entry(257, _LONG, [preview.height]),
            _entry(258, _SHORT, [8, 8, 8]),
            _entry(259, _SHORT, [1]),
            _entry(262, _SHORT, [2]),
            _entry(273, _LONG, [preview_offset]),
            _entry(277, _SHORT, [3]),
            _entry(278, _LONG, [preview.height]),
            _entry(279, _LONG, [len(pixels.tobytes())]),
            _entry(284, _SHORT, [1]),
            _entry(330, _LONG, [sub_offset]),  # SubIFDs
            *common,
        ]
    )
    w.data[4:8] = struct.pack("<I", first)
    path.write_bytes(bytes(w.data))
    return path
