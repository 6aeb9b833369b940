"""Image to text without a vocabulary of one's own: which concepts of the model's
vocabulary a photo shows, a caption assembled from them, and the concepts that describe
the most photos of the library.

A concept is shown when the photo shows it, not merely because it ranks first: the same
open-world decision as tags (retrieval.tagging.calibration). Each concept of the vocabulary is fitted
to its scores over the library (a two-component mixture, its presence) and competes with its
nearest concepts (its rivals); the fit is cached in the library and made again when the
vocabulary changes or the library has doubled since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

import numpy as np

from retrieval.errors import UsageError
from retrieval.library import Library
from retrieval.records import FloatArray, LabelSetRecord
from retrieval.tagging.calibration import (
    Calibration,
    fit_label,
    model_prior,
    pick_rivals,
)
from retrieval.tagging.scoring import Scorer, library_sample
from retrieval.tagging.vocabulary import (
    CACHE_FOLDER,
    builtin_vocabulary,
    cache_key,
    read_words,
    vocabulary_vectors,
    write_cache,
)

# The user's own words, added to the vocabulary of every describe in this library.
VOCABULARY_FILE = "vocabulary.txt"
# Photos (index entries) the vocabulary is fitted to: a thousand concepts over them.
FIT_SAMPLE = 5000
SHOWN = 0.5  # "more likely than not", as for tags
CAPTION_CONCEPTS = 3  # the most probable concepts a caption is assembled from


@dataclass(frozen=True)
class Concept:
    text: str
    score: float  # cosine similarity to the photo
    probability: float  # that the photo shows it (calibrated, open world)


@dataclass(frozen=True)
class Description:
    concepts: list[Concept]  # shown ones, most probable first
    caption: str | None  # assembled from them and ranked by the model; None: no concept


def vocabulary(library: Library, extra: Path | None = None) -> tuple[str, ...]:
    """The model's built-in concepts, every label of the library's saved label sets, the
    library's own vocabulary file, and `extra` (a file of words, one per line)."""
    words = dict.fromkeys(builtin_vocabulary(library.model))
    for label_set in library.store.label_sets():
        words.update(dict.fromkeys(label_set.labels))
    saved = Path(library.store.root) / VOCABULARY_FILE
    sources = ([saved] if saved.is_file() else []) + ([extra] if extra else [])
    for source in sources:
        try:
            words.update(dict.fromkeys(read_words(source)))
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"vocabulary file {source}: cannot read it ({exc.__class__.__name__}): "
                "give a UTF-8 text file, one concept per line"
            ) from None
    return tuple(words)


def concept_scorer(library: Library, words: tuple[str, ...]) -> Scorer:
    """The vocabulary made ready to score photos, its fit taken from the cache when it
    is still good, else fitted to the library now (and cached)."""
    encoder = library.encoder
    root = Path(library.store.root)
    vectors = vocabulary_vectors(encoder, words, root)
    rival_rows = _rival_rows(words, vectors)
    calibration = None
    if encoder.logit_bias is None:  # SigLIP-style models say "shows" themselves
        path = root / CACHE_FOLDER / f"concepts-{cache_key(library.model, words)}.json"
        calibration = _cached(path)
        entries = library.store.entry_count(encoder.info.dim)
        if calibration is None or entries >= 2 * max(calibration.fitted_on, 1):
            sample = library_sample(library.store, encoder.info.dim, FIT_SAMPLE)
            calibration = _fit(words, vectors, rival_rows, sample)
            write_cache(path, calibration.to_json().encode())
    record = LabelSetRecord(
        "vocabulary", words, (), SHOWN, len(words), False, calibration
    )
    return Scorer(
        record, vectors, vectors, rival_rows, encoder.logit_scale, encoder.logit_bias
    )


def describe(
    library: Library, vector: FloatArray, words: tuple[str, ...], top: int = 10
) -> Description:
    """The concepts `vector`'s photo shows (at most `top`), and a caption from them."""
    scorer = concept_scorer(library, words)
    scores = (vector[None, :] @ scorer.labels.T)[0]
    probs = scorer.probabilities(vector[None, :])[0]
    order = np.argsort(-probs, kind="stable")
    concepts = [
        Concept(words[i], float(scores[i]), float(probs[i]))
        for i in order[:top]
        if probs[i] >= SHOWN
    ]
    return Description(concepts, caption(library, vector, concepts))


def caption(
    library: Library, vector: FloatArray, concepts: Sequence[Concept]
) -> str | None:
    """A short caption assembled from the photo's most probable concepts: a few
    templated candidates, the one the model finds closest to the photo."""
    chosen = [c.text for c in concepts[:CAPTION_CONCEPTS]]
    if not chosen:
        return None
    # Every candidate names at least two of the concepts when there are two: a caption
    # that drops what the photo shows is not a caption of it.
    candidates: dict[str, None] = {}
    if len(chosen) == 1:
        candidates[f"a photo of {_a(chosen[0])}"] = None
    for first, second in permutations(chosen, 2):
        candidates[f"a photo of {_a(f'{first} {second}')}"] = None
        candidates[f"a photo of {_a(first)} and {_a(second)}"] = None
        candidates[f"a photo of {_a(first)} with {_a(second)}"] = None
    for first, second, third in permutations(chosen, 3):
        candidates[f"a photo of {_a(f'{first} {second}')} with {_a(third)}"] = None
    texts = list(candidates)
    scores = library.encoder.encode_texts(texts) @ vector
    return texts[int(np.argmax(scores))]


def _a(phrase: str) -> str:
    """The phrase with its indefinite article (English; by its first letter)."""
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


def library_concepts(
    library: Library, words: tuple[str, ...], top: int = 20
) -> list[tuple[str, int]]:
    """The concepts that describe the most photos: (concept, photos that show it), most
    first; only concepts at least one photo shows."""
    scorer = concept_scorer(library, words)
    counts = np.zeros(len(words), dtype=np.int64)
    dim = library.encoder.info.dim
    for _, vectors in library.store.iter_vectors(dim, 5000):
        counts += (scorer.probabilities(vectors) >= SHOWN).sum(axis=0)
    order = np.argsort(-counts, kind="stable")
    return [(words[i], int(counts[i])) for i in order[:top] if counts[i] > 0]


def _rival_rows(
    words: tuple[str, ...], vectors: FloatArray
) -> tuple[tuple[int, ...], ...]:
    where = {w: i for i, w in enumerate(words)}
    return tuple(
        tuple(where[r] for r in pick_rivals(word, vectors[j], words, vectors))
        for j, word in enumerate(words)
    )


def _fit(
    words: tuple[str, ...],
    vectors: FloatArray,
    rival_rows: tuple[tuple[int, ...], ...],
    sample: FloatArray,
) -> Calibration:
    scores = sample @ vectors.T
    prior = model_prior(scores) if len(sample) else None
    if prior is None:
        raise UsageError(
            "the library has no photos yet: index some before asking what one shows"
        )
    return Calibration(
        labels=tuple(
            fit_label(scores[:, j], prior, tuple(words[r] for r in rival_rows[j]))
            for j in range(len(words))
        ),
        fitted_on=len(sample),
    )


def _cached(path: Path) -> Calibration | None:
    try:
        return Calibration.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or damaged: fitted again
