"""A phone-like HEIC library made from real photographs, for bench_index.

    python -m bench.make_heic PHOTOS_DIR OUT_DIR [--limit 100] [--workers 2]

Each photo becomes what an iPhone writes: 4032x3024 (12 MP, cropped to 4:3 and scaled),
HEVC at quality 70 with x265's default preset, a 320-pixel thumbnail inside, and EXIF with a
camera, a date and a GPS position.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SIZE = (4032, 3024)


def convert(job: tuple[Path, Path, int]) -> str:
    from PIL import Image, ImageOps

    from retrieval.media.formats import register_heif

    register_heif()
    source, target, index = job
    with Image.open(source) as image:
        picture = ImageOps.fit(ImageOps.exif_transpose(image).convert("RGB"), SIZE)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 12"
    exif[0x8769] = {0x9003: f"2024:05:{1 + index % 28:02d} 12:00:00", 0x8827: 50}
    exif[0x8825] = {1: "N", 2: (38.0, 43.0, 20.0), 3: "W", 4: (9.0, 8.0, 21.0)}
    picture.save(target, quality=70, thumbnails=[320], exif=exif.tobytes())
    return target.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from retrieval.media.formats import PILLOW_EXTENSIONS

    sources = sorted(
        p
        for p in args.photos.rglob("*")
        if p.suffix.lower() in PILLOW_EXTENSIONS and p.is_file()
    )[: args.limit]
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(s, args.out / f"{i:04d}.heic", i) for i, s in enumerate(sources)]
    with ProcessPoolExecutor(args.workers) as pool:
        for name in pool.map(convert, jobs):
            print(name, flush=True)


if __name__ == "__main__":
    main()
