"""Query latency of the vector index on synthetic CLIP-like vectors.

    python -m bench.bench_search [--sizes 10000 100000 1000000] [--dim 512] [--uniform]

Vectors are unit-length draws around a few thousand random centres (photo libraries are
clustered; uniform noise on the sphere is not like them), or with --uniform uniform on the
sphere (the worst case: no structure for an IVF index to use), rounded to float16 as the
store keeps them.
For each size, the index the automatic policy picks is built (as `rebuild` does from the
store) and queried with fresh vectors: p50 / p95 latency of single queries, recall@10
against exact search, build time, and the recall@10 of float16 against float32 vectors.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterator

import numpy as np

from retrieval.index.sync import IndexPolicy, exact_top, rebuild, recall_at
from retrieval.vectors import l2_normalize, stored_precision


def clustered(
    n: int, dim: int, rng: np.random.Generator, centres: np.ndarray
) -> np.ndarray:
    """Noise of norm about 0.5 around unit centres: a vector's cosine to its centre is about
    0.9, as between CLIP embeddings of similar photos."""
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        picks = centres[rng.integers(0, len(centres), stop - start)]
        noise = rng.standard_normal((stop - start, dim), dtype=np.float32) * (
            0.5 / np.sqrt(dim)
        )
        out[start:stop] = l2_normalize(picks + noise)
    return out


class ArrayStore:
    """The part of Store that `rebuild` reads, over arrays in memory."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors

    def generation(self) -> int:
        return 1

    def counts(self) -> dict[str, int]:
        return {"vectors": len(self.vectors)}

    def entry_count(self, dim: int) -> int:
        return len(self.vectors)

    def iter_vectors(
        self, dim: int, chunk: int = 20_000, *, views: bool = False
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, len(self.vectors), chunk):
            stop = min(len(self.vectors), start + chunk)
            yield np.arange(start, stop, dtype=np.int64), self.vectors[start:stop]

    def vectors_found(
        self, ids: list[int], dim: int, *, views: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        found = np.unique(np.asarray(ids, dtype=np.int64))
        return found, self.vectors[found].astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000]
    )
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--uniform", action="store_true", help="vectors uniform on the sphere"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = l2_normalize(rng.standard_normal((4096, args.dim)).astype(np.float32))
    policy = IndexPolicy()
    print(
        "| vectors | index | build s | p50 ms | p95 ms | recall@10 | float16 recall@10 | peak RSS GB |"
    )
    print("|---|---|---|---|---|---|---|---|")

    def draw(n: int) -> np.ndarray:
        if args.uniform:
            return l2_normalize(rng.standard_normal((n, args.dim), dtype=np.float32))
        return clustered(n, args.dim, rng, centres)

    for n in args.sizes:
        full = draw(n)
        vectors = stored_precision(full)
        store = ArrayStore(vectors)
        queries = draw(args.queries)
        start = time.perf_counter()
        index = rebuild(store, args.dim, policy)  # type: ignore[arg-type]
        build = time.perf_counter() - start
        index.search(queries[0], 10)  # warm-up
        times = []
        for q in queries:
            start = time.perf_counter()
            index.search(q, 10)
            times.append((time.perf_counter() - start) * 1000)
        exact = exact_top(store, args.dim, queries, 10)  # type: ignore[arg-type]
        recall = recall_at(index, queries, exact)
        exact32 = exact_top(ArrayStore(full), args.dim, queries, 10)  # type: ignore[arg-type]
        f16 = float(
            np.mean(
                [len(set(a) & set(b)) / 10 for a, b in zip(exact, exact32, strict=True)]
            )
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        kind = f"{index.kind}" + (
            f", nprobe {index.nprobe}" if index.kind != "flat" else ""
        )
        kind += f", {index.rerank} re-ranked" if index.rerank else ""
        print(
            f"| {n:,} | {kind} | {build:.1f} | {np.percentile(times, 50):.2f} | "
            f"{np.percentile(times, 95):.2f} | {recall:.3f} | {f16:.3f} | {peak:.1f} |"
        )
        del vectors, full, index, store


if __name__ == "__main__":
    main()
