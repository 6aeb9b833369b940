"""How each kind of vector index searches: a strategy per kind instead of a switch on it.

"flat" compares every vector; "ivf" searches `nprobe` buckets of 8-bit codes; "pq"
searches buckets of 4-bit product codes, then scores its best candidates exactly from the
stored vectors, so the scores it returns are exact (retrieval.index.vector_index says when
each is chosen).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import faiss
import numpy as np

from retrieval.records import FloatArray, IdArray

if TYPE_CHECKING:
    from retrieval.index.vector_index import VectorIndex

# Given index ids, the stored (exact) vectors: (entry ids, vectors) of the items those
# ids belong to, each view and moment included; what a "pq" index re-ranks with.
ExactVectors = Callable[[IdArray], tuple[IdArray, FloatArray]]
# "pq" range searches gather candidates at least this far below the threshold (more when
# the codes are seen to err more) before re-scoring them exactly.
RANGE_MARGIN = 0.05
# The lookup tables a "pq" search builds at once, at most (see `Pq.search`).
LUT_BYTES = 256 * 2**20

Hits = list[tuple[FloatArray, IdArray]]


class Kind(Protocol):
    name: str

    def search(
        self,
        vi: VectorIndex,
        query: FloatArray,
        k: int,
        selector: faiss.IDSelector | None,
        nprobe: int,
    ) -> tuple[FloatArray, IdArray]:
        """Top `k` (scores, ids) per query row, best first, padded with id -1."""
        ...

    def range_search(
        self, vi: VectorIndex, query: FloatArray, threshold: float
    ) -> Hits:
        """Per query row, every (score, id) above `threshold`."""
        ...


class Flat:
    name = "flat"

    def params(
        self, selector: faiss.IDSelector | None, nprobe: int
    ) -> faiss.SearchParameters:
        return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]

    def search(
        self,
        vi: VectorIndex,
        query: FloatArray,
        k: int,
        selector: faiss.IDSelector | None,
        nprobe: int,
    ) -> tuple[FloatArray, IdArray]:
        scores, ids = vi.index.search(query, k, params=self.params(selector, nprobe))
        return scores, ids

    def range_search(
        self, vi: VectorIndex, query: FloatArray, threshold: float
    ) -> Hits:
        params = self.params(None, vi.nprobe)
        limits, scores, ids = vi.index.range_search(query, threshold, params=params)
        return [
            (scores[limits[i] : limits[i + 1]], ids[limits[i] : limits[i + 1]])
            for i in range(len(query))
        ]


class Ivf(Flat):
    name = "ivf"

    def params(
        self, selector: faiss.IDSelector | None, nprobe: int
    ) -> faiss.SearchParameters:
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]


class Pq(Ivf):
    name = "pq"

    def search(
        self,
        vi: VectorIndex,
        query: FloatArray,
        k: int,
        selector: faiss.IDSelector | None,
        nprobe: int,
    ) -> tuple[FloatArray, IdArray]:
        params = self.params(selector, nprobe)
        fetch = min(len(vi), max(k, vi.rerank))
        # Fast-scan IVF builds every query's lookup tables for all its buckets at once
        # (16 floats per code per bucket): many queries over many buckets would take
        # gigabytes, so they go a slice at a time.
        probes = min(int(getattr(vi.index, "nlist", 1)), nprobe)
        codes = int(getattr(vi.index, "M", vi.dim))
        rows = max(1, LUT_BYTES // (probes * codes * 16 * 4))
        candidates = np.concatenate(
            [
                vi.index.search(query[i : i + rows], fetch, params=params)[1]
                for i in range(0, len(query), rows)
            ]
        )
        scores = np.zeros((len(query), k), dtype=np.float32)
        ids = np.full((len(query), k), -1, dtype=np.int64)
        for row, found in enumerate(candidates):
            entries, exact = exact_scores(vi, query[row], found)
            top = np.argsort(-exact, kind="stable")[:k]
            scores[row, : len(top)] = exact[top]
            ids[row, : len(top)] = entries[top]
        return scores, ids

    def range_search(
        self, vi: VectorIndex, query: FloatArray, threshold: float
    ) -> Hits:
        # Fast-scan codes answer no range search: the nearest candidates are re-scored
        # exactly, widened while the last of them, given the codes' error seen among
        # them, may still be within reach.
        params = self.params(None, vi.nprobe)
        found = []
        for row in query:
            fetch = max(vi.rerank, 10)
            while True:
                approx, candidates = vi.index.search(
                    row[None, :], min(fetch, len(vi)), params=params
                )
                entries, exact = exact_scores(vi, row, candidates[0])
                pairs = zip(candidates[0].tolist(), approx[0].tolist(), strict=True)
                estimated = dict(pairs)
                error = max(
                    (
                        abs(estimated[e] - s)
                        for e, s in zip(entries.tolist(), exact.tolist(), strict=True)
                    ),
                    default=0.0,
                )
                margin = max(RANGE_MARGIN, 2 * error)
                if fetch >= len(vi) or approx[0][-1] < threshold - margin:
                    break
                fetch *= 4
            keep = exact >= threshold
            order = np.argsort(-exact[keep], kind="stable")
            found.append((exact[keep][order], entries[keep][order]))
        return found


def exact_scores(
    vi: VectorIndex, query: FloatArray, candidates: IdArray
) -> tuple[IdArray, FloatArray]:
    """The candidates' exact scores, from their stored vectors (ascending ids)."""
    if vi.exact is None:
        raise RuntimeError("a pq index searches only with its exact vectors attached")
    entries, vectors = vi.exact(candidates[candidates >= 0])
    # Only what this index holds: a store ahead of it may know newer entries.
    held = np.isin(entries, candidates)
    return entries[held], vectors[held] @ query


FLAT, IVF, PQ = Flat(), Ivf(), Pq()


def kind_of(index: faiss.Index) -> Kind:
    if isinstance(index, faiss.IndexIVFPQFastScan):
        return PQ
    return IVF if isinstance(index, faiss.IndexIVF) else FLAT
