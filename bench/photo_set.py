"""A set of real photos to measure indexing on, side by side with a peer: every distinct
picture under a folder (symlinks and byte-identical copies counted once) re-encoded as a
JPEG as it is, mirrored, and cropped to its central 85%, so that no two files share their
content (a peer that reuses the vector of a known hash gets no free ride) and every
format's decoding costs what a camera's JPEG costs.

    python -m bench.photo_set /usr/share/backgrounds OUT [--count 300] [--quality 90]

Debian's wallpapers (`apt-get download gnome-backgrounds plasma-workspace-wallpapers
ukui-wallpapers`, then `dpkg -x`) give 100 distinct pictures of 2 to 16 MP, 300 files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")

_WAYS: tuple[tuple[str, Callable[[Image.Image], Image.Image]], ...] = (
    ("plain", lambda im: im),
    ("mirrored", ImageOps.mirror),
    (
        "cropped",
        lambda im: im.crop(
            (
                im.width * 15 // 200,
                im.height * 15 // 200,
                im.width - im.width * 15 // 200,
                im.height - im.height * 15 // 200,
            )
        ),
    ),
)


def distinct_pictures(source: Path) -> list[Path]:
    """Every picture file under `source`, once per content, in path order."""
    seen: set[str] = set()
    found: list[Path] = []
    for path in sorted(source.rglob("*")):
        if path.suffix.lower() not in EXTENSIONS or not path.is_file():
            continue
        digest = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        if digest not in seen:
            seen.add(digest)
            found.append(path)
    return found


def make_set(source: Path, out: Path, count: int, quality: int) -> list[Path]:
    """Up to `count` JPEGs in `out`: each distinct picture plain, then each mirrored,
    then each cropped."""
    pictures = distinct_pictures(source)
    if not pictures:
        raise SystemExit(f"no pictures under {source}")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for way, change in _WAYS:
        for n, path in enumerate(pictures):
            if len(written) >= count:
                return written
            target = out / f"{way}-{n:03d}.jpg"
            if not target.exists():
                with Image.open(path) as opened:
                    picture = ImageOps.exif_transpose(opened).convert("RGB")
                change(picture).save(target, quality=quality)
            written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--quality", type=int, default=90)
    args = parser.parse_args()
    written = make_set(args.source, args.out, args.count, args.quality)
    print(f"{len(written)} photos in {args.out}")
    os.sync()


if __name__ == "__main__":
    main()
