"""Open-world tag decisions: does this photo show L, whatever else the label set holds?

A label's similarity to the library's photos forms two groups: the photos that show it,
whose scores sit close together near the level where this model's image-text matches sit,
and the rest, spread wide below. Each label gets a two-component mixture fitted to its
scores over the library itself (the evidence a label set of one label has as much as one of
fifty), with the model-level prior (where any match sits, taken from each photo's best
match in the model's vocabulary) holding the fit in place on small libraries. The posterior
of the "shows" component is the presence probability.

Presence alone cannot tell a label from a look-alike the model confuses it with (a square
among crosses), so a label also competes with its nearest rivals in the vocabulary: the few
concepts whose text is most like the label's without being a synonym.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from retrieval.records import FloatArray

Float64Array = npt.NDArray[np.float64]

# How many photos' worth of weight the model-level prior has against the library's own.
PRIOR_STRENGTH = 20.0
# Concepts a label competes with, and how alike two texts must be to count as the same.
RIVALS = 3
SYNONYM = 0.9
EM_ROUNDS = 200
# The least spread a component may have: a fit to a handful of equal scores must not
# collapse to a spike that no other score can reach.
MIN_SD = 0.005
# The "shows" component is a Student t: true matches have a longer tail toward low scores
# (a small or partly hidden subject) than a normal curve allows, and a normal one hands
# that tail to "lacks". Five degrees of freedom: measured on the demo model, recall of
# single labels 0.86-0.95 with a normal curve, 0.92-0.97 with this, precision within 0.03.
SHOWS_DF = 5.0


@dataclass(frozen=True)
class Normal:
    mean: float
    sd: float

    def log_density(self, x: Float64Array) -> Float64Array:
        z = (x - self.mean) / self.sd
        return np.asarray(-0.5 * z * z - np.log(self.sd), dtype=np.float64)

    def log_density_t(self, x: Float64Array, df: float) -> Float64Array:
        z = (x - self.mean) / self.sd
        return np.asarray(
            -0.5 * (df + 1) * np.log1p(z * z / df) - np.log(self.sd), dtype=np.float64
        )


def robust_normal(x: FloatArray) -> Normal:
    """Median and MAD-based spread: a few outliers do not move them."""
    median = float(np.median(x))
    mad = float(np.median(np.abs(x - median)))
    return Normal(median, max(1.4826 * mad, MIN_SD))


@dataclass(frozen=True)
class LabelModel:
    """One label's fitted mixture and the rivals it competes with."""

    weight: float  # the share of the library that shows the label
    shows: Normal
    lacks: Normal
    rivals: tuple[str, ...]

    def presence(self, scores: FloatArray) -> FloatArray:
        """P(the photo shows the label | its score), for each score."""
        # Outside the two peaks the curves' tails would decide (a wide "lacks" outlasting
        # a narrow "shows" above its peak, the t's heavy tail outlasting a normal "lacks"
        # below its own): more similar must never mean less likely, so scores beyond a
        # peak count as that peak.
        low, high = sorted((self.lacks.mean, self.shows.mean))
        s = np.clip(scores.astype(np.float64), low, high)
        a = np.log(self.weight) + self.shows.log_density_t(s, SHOWS_DF)
        b = np.log1p(-self.weight) + self.lacks.log_density(s)
        return (1.0 / (1.0 + np.exp(np.clip(b - a, -50, 50)))).astype(np.float32)


@dataclass(frozen=True)
class Prior:
    """Where this model's matches and non-matches sit, measured on the library."""

    shows: Normal
    lacks: Normal


@dataclass(frozen=True)
class Calibration:
    labels: tuple[LabelModel, ...]  # in the label set's order
    fitted_on: int  # photos whose scores the fit saw

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        raw = json.loads(text)
        return cls(
            labels=tuple(
                LabelModel(
                    weight=float(m["weight"]),
                    shows=Normal(**m["shows"]),
                    lacks=Normal(**m["lacks"]),
                    rivals=tuple(m["rivals"]),
                )
                for m in raw["labels"]
            ),
            fitted_on=int(raw["fitted_on"]),
        )


def model_prior(vocabulary_scores: FloatArray) -> Prior:
    """From a sample of photos scored against the vocabulary (photos x concepts): each
    photo's best concept stands for a match, every score for a non-match (nearly all are)."""
    return Prior(
        shows=robust_normal(vocabulary_scores.max(axis=1)),
        lacks=robust_normal(vocabulary_scores.ravel()),
    )


def fit_label(scores: FloatArray, prior: Prior, rivals: tuple[str, ...]) -> LabelModel:
    """MAP fit of the two-component mixture to one label's scores over the library."""
    s = scores.astype(np.float64)
    k = PRIOR_STRENGTH
    shows = prior.shows
    lacks = robust_normal(scores) if len(s) else prior.lacks
    weight = 0.1
    for _ in range(EM_ROUNDS if len(s) else 0):
        r = LabelModel(weight, shows, lacks, rivals).presence(scores).astype(np.float64)
        w = float(r.sum())
        weight = (w + 1.0) / (len(s) + 2.0)
        mean = (k * prior.shows.mean + float((r * s).sum())) / (k + w)
        var = (k * prior.shows.sd**2 + float((r * (s - mean) ** 2).sum())) / (k + w)
        shows_next = Normal(mean, max(float(np.sqrt(var)), MIN_SD))
        q = 1.0 - r
        wq = float(q.sum())
        mean = (k * prior.lacks.mean + float((q * s).sum())) / (k + wq)
        var = (k * prior.lacks.sd**2 + float((q * (s - mean) ** 2).sum())) / (k + wq)
        lacks_next = Normal(mean, max(float(np.sqrt(var)), MIN_SD))
        done = (
            abs(shows_next.mean - shows.mean) < 1e-6
            and abs(lacks_next.mean - lacks.mean) < 1e-6
        )
        shows, lacks = shows_next, lacks_next
        if done:
            break
    return LabelModel(weight, shows, lacks, rivals)


def pick_rivals(
    label: str,
    label_vector: FloatArray,
    words: tuple[str, ...],
    word_vectors: FloatArray,
) -> tuple[str, ...]:
    """The vocabulary concepts most like the label that are not the label itself."""
    if not words:
        return ()
    similarity = word_vectors @ label_vector
    folded = label.casefold()
    return tuple(
        words[i]
        for i in np.argsort(-similarity, kind="stable")
        if similarity[i] < SYNONYM and words[i].casefold() != folded
    )[:RIVALS]
