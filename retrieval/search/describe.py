"""Image to text: the texts a user gives, ranked by how well they match a photo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.errors import UsageError
from retrieval.library import Library
from retrieval.records import FloatArray


@dataclass(frozen=True)
class TextScore:
    text: str
    score: float  # cosine similarity
    probability: float  # softmax over the given texts, at the model's temperature


def rank_texts(
    library: Library, vector: FloatArray, texts: Sequence[str]
) -> list[TextScore]:
    """Image to text: the given texts, best match first for the image whose vector this is."""
    texts = [t.strip() for t in texts]
    if not texts or any(not t for t in texts):
        raise UsageError("give at least one text to rank, none of them blank")
    text_vectors = library.encoder.encode_texts(texts)
    cosines = text_vectors @ vector
    logits = library.encoder.logit_scale * cosines
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    order = np.argsort(-cosines, kind="stable")
    return [
        TextScore(texts[i], float(cosines[i]), float(probabilities[i])) for i in order
    ]
