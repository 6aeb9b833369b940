"""Decoding odd and hostile files: every good one becomes upright RGB, every bad one a
DecodeError with a reason."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from retrieval.errors import DecodeError
from retrieval.media.decode import decode

LIMIT = 50_000_000


def save(image: Image.Image, path: Path, **kwargs: Any) -> Path:
    image.save(path, **kwargs)
    return path


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "gif", "bmp", "tiff"])
def test_common_formats_decode_to_rgb(tmp_path: Path, ext: str) -> None:
    path = save(Image.new("RGB", (40, 30), (200, 30, 30)), tmp_path / f"a.{ext}")
    decoded = decode(path, max_pixels=LIMIT)
    assert decoded.image.mode == "RGB"
    assert (decoded.width, decoded.height) == (40, 30)
    r, g, b = pixel(decoded.image, (20, 15))
    assert r > 150 and g < 90 and b < 90


def test_palette_with_transparency_is_flattened_on_white(tmp_path: Path) -> None:
    image = Image.new("P", (10, 10), 0)
    image.putpalette([255, 0, 0] + [0, 0, 0] * 255)
    image.info["transparency"] = 0
    decoded = decode(save(image, tmp_path / "p.png", transparency=0), max_pixels=LIMIT)
    assert pixel(decoded.image, (5, 5)) == (255, 255, 255)


def test_rgba_cmyk_gray_and_16bit(tmp_path: Path) -> None:
    def first_pixel(image: Image.Image, name: str) -> tuple[int, ...]:
        return pixel(
            decode(save(image, tmp_path / name), max_pixels=LIMIT).image, (1, 1)
        )

    assert first_pixel(Image.new("RGBA", (8, 8), (0, 0, 255, 255)), "a.png") == (
        0,
        0,
        255,
    )
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))
    assert decode(save(cmyk, tmp_path / "c.jpg"), max_pixels=LIMIT).image.mode == "RGB"
    assert first_pixel(Image.new("L", (8, 8), 128), "g.png") == (128, 128, 128)
    deep = Image.fromarray(np.full((8, 8), 65535 // 2, dtype=np.uint16))
    assert (
        120 <= first_pixel(deep, "d.png")[0] <= 135
    )  # scaled down, not clipped to white


def test_animated_gif_gives_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    r, g, _ = pixel(decode(path, max_pixels=LIMIT).image, (4, 4))
    assert r > 200 and g < 50


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 20, 20))  # white on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    exif.get_ifd(0x8769)[36867] = "2021:07:04 12:30:00"
    path = save(image, tmp_path / "r.jpg", exif=exif.tobytes())
    decoded = decode(path, max_pixels=LIMIT)
    assert decoded.image.size == (20, 40)
    assert (decoded.width, decoded.height) == (20, 40)
    assert pixel(decoded.image, (10, 5))[0] > 200  # white now on top
    assert decoded.taken_at is not None and decoded.taken_at.year == 2021


def test_draft_decoding_keeps_original_dimensions(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (2000, 1000), (10, 200, 10)), tmp_path / "big.jpg")
    decoded = decode(path, max_pixels=LIMIT, draft_size=200)
    assert (decoded.width, decoded.height) == (2000, 1000)
    assert decoded.image.width < 2000 and min(decoded.image.size) >= 200


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not an image"),
        (b"\x00\x01garbage" * 50, "not an image"),
        (_jpeg_bytes()[:300], "cannot decode"),
    ],
    ids=["zero-bytes", "random-bytes", "truncated-jpeg"],
)
def test_bad_files_raise_decode_error(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=reason):
        decode(path, max_pixels=LIMIT)


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = save(Image.new("1", (6000, 6000)), tmp_path / "bomb.png")
    with pytest.raises(DecodeError, match="decompression bomb"):
        decode(path, max_pixels=1_000_000)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="disappeared"):
        decode(tmp_path / "gone.jpg", max_pixels=LIMIT)


def test_large_images_of_any_format_are_box_reduced_before_the_model(
    tmp_path: Path,
) -> None:
    path = save(Image.new("RGB", (2400, 1800), (10, 200, 10)), tmp_path / "big.png")
    decoded = decode(path, max_pixels=LIMIT, draft_size=200)
    assert (decoded.width, decoded.height) == (2400, 1800)
    assert 400 <= min(decoded.image.size) < 800
    small = save(Image.new("RGB", (700, 500), (10, 200, 10)), tmp_path / "small.png")
    assert decode(small, max_pixels=LIMIT, draft_size=200).image.size == (700, 500)


MODES = [
    "1",
    "L",
    "LA",
    "P",
    "PA",
    "RGB",
    "RGBA",
    "RGBX",
    "CMYK",
    "YCbCr",
    "LAB",
    "HSV",
    "I",
    "I;16",
    "I;16B",
    "I;16L",
    "F",
]


def _picture(mode: str, size: tuple[int, int]) -> Image.Image:
    """A picture in `mode`: its top-left quarter painted, the rest blank."""
    w, h = size
    if mode in ("P", "PA"):
        rgb = _picture("RGB", size)
        return rgb.convert("P") if mode == "P" else rgb.convert("P").convert("PA")
    image = Image.new(mode, size)
    box = (0, 0, w // 2, h // 2)
    bright = Image.new("RGB", (w // 2, h // 2), (220, 200, 180))
    if mode.startswith("I;16"):
        image.paste(60000, box)
    else:
        image.paste(bright.convert(mode), box)
    return image


@pytest.mark.parametrize("size", [(40, 30), (900, 600)], ids=["small", "large"])
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_decodes_on_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, size: tuple[int, int]
) -> None:
    """The reduced-scale path (large sizes: box-reduced before the model) accepts every
    image the plain path does, and shows the same picture."""
    image = _picture(mode, size)
    path = tmp_path / "picture"
    for fmt in ("PNG", "TIFF"):
        try:
            image.save(path, format=fmt)
        except (OSError, KeyError, ValueError):
            continue
        with Image.open(path) as saved:
            if saved.mode == mode:
                break
    else:
        # No file format keeps this mode: hand the picture to decode as if opened.
        monkeypatch.setattr(
            "retrieval.media.decode.Image.open", lambda _path: image.copy()
        )
    fast = decode(path, max_pixels=LIMIT, draft_size=64)
    plain = decode(path, max_pixels=LIMIT)
    assert fast.image.mode == plain.image.mode == "RGB"
    assert (fast.width, fast.height) == size
    if min(size) >= 4 * 64:
        assert max(fast.image.size) < max(size)  # reduced, not skipped
    same = plain.image.resize(fast.image.size, Image.Resampling.BOX)
    a = np.asarray(fast.image, dtype=np.float32)
    b = np.asarray(same, dtype=np.float32)
    assert np.abs(a - b).mean() < 8.0
    # The painted quarter still stands out, top left.
    h, w = a.shape[:2]
    assert abs(a[: h // 4, : w // 4].mean() - a[h // 2 :, w // 2 :].mean()) > 20


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in chunks:
        out += struct.pack(">I", len(body)) + kind + body
        out += struct.pack(">I", zlib.crc32(kind + body))
    return out


def _broken_pngs() -> dict[str, bytes]:
    """PNGs whose chunks are all well formed (right lengths and CRCs) but whose pixel
    data is not: Pillow notices only when it decodes the pixels."""
    noise = np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    chunks = _png_chunks(buffer.getvalue())

    def idat(change: Any) -> bytes:
        return _png([(k, change(b) if k == b"IDAT" else b) for k, b in chunks])

    return {
        "corrupt-stream": idat(
            lambda b: b[: len(b) // 2] + bytes(200) + b[len(b) // 2 + 200 :]
        ),
        "short-stream": idat(lambda b: b[: len(b) // 3]),
    }


@pytest.mark.parametrize("name", ["corrupt-stream", "short-stream"])
@pytest.mark.parametrize("draft", [None, 64])
def test_broken_png_is_never_half_decoded(
    tmp_path: Path, name: str, draft: int | None
) -> None:
    path = tmp_path / f"{name}.png"
    path.write_bytes(_broken_pngs()[name])
    with pytest.raises(DecodeError, match="cannot decode"):
        decode(path, max_pixels=LIMIT, draft_size=draft)


@pytest.mark.parametrize(
    "error",
    [IndexError, KeyError, TypeError, struct.error, SyntaxError, ZeroDivisionError],
)
def test_any_error_from_a_plugin_is_a_decode_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    path = save(Image.new("RGB", (8, 8)), tmp_path / "a.png")

    def explode(self: Image.Image) -> None:
        raise error("plugin bug")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", explode)
    with pytest.raises(DecodeError, match="cannot decode"):
        decode(path, max_pixels=LIMIT)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("draft", [None, 64], ids=["plain", "fast"])
def test_every_exif_orientation_matches_pillows_own_transpose(
    tmp_path: Path, orientation: int, draft: int | None
) -> None:
    """decode turns pictures upright with its own table (from the one EXIF parse): it
    must agree with Pillow's exif_transpose for all eight orientations, on the plain
    path and on the reduced-scale one."""
    from PIL import ImageOps

    image = Image.new("RGB", (1200, 800), (0, 0, 0))
    image.paste((250, 30, 30), (0, 0, 600, 400))  # a different colour in each quarter
    image.paste((30, 250, 30), (600, 0, 1200, 400))
    image.paste((30, 30, 250), (0, 400, 600, 800))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = save(image, tmp_path / "o.jpg", exif=exif.tobytes(), quality=95)
    with Image.open(path) as opened:
        expected = (ImageOps.exif_transpose(opened) or opened).convert("RGB")
    decoded = decode(path, max_pixels=LIMIT, draft_size=draft)
    assert (decoded.width, decoded.height) == expected.size
    got = np.asarray(decoded.image.resize((6, 6), Image.Resampling.BOX), np.float32)
    want = np.asarray(expected.resize((6, 6), Image.Resampling.BOX), np.float32)
    assert np.abs(got - want).max() < 12
