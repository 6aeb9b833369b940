"""Zero-shot tagging: each label is embedded through an ensemble of prompt templates
(averaged, then re-normalised, as in the CLIP paper), and each image gets a probability for
every label of the set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.encoder import Encoder
from retrieval.errors import UsageError
from retrieval.records import LabelSetRecord, TagScores
from retrieval.store import Store
from retrieval.types import FloatArray
from retrieval.vectors import l2_normalize

TEMPLATES = (
    "a photo of a {}.",
    "a close-up photo of a {}.",
    "a photo of the {}.",
    "a good photo of a {}.",
    "a bad photo of a {}.",
    "a picture of a {}.",
    "an image of a {}.",
    "a drawing of a {}.",
    "a rendering of a {}.",
    "{}",
)


def clean_labels(labels: Sequence[str]) -> list[str]:
    """Labels stripped, blank lines and '#' comments dropped, duplicates removed in order."""
    out: list[str] = []
    for raw in labels:
        label = raw.strip()
        if label and not label.startswith("#") and label not in out:
            out.append(label)
    if len(out) < 1:
        raise UsageError(
            "no labels given: pass --label L ... or a --labels FILE with one per line"
        )
    return out


def label_vectors(encoder: Encoder, labels: Sequence[str]) -> FloatArray:
    """One unit vector per label: the normalised mean of its prompt embeddings."""
    prompts = [template.format(label) for label in labels for template in TEMPLATES]
    embedded = encoder.encode_texts(prompts).reshape(len(labels), len(TEMPLATES), -1)
    return l2_normalize(embedded.mean(axis=1))


def probabilities(
    image_vectors: FloatArray, labels: FloatArray, logit_scale: float
) -> FloatArray:
    """Softmax over the label set of the scaled cosine similarities, one row per image."""
    logits = logit_scale * (image_vectors @ labels.T)
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def assign(probs: FloatArray, threshold: float, top: int) -> np.ndarray:
    """A label is assigned when it is among the `top` most probable and reaches `threshold`."""
    ranks = np.argsort(np.argsort(-probs, axis=1, kind="stable"), axis=1)
    return (ranks < top) & (probs >= threshold)


def score_vectors(
    label_set: LabelSetRecord,
    vectors: FloatArray,
    labels: FloatArray,
    logit_scale: float,
) -> TagScores:
    """The set's scores for these images, whose label vectors are `labels`."""
    probs = probabilities(vectors, labels, logit_scale)
    return TagScores(
        label_set, probs, assign(probs, label_set.threshold, label_set.top)
    )


def tag_images(
    store: Store, encoder: Encoder, label_set: LabelSetRecord, chunk: int = 5000
) -> int:
    """Score every image against a saved label set; returns how many were scored."""
    labels = label_vectors(encoder, label_set.labels)
    scale = encoder.logit_scale
    done = 0
    for ids, vectors in store.iter_vectors(encoder.info.dim, chunk):
        store.write_tags(
            [int(i) for i in ids], score_vectors(label_set, vectors, labels, scale)
        )
        done += len(ids)
    return done
