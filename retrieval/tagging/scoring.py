"""Zero-shot tagging with labels the user invents.

Open-world by default: each label answers "does this photo show L?" on its own, so a photo
gets no tag, one or several (see `retrieval.tagging.calibration` for how). Models trained with a
sigmoid loss (SigLIP) give that probability for each image-text pair themselves. Label sets
marked exclusive ("indoor" / "outdoor") are closed-set: a softmax over their labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from retrieval.errors import UsageError
from retrieval.model.protocol import Encoder
from retrieval.records import Clip, FloatArray, LabelSetRecord, TagScores
from retrieval.store import Store
from retrieval.tagging.calibration import (
    Calibration,
    fit_label,
    model_prior,
    pick_rivals,
)
from retrieval.tagging.prompts import label_vectors
from retrieval.tagging.vocabulary import builtin_vocabulary, vocabulary_vectors

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
            "no labels given: every label is blank or a '#' comment; give at least one"
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
        self,
        vectors: FloatArray,
        views: Sequence[FloatArray | None] = (),
        clips: Sequence[Clip | None] = (),
    ) -> TagScores:
        """`views`: each photo's other views, or each video's other moments
        (retrieval.index.ids), if any: an open-world label counts as shown when any view or
        moment shows it. `clips`: the times of each video's moments, for the stretches of
        it where an assigned label shows. An exclusive set asks what the photo is, and
        looks at its centre (a video's first moment) only."""
        own = self.probabilities(vectors)
        probs = own.copy()
        extra = [(row, v) for row, v in enumerate(views) if v is not None and len(v)]
        each = np.zeros((0, own.shape[1]), dtype=np.float32)
        if extra and not self.label_set.exclusive:
            rows = np.concatenate([np.full(len(v), row) for row, v in extra])
            each = self.probabilities(np.concatenate([v for _, v in extra]))
            np.maximum.at(probs, rows, each)
        assigned = assign(probs, self.label_set.threshold, self.label_set.top)
        ranges: dict[tuple[int, int], list[tuple[float, float]]] = {}
        starts = dict(
            zip(
                (row for row, _ in extra),
                np.cumsum([0, *(len(v) for _, v in extra)]).tolist(),
                strict=False,
            )
        )
        for row, clip in enumerate(clips):
            if clip is None:
                continue
            moments = own[row : row + 1]
            if row in starts and len(each):
                count = len(clip.times) - 1
                moments = np.concatenate(
                    [moments, each[starts[row] : starts[row] + count]]
                )
            if len(moments) != len(clip.times):
                continue  # an exclusive set looked at the first moment only
            for col in np.flatnonzero(assigned[row]).tolist():
                ranges[row, col] = shown_in(
                    moments[:, col], clip, self.label_set.threshold
                )
        return TagScores(self.label_set, probs, assigned, ranges)

    @property
    def needs_calibration(self) -> bool:
        return (
            not self.label_set.exclusive
            and self.logit_bias is None
            and self.label_set.calibration is None
        )


def shown_in(
    probabilities: FloatArray, clip: Clip, threshold: float
) -> list[tuple[float, float]]:
    """The stretches of a video where a label shows: runs of moments (in time order) at
    or over `threshold`, each from its first moment to the next moment that does not show
    it (or the end); the best moment alone when none reaches the threshold (a label given
    by the top-N rule)."""
    order = np.argsort(clip.times, kind="stable")
    times = clip.times[order].astype(float)
    shown = probabilities[order] >= threshold
    if not shown.any():
        shown[int(np.argmax(probabilities[order]))] = True
    ends = [*times[1:].tolist(), max(float(clip.duration), float(times[-1]))]
    out: list[tuple[float, float]] = []
    for n, is_shown in enumerate(shown.tolist()):
        if not is_shown:
            continue
        if out and n > 0 and shown[n - 1]:
            out[-1] = (out[-1][0], round(ends[n], 2))
        else:
            out.append((round(float(times[n]), 2), round(ends[n], 2)))
    return out


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
        items = [int(i) for i in ids]
        times = store.times_of(items)
        videos = [i for i, t in zip(items, times, strict=True) if t is not None]
        lengths = {i: m.duration or 0.0 for i, m in store.meta(videos).items()}
        clips = [
            Clip(t, lengths.get(i, 0.0)) if t is not None else None
            for i, t in zip(items, times, strict=True)
        ]
        store.write_tags(items, ready.score(vectors, store.views_of(items, dim), clips))
        done += len(ids)
    return done


def retag(store: Store, encoder: Encoder, ids: Sequence[int]) -> int:
    """Score these images again against every saved label set whose calibration is
    fitted (their other views came, and a label may show only there); a set still to
    be fitted is scored when it is (the next indexed batch fits it). How many were."""
    sets = store.label_sets()
    if not sets or not ids:
        return 0
    dim = encoder.info.dim
    found, vectors = store.vectors_found(sorted(set(ids)), dim)
    items = [int(i) for i in found]
    if not items:
        return 0
    views = store.views_of(items, dim)
    for label_set in sets:
        ready = scorer(encoder, label_set)
        if not ready.needs_calibration:
            store.write_tags(items, ready.score(vectors, views))
    return len(items)
