"""How fast a reader (`photosearch serve`, a cold search) catches up with a writer.

    python -m bench.bench_catchup [--vectors 1000000] [--dim 512] [--new 100] [--rounds 5]

Builds a library of synthetic clustered vectors (stored as float16, as the indexer does) in
a temporary folder, lets the writer build and save its index (the type the automatic
policy picks: IVF-SQ8 at a million), opens a reader on it, then, each round, has the writer
commit `--new` photos in one batch and times the reader's `reload_if_stale()`: it applies
the change log, reading only the changed rows. For comparison it also times what a reader
did before the change log: reload the saved file (and a rebuild from SQLite when the file
is stale, which is far longer; timed once with `--rebuild`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.bench_search import clustered
from retrieval.index.sync import open_index, rebuild
from retrieval.library import Library
from retrieval.records import EncodedFile, FileStamp, ModelInfo
from retrieval.settings import Settings
from retrieval.store import Store
from retrieval.vectors import stored_precision


class NoEncoder:
    """The benchmark never encodes: vectors are written directly."""

    def __init__(self, info: ModelInfo) -> None:
        self.info = info


def library(root: Path, model: ModelInfo, *, writer: bool) -> Library:
    return Library(
        Store.open(root, create=True),
        Settings(library=root),
        model,
        NoEncoder(model),  # type: ignore[arg-type]
        writer=writer,
    )


def write(lib: Library, start: int, vectors: np.ndarray) -> None:
    written = lib.store.write_batch(
        [
            EncodedFile(
                FileStamp(f"/photos/{start + i}.jpg", 1, 1, f"h{start + i}"),
                1,
                1,
                None,
                v,
            )
            for i, v in enumerate(vectors)
        ]
    )
    lib.apply(written.ids, written.ids, vectors, written.generation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="also time a rebuild")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = clustered(4000, args.dim, rng, rng.standard_normal((1, args.dim)))
    model = ModelInfo("bench", "synthetic", args.dim)
    with tempfile.TemporaryDirectory(prefix="bench-catchup-") as tmp:
        root = Path(tmp)
        writer = library(root, model, writer=True)
        writer.store.set_model(model)
        started = time.perf_counter()
        for start in range(0, args.vectors, 50_000):
            count = min(50_000, args.vectors - start)
            vectors = stored_precision(clustered(count, args.dim, rng, centres))
            write(writer, start, vectors)
        print(f"wrote {args.vectors} vectors in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        index = writer.index
        writer.save_index()
        print(
            f"writer built and saved the index ({index.kind}) in "
            f"{time.perf_counter() - started:.0f} s"
        )
        started = time.perf_counter()
        reader = library(root, model, writer=False)
        _ = reader.index
        load = time.perf_counter() - started
        print(f"reader loaded the saved index in {load:.2f} s")
        times = []
        total = args.vectors
        for _ in range(args.rounds):
            new = stored_precision(clustered(args.new, args.dim, rng, centres))
            write(writer, total, new)
            total += args.new
            started = time.perf_counter()
            reader.reload_if_stale()
            times.append(time.perf_counter() - started)
            if len(reader.index) != total:
                raise SystemExit(f"reader has {len(reader.index)} vectors, not {total}")
        print(
            f"reader caught up with {args.new} new photos: median "
            f"{statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
            f"over {args.rounds} rounds"
        )
        started = time.perf_counter()
        open_index(reader.store, args.dim, save=False)
        print(
            f"for comparison, opening the saved index afresh (load, then catch up): "
            f"{time.perf_counter() - started:.2f} s"
        )
        if args.rebuild:
            started = time.perf_counter()
            rebuild(reader.store, args.dim)
            print(f"a rebuild from SQLite: {time.perf_counter() - started:.0f} s")
        reader.close()
        writer.close()


if __name__ == "__main__":
    main()
