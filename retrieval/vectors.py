"""Vector helpers: normalisation and the byte form vectors are stored in."""

from __future__ import annotations

import numpy as np

from retrieval.records import FloatArray


def l2_normalize(vectors: FloatArray) -> FloatArray:
    """Rows scaled to unit length, so that inner product is cosine similarity.

    Every embedding passes through here exactly once, in the encoder; combined queries and
    prompt ensembles call it again on their sums, which are no longer unit vectors.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


# Vectors are stored as float16: half the bytes, and rankings that do not measurably move
# (bench/bench_search.py reports recall@10 of float16 against float32).
STORED_DTYPE = np.dtype("<f2")


def stored_precision(vectors: FloatArray) -> FloatArray:
    """Vectors as they will read back from the store, so the in-memory index holds exactly
    what a rebuild from the store would."""
    return np.ascontiguousarray(
        np.asarray(vectors).astype(STORED_DTYPE), dtype=np.float32
    )


def to_blob(vector: FloatArray) -> bytes:
    return np.ascontiguousarray(vector, dtype=STORED_DTYPE).tobytes()


def from_blobs(blobs: list[bytes], dim: int) -> FloatArray:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    out = np.frombuffer(b"".join(blobs), dtype=STORED_DTYPE).reshape(len(blobs), dim)
    return np.ascontiguousarray(out, dtype=np.float32)


TIMES_DTYPE = np.dtype("<f4")


def times_to_blob(times: FloatArray) -> bytes:
    """A video's moment times (seconds) as stored."""
    return np.ascontiguousarray(times, dtype=TIMES_DTYPE).tobytes()


def times_blob(blob: bytes | None) -> FloatArray | None:
    """Moment times from their stored bytes (None: not a video's)."""
    if blob is None:
        return None
    return np.frombuffer(blob, dtype=TIMES_DTYPE).astype(np.float32)
