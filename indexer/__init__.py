"""The writing side of photosearch: scanning folders (`scan`), planning what changed
(`plan`, `hashing`), decoding ahead of the model (`prefetch`), indexing runs (`pipeline`),
and the watch daemon (`watch`, `daemon_lock`, `query_server`). Built on `retrieval`."""

__all__ = [
    "daemon_lock",
    "hashing",
    "pipeline",
    "plan",
    "prefetch",
    "query_server",
    "scan",
    "watch",
]
