"""The cost of "what is in this photo" over a vocabulary: fitting the concepts to a library
sample, describing one photo, and counting concepts over a whole library (`photosearch
concepts`), on synthetic unit vectors (the text tower's own time is not included: the
vocabulary's embeddings are cached after the first use).

    python -m bench.bench_concepts [--photos 50000] [--concepts 1000] [--dim 512]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50_000)
    parser.add_argument("--concepts", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=512)
    args = parser.parse_args()

    from retrieval.records import LabelSetRecord
    from retrieval.tagging.concepts import FIT_SAMPLE, _fit, _rival_rows
    from retrieval.tagging.scoring import Scorer
    from retrieval.vectors import l2_normalize

    rng = np.random.default_rng(0)
    words = tuple(f"concept {i}" for i in range(args.concepts))
    concepts = l2_normalize(
        rng.standard_normal((args.concepts, args.dim)).astype(np.float32)
    )
    # Photos near a few concepts each, as real ones are, rather than pure noise.
    near = concepts[rng.integers(0, args.concepts, args.photos)]
    photos = l2_normalize(
        near + 2.0 * rng.standard_normal((args.photos, args.dim)).astype(np.float32)
    )

    start = time.perf_counter()
    rivals = _rival_rows(words, concepts)
    rivals_s = time.perf_counter() - start
    start = time.perf_counter()
    calibration = _fit(words, concepts, rivals, photos[:FIT_SAMPLE])
    fit_s = time.perf_counter() - start
    record = LabelSetRecord(
        "vocabulary", words, (), 0.5, len(words), False, calibration
    )
    scorer = Scorer(record, concepts, concepts, rivals, 100.0, None)
    start = time.perf_counter()
    for photo in photos[:20]:
        scorer.probabilities(photo[None, :])
    one_s = (time.perf_counter() - start) / 20
    start = time.perf_counter()
    for i in range(0, args.photos, 5000):
        scorer.probabilities(photos[i : i + 5000])
    all_s = time.perf_counter() - start

    print(f"| {args.concepts} concepts, dim {args.dim} | seconds |")
    print("|---|---|")
    print(f"| rivals of every concept (once per vocabulary) | {rivals_s:.2f} |")
    print(f"| fit to a {FIT_SAMPLE}-photo sample (cached) | {fit_s:.2f} |")
    print(f"| describe one photo | {one_s:.3f} |")
    print(f"| count concepts over {args.photos} photos | {all_s:.1f} |")


if __name__ == "__main__":
    main()
