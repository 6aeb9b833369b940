"""Measure a model on the user's own photos: a folder whose sub-folders are labels (the
usual image-folder layout; photos at the top show none of them) and, optionally, a
captions.csv of (file, caption) rows for text-to-image retrieval."""

from __future__ import annotations

import csv
import os
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Self

import numpy as np

from retrieval.errors import DecodeError, UsageError
from retrieval.media.decode import IMAGE_EXTENSIONS, decode
from retrieval.model.protocol import Encoder
from retrieval.records import FloatArray, LabelSetRecord, TagScores
from retrieval.tagging.prompts import label_vectors
from retrieval.tagging.scoring import calibrate, scorer

CAPTIONS_FILE = "captions.csv"
RECALL_AT = (1, 5, 10)
BATCH = 32
# Thresholds the precision-recall curve is drawn through.
CURVE = tuple(round(t, 2) for t in np.linspace(0.05, 0.95, 19))


@dataclass(frozen=True)
class EvalFolder:
    root: Path
    paths: tuple[Path, ...]
    truth: tuple[
        str | None, ...
    ]  # each photo's label (its sub-folder), None at the top
    labels: tuple[str, ...]
    captions: tuple[tuple[int, str], ...]  # (photo index, caption)


def _label_text(folder_name: str) -> str:
    """What the model reads for a folder name: golden_retriever -> golden retriever."""
    return " ".join(folder_name.replace("_", " ").split())


def read_eval_folder(root: Path) -> EvalFolder:
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder: give a folder of labelled photos")
    paths: list[Path] = []
    truth: list[str | None] = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
            continue
        parts = path.relative_to(root).parts
        paths.append(path)
        truth.append(_label_text(parts[0]) if len(parts) > 1 else None)
    if not paths:
        raise UsageError(f"no photos in {root}: put them in one sub-folder per label")
    labels = tuple(sorted({t for t in truth if t is not None}))
    captions = _read_captions(root, paths)
    if not labels and not captions:
        raise UsageError(
            f"nothing to measure in {root}: make one sub-folder per label, or add a "
            f"{CAPTIONS_FILE} of file,caption rows"
        )
    return EvalFolder(root, tuple(paths), tuple(truth), labels, captions)


def _read_captions(root: Path, paths: list[Path]) -> tuple[tuple[int, str], ...]:
    file = root / CAPTIONS_FILE
    if not file.exists():
        return ()
    index = {p.relative_to(root).as_posix(): i for i, p in enumerate(paths)}
    out: list[tuple[int, str]] = []
    try:
        with open(file, newline="", encoding="utf-8") as f:
            for line, row in enumerate(csv.reader(f), start=1):
                if not row or (
                    line == 1 and row[0].strip().lower() in ("file", "path")
                ):
                    continue
                if len(row) < 2 or not row[1].strip():
                    raise UsageError(
                        f"{file} line {line}: expected file,caption; fix or remove it"
                    )
                name = row[0].strip()
                if name not in index:
                    raise UsageError(
                        f"{file} line {line}: no photo {name!r} in {root} (paths are "
                        "relative to the folder)"
                    )
                out.append((index[name], row[1].strip()))
    except UnicodeDecodeError:
        raise UsageError(f"{file} is not UTF-8 text: save it as UTF-8") from None
    return tuple(out)


class PeakMemory:
    """The process's largest resident size while it runs, sampled (Linux: /proc); other
    systems report the process's peak so far."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _rss() -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            import resource  # not on Windows, where /proc is missing as well

            scale = 1 if sys.platform == "darwin" else 1024
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> Self:
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


@dataclass
class ModelResult:
    model: str
    pretrained: str
    photos: int
    unreadable: int
    photos_per_s: float
    peak_memory_mb: float
    tag_precision: float | None = None
    tag_recall: float | None = None
    closed_set_accuracy: float | None = None
    recall: dict[str, float] = field(default_factory=dict)
    # (threshold, precision, recall) of open-world tags
    curve: list[tuple[float, float, float]] = field(default_factory=list)


def encode_folder(
    encoder: Encoder, folder: EvalFolder, max_pixels: int
) -> tuple[FloatArray, np.ndarray]:
    """Vectors of the photos that decode, and which photos those are (a mask)."""
    size = encoder.image_size
    ok = np.zeros(len(folder.paths), dtype=bool)
    vectors: list[FloatArray] = []
    batch: list[object] = []
    for i, path in enumerate(folder.paths):
        try:
            decoded = decode(path, max_pixels=max_pixels, draft_size=size)
        except DecodeError:
            continue
        batch.append(encoder.prepare(decoded.image))
        ok[i] = True
        if len(batch) == BATCH:
            vectors.append(encoder.encode_prepared(batch))
            batch = []
    if batch:
        vectors.append(encoder.encode_prepared(batch))
    dim = encoder.info.dim
    return (np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32)), ok


def _precision_recall(got: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    hits = int((got & truth).sum())
    return hits / max(1, int(got.sum())), hits / max(1, int(truth.sum()))


def tag_scores(
    encoder: Encoder,
    labels: tuple[str, ...],
    vectors: FloatArray,
    threshold: float,
    *,
    exclusive: bool = False,
    cache_dir: Path | None = None,
) -> TagScores:
    """These photos tagged as by `photosearch tag` with a set of `labels` (every label
    may be assigned; an exclusive set, as before open-world tags, assigns its top one), an
    open-world set fitted to the photos themselves as to a library."""
    record = LabelSetRecord(
        name="eval",
        labels=labels,
        label_ids=tuple(range(len(labels))),
        threshold=threshold,
        top=1 if exclusive else len(labels),
        exclusive=exclusive,
    )
    label_vecs = label_vectors(encoder, labels)
    if not exclusive:
        fitted = calibrate(encoder, record, label_vecs, vectors, cache_dir)
        record = replace(record, calibration=fitted)
    return scorer(encoder, record, label_vecs).score(vectors)


def tag_metrics(
    encoder: Encoder,
    labels: tuple[str, ...],
    truth: list[str | None],
    vectors: FloatArray,
    threshold: float,
    cache_dir: Path | None,
) -> tuple[float, float, list[tuple[float, float, float]]]:
    """Open-world tags as `photosearch tag` assigns them (fitted to these photos)."""
    probs = tag_scores(encoder, labels, vectors, threshold, cache_dir=cache_dir).scores
    expected = np.array([[t == label for label in labels] for t in truth])
    precision, recall = _precision_recall(probs >= threshold, expected)
    curve = [(t, *_precision_recall(probs >= t, expected)) for t in CURVE]
    return precision, recall, curve


def closed_set_accuracy(
    encoder: Encoder,
    labels: tuple[str, ...],
    truth: list[str | None],
    vectors: FloatArray,
) -> float | None:
    rows = [i for i, t in enumerate(truth) if t is not None]
    if len(labels) < 2 or not rows:
        return None
    predicted = np.argmax(vectors[rows] @ label_vectors(encoder, labels).T, axis=1)
    return float(
        np.mean([labels[p] == truth[i] for p, i in zip(predicted, rows, strict=True)])
    )


def caption_recall(
    encoder: Encoder, captions: list[tuple[int, str]], vectors: FloatArray
) -> dict[str, float]:
    """Each caption is a query over all photos; a hit is its own photo in the top k."""
    if not captions:
        return {}
    queries = encoder.encode_texts([text for _, text in captions])
    ranking = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")
    targets = np.array([i for i, _ in captions])
    return {
        f"recall@{k}": float(np.mean((ranking[:, :k] == targets[:, None]).any(axis=1)))
        for k in RECALL_AT
    }


def evaluate_model(
    encoder: Encoder,
    folder: EvalFolder,
    *,
    threshold: float,
    max_pixels: int,
    cache_dir: Path | None,
) -> ModelResult:
    with PeakMemory() as memory:
        encoder.load()
        start = time.perf_counter()
        vectors, ok = encode_folder(encoder, folder, max_pixels)
        elapsed = time.perf_counter() - start
    kept = np.flatnonzero(ok)
    truth = [folder.truth[i] for i in kept]
    position = {int(i): row for row, i in enumerate(kept)}
    result = ModelResult(
        model=encoder.info.name,
        pretrained=encoder.info.pretrained,
        photos=len(kept),
        unreadable=len(folder.paths) - len(kept),
        photos_per_s=len(folder.paths) / elapsed if elapsed > 0 else 0.0,
        peak_memory_mb=memory.peak / 2**20,
    )
    if folder.labels and len(kept):
        precision, recall, curve = tag_metrics(
            encoder, folder.labels, truth, vectors, threshold, cache_dir
        )
        result.tag_precision, result.tag_recall, result.curve = precision, recall, curve
        result.closed_set_accuracy = closed_set_accuracy(
            encoder, folder.labels, truth, vectors
        )
    captions = [(position[i], text) for i, text in folder.captions if i in position]
    result.recall = caption_recall(encoder, captions, vectors)
    return result
