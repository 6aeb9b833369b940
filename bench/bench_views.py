"""Wide photos on the demo model: text-to-image Recall@5 of shapes near an edge, with the
centre crop only and with the wide-photo views, against the same shapes in square photos;
small shapes in large square photos with `--tiles` 0, 2 and 3; and what the views cost
(vectors per photo, index size, indexing time).

    python -m bench.bench_views [--per-combination 3] [--seeds 21,22,23,24,25]

For each of the 34 shape-and-colour combinations the model saw in training, a few photos
whose one shape sits wholly in the strip the centre crop cuts away (16:9 and 3:1), and
square photos of the same scenes. A query "a {colour} {shape}" hits when one of its first
five results shows that shape in that colour.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from indexer.pipeline import index_folders
from photosearch.demo import wide
from retrieval.library import Library
from retrieval.search.search import SearchOptions, search
from retrieval.search.terms import QueryTerm
from retrieval.search.vectors import query_vector
from retrieval.settings import Settings


def make(root: Path, photos: Iterable[tuple[Image.Image, tuple]]) -> dict[str, tuple]:
    root.mkdir(parents=True)
    made = {}
    for n, (image, shows) in enumerate(photos):
        path = root / f"{n:04d}.jpg"
        image.save(path, quality=92)
        made[str(path)] = shows
    return made


def measure(
    root: Path, made: dict[str, tuple], views_aspect: float, tiles: int = 0
) -> dict[str, float]:
    library_dir = root.parent / f"library-{root.name}-{views_aspect}-{tiles}"
    settings = Settings(
        library=library_dir, model="demo", views_aspect=views_aspect, tiles=tiles
    )
    with Library.open(settings, create=True) as library:
        start = time.perf_counter()
        index_folders(library, [str(root)], progress=False)
        seconds = time.perf_counter() - start
        hits = 0
        for shape, colour in wide.COMBINATIONS:
            vector, _ = query_vector(
                library, [QueryTerm(1.0, text=f"a {colour} {shape}")]
            )
            found = search(library, vector, SearchOptions(top=5))
            hits += any(made[h.path] == (shape, colour) for h in found)
        entries = len(library.index)
    index_file = next(library_dir.glob("*.faiss"), None)
    return {
        "recall@5": hits / len(wide.COMBINATIONS),
        "vectors/photo": entries / len(made),
        "index KB": (index_file.stat().st_size / 1024) if index_file else 0.0,
        "photos/s": len(made) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-combination", type=int, default=3)
    parser.add_argument(
        "--seeds", default="21,22,23,24,25", help="libraries to average over"
    )
    args = parser.parse_args()
    rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            for n, (name, aspect) in enumerate(wide.SETS):
                folder = Path(tmp) / f"set{n}"
                made = make(folder, wide.photos(aspect, args.per_combination, seed))
                for label, views_aspect in (("centre", 0.0), ("views", 1.6)):
                    if aspect <= 1 and views_aspect:
                        continue
                    result = measure(folder, made, views_aspect)
                    rows.setdefault((name, label), []).append(result)
            for n, fraction in enumerate(wide.SMALL):
                folder = Path(tmp) / f"small{n}"
                made = make(
                    folder, wide.small_photos(fraction, args.per_combination, seed)
                )
                for tiles in (0, 2, 3):
                    result = measure(folder, made, 1.6, tiles)
                    label = f"tiles {tiles}x{tiles}" if tiles else "centre"
                    name = f"shape {fraction:g} of 512"
                    rows.setdefault((name, label), []).append(result)
    print(
        f"{'photos':<22}{'encoded':<10}{'recall@5':>10}{'vectors/photo':>15}"
        f"{'index KB':>10}{'photos/s':>10}   (mean of {args.seeds.count(',') + 1} "
        f"libraries of {len(wide.COMBINATIONS) * args.per_combination} photos)"
    )
    for (name, label), results in rows.items():
        mean = {key: statistics.mean(r[key] for r in results) for key in results[0]}
        print(
            f"{name:<22}{label:<10}{mean['recall@5']:>10.3f}"
            f"{mean['vectors/photo']:>15.2f}{mean['index KB']:>10.0f}"
            f"{mean['photos/s']:>10.1f}"
        )


if __name__ == "__main__":
    main()
