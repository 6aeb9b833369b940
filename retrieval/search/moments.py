"""A video's best moments for a query: which seconds of it match, best first."""

from __future__ import annotations

import numpy as np

from retrieval.records import FloatArray, MomentHit

MOMENTS_SHOWN = 5
# Two moments closer than this are one moment to a viewer: the lesser is not shown.
MOMENTS_APART = 3.0
# Moments this much (cosine) below the best are other things: not shown as matches.
MOMENTS_MARGIN = 0.05


def best_moments(
    times: FloatArray,
    vectors: FloatArray,
    query: FloatArray,
    shown: int = MOMENTS_SHOWN,
    apart: float = MOMENTS_APART,
) -> tuple[MomentHit, ...]:
    """The `shown` moments of a video that best match `query`, best first, none within
    `apart` seconds of a better one nor more than MOMENTS_MARGIN below the best."""
    scores = vectors @ np.asarray(query, dtype=np.float32)
    picked: list[MomentHit] = []
    for n in np.argsort(-scores, kind="stable").tolist():
        if picked and scores[n] < picked[0].score - MOMENTS_MARGIN:
            break
        t = float(times[n])
        if all(abs(t - p.t) >= apart for p in picked):
            picked.append(MomentHit(round(t, 3), float(scores[n])))
            if len(picked) == shown:
                break
    return tuple(picked)
