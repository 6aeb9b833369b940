"""The concepts a model knows without being told: the vocabulary that open-world tagging
measures a label against. The demo model's is its own world (shapes and colours); every
other model gets the 1,000 ImageNet class names that open_clip ships. Their embeddings are
cached in the library, keyed by the model and the words."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from retrieval.model.demo import DEMO_MODEL_NAME
from retrieval.model.protocol import Encoder
from retrieval.records import FloatArray, ModelInfo
from retrieval.resources import demo_vocabulary
from retrieval.tagging.prompts import TEMPLATES, label_vectors

CACHE_FOLDER = "cache"


def read_words(path: Path) -> tuple[str, ...]:
    """One concept per line; blank lines and '#' comments skipped, duplicates dropped."""
    words: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            words[word] = None
    return tuple(words)


def builtin_vocabulary(model: ModelInfo) -> tuple[str, ...]:
    if model.name == DEMO_MODEL_NAME:
        return read_words(demo_vocabulary())
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

    return tuple(dict.fromkeys(IMAGENET_CLASSNAMES))


def cache_key(model: ModelInfo, words: tuple[str, ...]) -> str:
    """What a cached vocabulary file was made for: the model, the templates, the words."""
    blob = json.dumps(
        [model.name, model.pretrained, model.dim, list(TEMPLATES), list(words)]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def vocabulary_vectors(
    encoder: Encoder, words: tuple[str, ...], cache_dir: Path | None
) -> FloatArray:
    """The words' prompt-ensemble vectors, from the cache when the model and the words are
    the ones it was made for (a thousand words through the ensemble take half a minute on
    a CPU)."""
    path = (
        cache_dir / CACHE_FOLDER / f"vocabulary-{cache_key(encoder.info, words)}.npy"
        if cache_dir is not None
        else None
    )
    if path is not None and path.exists():
        try:
            cached = np.load(path)
            if cached.shape == (len(words), encoder.info.dim):
                return cached.astype(np.float32)
        except (OSError, ValueError):
            pass  # a damaged cache is made again
    vectors = label_vectors(encoder, words)
    if path is not None:
        buffer = io.BytesIO()
        np.save(buffer, vectors)
        write_cache(path, buffer.getvalue())
    return vectors


def write_cache(path: Path, data: bytes) -> None:
    """A cache file written whole or not at all; where it cannot be written (a read-only
    library) nothing is lost but the time to make it again next time."""
    try:
        path.parent.mkdir(exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError:
        pass
