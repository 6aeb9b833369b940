"""Decoding odd and hostile files: every good one becomes upright RGB, every bad one a
DecodeError with a reason."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from retrieval.errors import DecodeError
from retrieval.imaging import decode

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
