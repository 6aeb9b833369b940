"""The index for tens of millions: build and query it at a size past IVF-SQ8's budget.

    python -m bench.bench_large [--vectors 10000000] [--dim 512] [--work /tmp/bench-large]

The vectors are written once to WORK/vectors.f16 (float16, as the store keeps them) and
reused by later runs of the same size. They are shaped like a photo library's CLIP
embeddings, clustered at two levels: 2,000 unit "subjects" drawn uniformly; 200,000
"scenes" around them (cosine to their subject about 0.6); each vector around one scene,
with a noise norm drawn per vector between 0.35 and 0.9 (cosine to its scene 0.75 to
0.95: near-copies, bursts of one moment, loose variations). The queries are fresh draws
of the same kind, not in the set.

The index is built by `rebuild`, as a library does, from a store over that file (the
automatic policy picks "pq" past the 2 GB budget); its re-ranking reads each candidate's
float16 vector from the file with pread, as the store reads them from disk, so neither
the build nor the search holds the vectors in memory. Searching runs in a fresh process
that loads the saved index (peak memory measured there). Prints: build time, peak memory
of the build and of the search, bytes per vector, p50/p95 of single queries, recall@10
against exact search (brute force over the float16 vectors).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from retrieval.vectors import l2_normalize

CHUNK = 200_000


def peak_gb() -> float:
    """This process's peak resident memory. (getrusage's ru_maxrss survives exec on
    Linux: a child started by a large parent would report the parent's.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def draw(n: int, dim: int, rng: np.random.Generator, scenes: np.ndarray) -> np.ndarray:
    picks = scenes[rng.integers(0, len(scenes), n)]
    norm = rng.uniform(0.35, 0.9, (n, 1)).astype(np.float32)
    noise = rng.standard_normal((n, dim), dtype=np.float32) * (norm / np.sqrt(dim))
    return l2_normalize(picks + noise)


def make_scenes(dim: int, rng: np.random.Generator) -> np.ndarray:
    subjects = l2_normalize(rng.standard_normal((2_000, dim), dtype=np.float32))
    picks = subjects[rng.integers(0, len(subjects), 200_000)]
    noise = rng.standard_normal((len(picks), dim), dtype=np.float32) * (
        1.3 / np.sqrt(dim)
    )
    return l2_normalize(picks + noise)


class FileStore:
    """The part of Store that `rebuild` and a "pq" index read, over a float16 file."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path, self.dim = path, dim
        self.count = path.stat().st_size // (2 * dim)
        self.fd = os.open(path, os.O_RDONLY)

    def generation(self) -> int:
        return 1

    def entry_count(self, dim: int) -> int:
        return self.count

    def rows(self, start: int, stop: int) -> np.ndarray:
        data = os.pread(self.fd, (stop - start) * 2 * self.dim, start * 2 * self.dim)
        return np.frombuffer(data, dtype=np.float16).reshape(-1, self.dim)

    def iter_vectors(
        self, dim: int, chunk: int = 20_000, *, views: bool = False
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, self.count, CHUNK):
            stop = min(self.count, start + CHUNK)
            yield (
                np.arange(start, stop, dtype=np.int64),
                self.rows(start, stop).astype(np.float32),
            )

    def vectors_found(
        self, ids: list[int], dim: int, *, views: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        found = np.unique(np.asarray(ids, dtype=np.int64))
        rows = [self.rows(i, i + 1) for i in found.tolist()]
        vectors = np.concatenate(rows) if rows else np.zeros((0, self.dim))
        return found, vectors.astype(np.float32)


def write_vectors(path: Path, n: int, dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scenes = make_scenes(dim, rng)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        out.writelines(
            draw(min(CHUNK, n - start), dim, rng, scenes).astype(np.float16).tobytes()
            for start in range(0, n, CHUNK)
        )
    tmp.rename(path)
    np.save(path.with_suffix(".queries.npy"), draw(1000, dim, rng, scenes))


def exact_ids(store: FileStore, queries: np.ndarray, k: int) -> np.ndarray:
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.full((len(queries), k), -1, dtype=np.int64)
    for ids, vectors in store.iter_vectors(store.dim):
        scores = queries @ vectors.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        all_scores = np.concatenate(
            [best, np.take_along_axis(scores, top, axis=1)], axis=1
        )
        all_ids = np.concatenate([best_ids, ids[top]], axis=1)
        order = np.argsort(-all_scores, axis=1)[:, :k]
        best = np.take_along_axis(all_scores, order, axis=1)
        best_ids = np.take_along_axis(all_ids, order, axis=1)
    return best_ids


def search_phase(args: argparse.Namespace) -> None:
    """In a fresh process: load the saved index, query it, report as JSON."""
    from retrieval.index.vector_index import VectorIndex

    vectors = Path(args.work) / f"vectors-{args.vectors}.f16"
    store = FileStore(vectors, args.dim)
    queries = np.load(vectors.with_suffix(".queries.npy"))[: args.queries]
    started = time.perf_counter()
    index = VectorIndex.load(Path(args.work) / "index.faiss", args.dim)
    loaded = time.perf_counter() - started
    index.exact = lambda ids: store.vectors_found(ids.tolist(), args.dim)
    index.search(queries[0], 10)  # warm-up
    times, found = [], []
    for query in queries:
        started = time.perf_counter()
        _, ids = index.search(query, 10)
        times.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    peak = peak_gb()
    print(
        json.dumps(
            {
                "load_s": loaded,
                "p50": float(np.percentile(times, 50)),
                "p95": float(np.percentile(times, 95)),
                "found": np.asarray(found).tolist(),
                "peak_gb": peak,
                "kind": index.kind,
                "nprobe": index.nprobe,
                "lists": int(getattr(index.index, "nlist", 0)),
                "rerank": index.rerank,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=10_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work", default="/tmp/bench-large")
    parser.add_argument("--search-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.search_only:
        search_phase(args)
        return

    from retrieval.index.sync import IndexPolicy, rebuild

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"vectors-{args.vectors}.f16"
    if not path.exists():
        started = time.perf_counter()
        write_vectors(path, args.vectors, args.dim, seed=0)
        print(
            f"wrote {args.vectors:,} vectors in {time.perf_counter() - started:.0f} s"
        )
    store = FileStore(path, args.dim)
    started = time.perf_counter()
    index = rebuild(store, args.dim, IndexPolicy())  # type: ignore[arg-type]
    build = time.perf_counter() - started
    index.save(work / "index.faiss")
    build_peak = peak_gb()
    size = (work / "index.faiss").stat().st_size
    print(f"built in {build:.0f} s (peak RSS {build_peak:.1f} GB)", flush=True)
    del index

    queries = np.load(path.with_suffix(".queries.npy"))[: args.queries]
    started = time.perf_counter()
    exact = exact_ids(store, queries, 10)
    truth = time.perf_counter() - started
    run = subprocess.run(
        [sys.executable, "-m", "bench.bench_large", "--search-only"]
        + [f"--vectors={args.vectors}", f"--dim={args.dim}"]
        + [f"--queries={args.queries}", f"--work={args.work}"],
        check=False,
        capture_output=True,
        text=True,
    )
    if run.returncode:
        raise SystemExit(f"the search process failed:\n{run.stderr[-3000:]}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    found = np.asarray(result["found"])
    recall = np.mean(
        [len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)]
    )
    print(f"| vectors | {args.vectors:,} x {args.dim}, float16 |")
    print("|---|---|")
    print(
        f"| index | {result['kind']}, {result['lists']:,} lists, nprobe "
        f"{result['nprobe']}, {result['rerank']} re-ranked |"
    )
    print(f"| build (train, add, tune) | {build:.0f} s, peak RSS {build_peak:.1f} GB |")
    print(f"| bytes per vector (index file) | {size / args.vectors:.0f} |")
    print(f"| load | {result['load_s']:.1f} s |")
    print(
        f"| single query p50 / p95 | {result['p50']:.1f} ms / {result['p95']:.1f} ms |"
    )
    print(f"| recall@10 vs exact ({args.queries} queries) | {recall:.3f} |")
    print(f"| peak RSS while searching | {result['peak_gb']:.2f} GB |")
    print(f"| exact search (brute force, all queries) | {truth:.0f} s |")


if __name__ == "__main__":
    main()
