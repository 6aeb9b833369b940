"""Zero-shot tagging with labels the user invents.

Open-world by default: each label answers "does this photo show L?" on its own, so a photo
gets no tag, one or several (see `retrieval.calibration` for how). Models trained with a
sigmoid loss (SigLIP) give that probability for each image-text pair themselves. Label sets
marked exclusive ("indoor" / "outdoor") are closed-set: a softmax over their labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from retrieval.calibration import (
    Calibration,
    fit_label,
    model_prior,
    pick_rivals,
)
from retrieval.encoder import Encoder
from retrieval.errors import UsageError
from retrieval.prompts import label_vectors
from retrieval.records import LabelSetRecord, TagScores
from retrieval.store import Store
from retrieval.types import FloatArray
from retrieval.vocabulary import builtin_vocabulary, vocabulary_vectors

# Photos whose scores a calibration is fitted to: a spread sample of a larger library is
# as good as all of it.
FIT_SAMPLE = 50_000


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


@dataclass(frozen=True)
class Scorer:
    """A label set made ready to score photos: its label vectors and, for an open-world
    set, its rivals' vectors (label i's rivals are rows rival_rows[i] of rivals)."""

    label_set: LabelSetRecord
    labels: FloatArray
    rivals: FloatArray
    rival_rows: tuple[tuple[int, ...], ...]
    logit_scale: float
    logit_bias: float | None

    def probabilities(self, vectors: FloatArray) -> FloatArray:
        if self.label_set.exclusive:
            return probabilities(vectors, self.labels, self.logit_scale)
        scores = vectors @ self.labels.T
        if self.logit_bias is not None:
            logits = self.logit_scale * scores + self.logit_bias
            return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        calibration = self.label_set.calibration
        if calibration is None:
            raise ValueError(f"label set {self.label_set.name!r} is not calibrated")
        out = np.empty_like(scores, dtype=np.float32)
        for j, model in enumerate(calibration.labels):
            p = model.presence(scores[:, j])
            rows = list(self.rival_rows[j])
            if rows:
                # The label against its rivals: the set's own softmax, over them.
                contest = np.vstack([self.labels[j], self.rivals[rows]])
                p = p * probabilities(vectors, contest, self.logit_scale)[:, 0]
            out[:, j] = p
        return out

    def score(
        self, vectors: FloatArray, views: Sequence[FloatArray | None] = ()
    ) -> TagScores:
        """`views`: each photo's other views (retrieval.views), if any: an open-world label
        counts as shown when any view shows it. An exclusive set asks what the photo is,
        and looks at its centre only."""
        probs = self.probabilities(vectors)
        extra = [(row, v) for row, v in enumerate(views) if v is not None and len(v)]
        if extra and not self.label_set.exclusive:
            rows = np.concatenate([np.full(len(v), row) for row, v in extra])
            np.maximum.at(
                probs, rows, self.probabilities(np.concatenate([v for _, v in extra]))
            )
        return TagScores(
            self.label_set,
            probs,
            assign(probs, self.label_set.threshold, self.label_set.top),
        )

    @property
    def needs_calibration(self) -> bool:
        return (
            not self.label_set.exclusive
            and self.logit_bias is None
            and self.label_set.calibration is None
        )


def scorer(
    encoder: Encoder, label_set: LabelSetRecord, labels: FloatArray | None = None
) -> Scorer:
    """`labels`: the set's label vectors when the caller has them already."""
    if labels is None:
        labels = label_vectors(encoder, label_set.labels)
    rival_words: list[str] = []
    rows: list[tuple[int, ...]] = []
    for model in label_set.calibration.labels if label_set.calibration else ():
        found = []
        for word in model.rivals:
            if word not in rival_words:
                rival_words.append(word)
            found.append(rival_words.index(word))
        rows.append(tuple(found))
    rivals = (
        label_vectors(encoder, rival_words)
        if rival_words
        else np.zeros((0, labels.shape[1]), dtype=np.float32)
    )
    return Scorer(
        label_set, labels, rivals, tuple(rows), encoder.logit_scale, encoder.logit_bias
    )


def calibrate(
    encoder: Encoder,
    label_set: LabelSetRecord,
    labels: FloatArray,
    sample: FloatArray,
    cache_dir: Path | None,
) -> Calibration | None:
    """Fit each label of an open-world set to its scores over `sample` (photos of the
    library); None when there is no photo to fit to yet."""
    if len(sample) == 0:
        return None
    words = builtin_vocabulary(encoder.info)
    word_vectors = vocabulary_vectors(encoder, words, cache_dir)
    prior = model_prior(sample @ word_vectors.T)
    scores = sample @ labels.T
    return Calibration(
        labels=tuple(
            fit_label(
                scores[:, j],
                prior,
                pick_rivals(label, labels[j], words, word_vectors),
            )
            for j, label in enumerate(label_set.labels)
        ),
        fitted_on=len(sample),
    )


def library_sample(store: Store, dim: int, limit: int = FIT_SAMPLE) -> FloatArray:
    """Up to `limit` of the index's entries, evenly spread over it: wide photos' other
    views too, since a label may show only there, and is scored there."""
    total = store.entry_count(dim)
    step = max(1, -(-total // limit))
    parts = [
        vectors[::step]
        for _, vectors in store.iter_vectors(dim, 20_000 * step, views=True)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32)


def calibrated(
    store: Store,
    encoder: Encoder,
    label_set: LabelSetRecord,
    labels: FloatArray,
    extra: FloatArray | None = None,
) -> Scorer:
    """A scorer for the set, fitting (and saving) its calibration first when it needs
    one; `extra`: photos about to join the library, fitted to as well."""
    ready = scorer(encoder, label_set, labels)
    if not ready.needs_calibration:
        return ready
    sample = library_sample(store, encoder.info.dim)
    if extra is not None and len(extra):
        sample = np.concatenate([sample, extra])
    calibration = calibrate(encoder, label_set, labels, sample, store.root)
    if calibration is None:
        return ready
    store.save_calibration(label_set.name, calibration)
    return scorer(encoder, replace(label_set, calibration=calibration), labels)


def tag_images(
    store: Store, encoder: Encoder, label_set: LabelSetRecord, chunk: int = 5000
) -> int:
    """Score every image against a saved label set, fitting an open-world set to the
    library first; returns how many were scored."""
    labels = label_vectors(encoder, label_set.labels)
    ready = calibrated(store, encoder, replace(label_set, calibration=None), labels)
    done = 0
    dim = encoder.info.dim
    for ids, vectors in store.iter_vectors(dim, chunk):
        photos = [int(i) for i in ids]
        store.write_tags(photos, ready.score(vectors, store.views_of(photos, dim)))
        done += len(ids)
    return done
