"""Query latency of the vector index on synthetic CLIP-like vectors.

    python -m bench.bench_search [--sizes 10000 100000 1000000] [--dim 512]

Vectors are unit-length draws around a few thousand random centres (photo libraries are
clustered, uniform noise is not like them). Prints p50 / p95 latency of single queries
through `VectorIndex.search`, recall@10 against exact search, and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from retrieval.vector_index import VectorIndex
from retrieval.vectors import l2_normalize


def clustered(
    n: int, dim: int, rng: np.random.Generator, centres: np.ndarray
) -> np.ndarray:
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        picks = centres[rng.integers(0, len(centres), stop - start)]
        noise = rng.standard_normal((stop - start, dim), dtype=np.float32) * 0.6
        out[start:stop] = l2_normalize(picks + noise / np.sqrt(dim) * 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000]
    )
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = l2_normalize(rng.standard_normal((4096, args.dim)).astype(np.float32))
    print("| vectors | index | p50 ms | p95 ms | recall@10 | peak RSS GB |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        vectors = clustered(n, args.dim, rng, centres)
        index = VectorIndex(args.dim)
        index.add(np.arange(n, dtype=np.int64), vectors)
        queries = clustered(args.queries, args.dim, rng, centres)
        times, hits = [], 0
        for q in queries:
            start = time.perf_counter()
            _, ids = index.search(q, 10)
            times.append((time.perf_counter() - start) * 1000)
            exact = np.argsort(-(vectors @ q))[:10]
            hits += len(set(ids[0].tolist()) & set(exact.tolist()))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(
            f"| {n:,} | {index.kind} | {np.percentile(times, 50):.1f} | "
            f"{np.percentile(times, 95):.1f} | {hits / (10 * len(queries)):.3f} | {peak:.1f} |"
        )
        del vectors, index


if __name__ == "__main__":
    main()
