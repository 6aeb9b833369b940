"""The offline demo: a synthetic captioned shape world, the training of the demo CLIP on it,
its evaluation, and the `photosearch demo` walkthrough."""

__all__ = [
    "eval_set",
    "evaluate",
    "evaluate_tags",
    "evaluate_views",
    "run",
    "shapes",
    "train",
    "wide",
]
