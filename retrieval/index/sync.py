"""Keeping the FAISS index in step with the store: load it, or rebuild it from the vectors
in SQLite when the file is missing, damaged or stale; and choosing its type by size."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.index.ids import best_per_photo, image_ids
from retrieval.index.kinds import ExactVectors
from retrieval.index.vector_index import (
    INDEX_NAME,
    IndexFileError,
    VectorIndex,
    remove_stale_temp_files,
)
from retrieval.records import FloatArray, IdArray
from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.store import Store

log = logging.getLogger(__name__)

RECALL_K = 10
TUNING_QUERIES = 256
# An IVF-SQ8 index tuned to visit more than this share of its buckets found no structure
# to use in the vectors (near-uniform ones), and scans most of its 1 byte per dimension
# per query: a "pq" index scans an eighth of that. (Judged with enough buckets to tell.)
IVF_MAX_SHARE = 0.25
IVF_MIN_LISTS = 32
# Candidates a "pq" index may re-rank per query, tried in turn when its buckets alone do
# not reach the recall target.
RERANKS = (100, 300, 1000, 3000)


@dataclass(frozen=True)
class IndexPolicy:
    """Which index a library of a given size gets (see Settings for the fields)."""

    index_type: str = "auto"
    flat_max_vectors: int = 250_000
    index_memory_mb: int = 2048
    index_recall: float = 0.95

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexPolicy:
        return cls(
            settings.index_type,
            settings.flat_max_vectors,
            settings.index_memory_mb,
            settings.index_recall,
        )

    def needs_rebuild(self, index: VectorIndex) -> bool:
        """The library outgrew (or shrank below) its index type, or has four times the
        vectors its IVF centroids were trained for."""
        wanted = self.kind_for(len(index), index.dim)
        # Where IVF is wanted, the build itself may have chosen "pq" (IVF_MAX_SHARE).
        chosen = self.index_type == "auto" and (wanted, index.kind) == ("ivf", "pq")
        if wanted != index.kind and not chosen:
            return True
        return index.kind != "flat" and len(index) > 4 * max(1, index.trained_for)

    def kind_for(self, count: int, dim: int) -> str:
        """flat while small and its float32-sized footprint fits the memory budget; IVF
        with 8-bit codes (a byte per dimension) while they fit; then "pq" (half a byte
        per two dimensions)."""
        if self.index_type != "auto":
            return self.index_type
        budget = self.index_memory_mb * 2**20
        if count <= self.flat_max_vectors and count * dim * 4 <= budget:
            return "flat"
        return "ivf" if count * dim <= budget else "pq"


def ivf_lists(count: int) -> int:
    """About sqrt(n) buckets, each trained on at least 39 vectors (FAISS's floor)."""
    return max(1, min(65536, round(math.sqrt(count)), count // 39))


def open_index(
    store: Store, dim: int, policy: IndexPolicy | None = None, *, save: bool = True
) -> VectorIndex:
    """The library's index: the saved file brought up to date through the change log,
    else rebuilt from the stored vectors. `save`: this process writes the library (a
    reader never writes the file, nor touches a writer's temporary files, and maps the
    file rather than reading it: a query touches only the pages its search visits)."""
    path = store.root / INDEX_NAME
    if save:
        remove_stale_temp_files(store.root)
    try:
        index = VectorIndex.load(path, dim, mapped=not save)
        index.exact = stored_vectors(store, dim)
        if index.generation == store.generation() or catch_up(store, index):
            return index
        reason = f"{path} is further behind the library than its change log reaches"
    except IndexFileError as exc:
        reason = str(exc)
    if path.exists():
        log.warning("rebuilding the vector index from the library database: %s", reason)
    index = rebuild(store, dim, policy or IndexPolicy())
    if save:
        try:
            index.save(path)
        except OSError as exc:  # a read-only library still answers queries
            log.warning(
                "could not save the rebuilt index to %s: %s", path, exc.strerror
            )
    return index


def stored_vectors(store: Store, dim: int) -> ExactVectors:
    """What a "pq" index re-ranks its candidates with: their items' stored vectors."""

    def read(ids: IdArray) -> tuple[IdArray, FloatArray]:
        return store.vectors_found(np.unique(image_ids(ids)).tolist(), dim, views=True)

    return read


def catch_up(store: Store, index: VectorIndex) -> bool:
    """Apply to `index` the vectors changed since its generation, from the change log:
    O(changes), not O(library). False when the log does not reach back that far."""
    if index.generation < 0:
        return False
    changes = store.changes_since(index.generation, index.dim)
    if changes is None:
        return False
    index.remove(changes.removed)
    index.add(changes.added, changes.vectors)
    index.generation = changes.generation
    return True


def exact_search(
    store: Store, dim: int, query: FloatArray, k: int, allowed: IdArray
) -> tuple[FloatArray, IdArray]:
    """The exact top `k` (scores, ids) among `allowed`, scored from their stored vectors;
    rows padded with id -1 as `VectorIndex.search` does."""
    ids, vectors = store.vectors_found(np.unique(allowed).tolist(), dim, views=True)
    k = max(1, k)
    if not len(ids):
        return np.zeros((1, k), dtype=np.float32), np.full((1, k), -1, dtype=np.int64)
    all_scores = vectors @ np.asarray(query, dtype=np.float32).reshape(-1)
    order = np.argsort(-all_scores, kind="stable")
    return best_per_photo(all_scores[order], ids[order], k)


def rebuild(store: Store, dim: int, policy: IndexPolicy | None = None) -> VectorIndex:
    """A fresh index of every stored vector, of the type the policy picks for their number.
    Its generation is known only if no writer changed the vectors while they were read
    (another process may be indexing)."""
    policy = policy or IndexPolicy()
    index = VectorIndex(dim)
    for _ in range(3):
        before = store.generation()
        count = store.entry_count(dim)
        kind = policy.kind_for(count, dim)
        if kind != "flat" and count > 0:
            index = _build_ivf(
                store, dim, count, policy.index_recall, kind, policy.index_type
            )
        else:
            index = VectorIndex(dim)
            for ids, vectors in store.iter_vectors(dim, views=True):
                index.add(ids, vectors)
        if store.generation() == before:
            index.generation = before
            return index
    return index


def _build_ivf(
    store: Store, dim: int, count: int, recall: float, kind: str, forced: str
) -> VectorIndex:
    """An IVF index of `kind` ("ivf" or "pq") over every stored vector, tuned to `recall`
    on queries drawn from them. An "ivf" index that must visit most of its buckets is
    rebuilt as "pq", unless the user forced "ivf" (from the same sample and the same
    exact answers: the store is not read for them again)."""
    lists = ivf_lists(count)
    step = max(1, count // (lists * 64))
    # Copies: a slice of a chunk would keep the whole chunk alive, every vector of the
    # library in float32 at once.
    sample = np.concatenate(
        [vectors[::step].copy() for _, vectors in store.iter_vectors(dim, views=True)]
    )
    rng = np.random.default_rng(0)
    queries = sample[
        rng.choice(len(sample), min(TUNING_QUERIES, len(sample)), replace=False)
    ]
    exact = exact_top(store, dim, queries, min(RECALL_K, count))

    def tuned(kind: str) -> VectorIndex:
        build = VectorIndex.pq if kind == "pq" else VectorIndex.ivf
        index = build(dim, lists, sample)
        index.trained_for = count
        index.exact = stored_vectors(store, dim)
        for ids, vectors in store.iter_vectors(dim, views=True):
            index.add(ids, vectors)
        tune(index, queries, exact, recall)
        log.info(
            "built a %s index: %d vectors, %d lists, nprobe %d%s",
            kind,
            count,
            lists,
            index.nprobe,
            f", {index.rerank} re-ranked" if kind == "pq" else "",
        )
        return index

    index = tuned(kind)
    unstructured = lists >= IVF_MIN_LISTS and index.nprobe > IVF_MAX_SHARE * lists
    if kind == "ivf" and forced == "auto" and unstructured:
        log.info("the vectors have little cluster structure: building a pq index")
        return tuned("pq")
    return index


def exact_top(store: Store, dim: int, queries: FloatArray, k: int) -> np.ndarray:
    """Ids of the exact top k for each query, by brute force over the stored vectors."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.full((len(queries), k), -1, dtype=np.int64)
    for ids, vectors in store.iter_vectors(dim, views=True):
        scores = queries @ vectors.T
        if scores.shape[1] > k:
            # Each chunk's own top k first: sorting whole chunks costs minutes at 10M.
            part = np.argpartition(-scores, k, axis=1)[:, :k]
            scores, chunk_ids = np.take_along_axis(scores, part, axis=1), ids[part]
        else:
            chunk_ids = np.broadcast_to(ids, scores.shape)
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_ids = np.concatenate([best_ids, chunk_ids], axis=1)
        top = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(all_scores, top, axis=1)
        best_ids = np.take_along_axis(all_ids, top, axis=1)
    return best_ids


def recall_at(index: VectorIndex, queries: FloatArray, exact: np.ndarray) -> float:
    _, found = index.search(queries, exact.shape[1])
    hits = sum(
        len(set(f.tolist()) & set(e.tolist()))
        for f, e in zip(found, exact, strict=True)
    )
    return hits / exact.size


def tune(
    index: VectorIndex, queries: FloatArray, exact: np.ndarray, target: float
) -> None:
    """The smallest power-of-two nprobe whose recall@10 against exact search (`exact`,
    the true top ids of `queries`) reaches `target`; for "pq", with the fewest candidates
    re-ranked (RERANKS) that get there, searching every bucket if need be."""
    lists = int(getattr(index.index, "nlist", 1))
    for rerank in RERANKS if index.kind == "pq" else (0,):
        index.rerank = rerank
        index.nprobe = 1
        while index.nprobe < lists and recall_at(index, queries, exact) < target:
            index.nprobe = min(lists, index.nprobe * 2)
        if recall_at(index, queries, exact) >= target:
            return


def save_index(store: Store, index: VectorIndex) -> None:
    index.save(store.root / INDEX_NAME)
