"""Texts as the model should see them: each label or concept is embedded through an
ensemble of prompt templates (averaged, then re-normalised, as in the CLIP paper)."""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.model.protocol import Encoder
from retrieval.records import FloatArray
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


def label_vectors(encoder: Encoder, labels: Sequence[str]) -> FloatArray:
    """One unit vector per label: the normalised mean of its prompt embeddings."""
    prompts = [template.format(label) for label in labels for template in TEMPLATES]
    embedded = encoder.encode_texts(prompts).reshape(len(labels), len(TEMPLATES), -1)
    return l2_normalize(embedded.mean(axis=1))
