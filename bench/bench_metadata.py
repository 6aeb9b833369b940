"""What reading other programs' metadata costs: the metadata analyzer's read of one
photo (its file's segments, its sidecars, Takeout's JSON), and the check `index` makes of
every photo's sidecars to notice an edited one, on copies of real photographs.

    python -m bench.bench_metadata PHOTOS [--count 100] [--rounds 3]

PHOTOS: a folder of real JPEG photographs (the Debian wallpapers). Four copies are made
of `--count` of them: as they are; with XMP and IPTC embedded by ExifTool; with an XMP
sidecar beside them; with a Takeout JSON. Each is read `--rounds` times, the rounds
interleaved, and the median per photo printed; then the sidecar check over all of them.
Needs exiftool (Debian's libimage-exiftool-perl).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from retrieval.metadata.read import read_metadata, sidecar_stamps

KINDS = ("plain", "embedded", "sidecar", "takeout")


def _prepare(sources: list[Path], root: Path) -> dict[str, list[Path]]:
    made: dict[str, list[Path]] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        (root / kind).mkdir()
    for n, source in enumerate(sources):
        for kind in KINDS:
            target = root / kind / f"IMG_{n:04d}.jpg"
            shutil.copy(source, target)
            made[kind].append(target)
    tags = [
        "-XMP-dc:Subject=Lisbon",
        "-XMP-lr:HierarchicalSubject=Places|Portugal|Lisbon",
        "-XMP-xmp:Rating=4",
        "-XMP-dc:Description=A tram in Alfama",
        "-IPTC:Keywords=tram",
    ]
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", *tags, str(root / "embedded")],
        check=True,
    )
    for photo in made["sidecar"]:
        subprocess.run(["exiftool", "-q", *tags[:4], str(photo) + ".xmp"], check=True)
    for photo in made["takeout"]:
        Path(str(photo) + ".supplemental-metadata.json").write_text(
            json.dumps(
                {
                    "title": photo.name,
                    "description": "A tram in Alfama",
                    "photoTakenTime": {"timestamp": "1689445812"},
                    "geoData": {"latitude": 38.71, "longitude": -9.13},
                    "people": [{"name": "Ana"}],
                }
            )
        )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sources = sorted(
        p for p in args.photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg")
    )[: args.count]
    if not sources:
        raise SystemExit(f"no JPEG photos in {args.photos}")
    with tempfile.TemporaryDirectory() as work:
        made = _prepare(sources, Path(work))
        timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _ in range(args.rounds):
            for kind in KINDS:
                start = time.perf_counter()
                for photo in made[kind]:
                    read_metadata(photo)
                timings[kind].append((time.perf_counter() - start) / len(made[kind]))
        print(f"{len(sources)} photos, {args.rounds} rounds, median per photo:")
        for kind in KINDS:
            found = read_metadata(made[kind][0])
            print(
                f"  {kind:<9} {statistics.median(timings[kind]) * 1e3:7.3f} ms"
                f"  ({len(found.keywords)} keywords, sources {len(found.sources)})"
            )
        every = [p for kind in KINDS for p in made[kind]]
        checks = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            for photo in every:
                sidecar_stamps(photo)
            checks.append((time.perf_counter() - start) / len(every))
        print(
            f"  the sidecar check `index` makes of each photo: "
            f"{statistics.median(checks) * 1e6:.1f} us"
        )


if __name__ == "__main__":
    main()
