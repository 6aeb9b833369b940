"""Text vectors already computed, shared by the encoders: queries and label prompts repeat."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from retrieval.records import FloatArray

_SIZE = 4096
# Texts per forward pass of a text tower: a label set's thousands of prompts in one batch
# would hold all their activations at once.
TEXT_BATCH = 512


class TextCache:
    def __init__(self, size: int = _SIZE) -> None:
        self._size = size
        # Least recently used first; the lock lets any thread read it.
        self._vectors: OrderedDict[str, FloatArray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(
        self,
        texts: Sequence[str],
        compute: Callable[[list[str]], FloatArray],
        dim: int,
    ) -> FloatArray:
        """Unit vectors of the texts: cached ones as they are, the others through
        `compute` (at most TEXT_BATCH texts a call).

        The answer is built from what this call found or computed, never read back from
        the cache after inserting: a call with more new texts than the cache holds (a label
        set of hundreds of labels, ten prompts each) evicts its own first texts."""
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        found: dict[str, FloatArray] = {}
        with self._lock:
            for text in unique:
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
        missing = [t for t in unique if t not in found]
        for start in range(0, len(missing), TEXT_BATCH):
            chunk = missing[start : start + TEXT_BATCH]
            found.update(zip(chunk, compute(chunk), strict=True))
        with self._lock:
            for text in missing:
                self._vectors[text] = found[text]
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return np.stack([found[t] for t in texts])
