"""Keeping the FAISS index in step with the store: load it, or rebuild it from the vectors
in SQLite when the file is missing, damaged or stale."""

from __future__ import annotations

import logging

from retrieval.store import Store
from retrieval.vector_index import INDEX_NAME, IndexFileError, VectorIndex

log = logging.getLogger(__name__)


def open_index(store: Store, dim: int) -> VectorIndex:
    path = store.root / INDEX_NAME
    for stale in store.root.glob(".index-*.tmp"):  # left by a crash mid-save
        stale.unlink(missing_ok=True)
    try:
        return VectorIndex.load(path, dim, store.generation())
    except IndexFileError as reason:
        if path.exists():
            log.warning(
                "rebuilding the vector index from the library database: %s", reason
            )
        index = rebuild(store, dim)
        try:
            index.save(path)
        except OSError as exc:  # a read-only library still answers queries
            log.warning(
                "could not save the rebuilt index to %s: %s", path, exc.strerror
            )
        return index


def rebuild(store: Store, dim: int) -> VectorIndex:
    """A fresh index of every stored vector. Its generation is known only if no writer
    changed the vectors while they were read (another process may be indexing)."""
    for _ in range(3):
        before = store.generation()
        index = VectorIndex(dim)
        for ids, vectors in store.iter_vectors(dim):
            index.add(ids, vectors)
        if store.generation() == before:
            index.generation = before
            return index
    return index


def save_index(store: Store, index: VectorIndex) -> None:
    index.save(store.root / INDEX_NAME)
