"""The writing side of photosearch: scanning folders (`scan`, `roots`), planning what
changed (`plan`, `hashing`), decoding ahead of the model (`prefetch`), encoding photos and
videos (`encode`, `videos`, on a Ray cluster `ray_encode`), the analyzers each photo goes
through (`analyzers/`), indexing runs (`pipeline`, carrying out their plans: `apply`),
and the watch daemon (`watch`, `daemon_lock`). Built on `retrieval`; never imports
`photosearch`."""

__all__ = [
    "analyzers",
    "apply",
    "daemon_lock",
    "encode",
    "hashing",
    "pipeline",
    "plan",
    "prefetch",
    "ray_encode",
    "roots",
    "scan",
    "videos",
    "watch",
]
