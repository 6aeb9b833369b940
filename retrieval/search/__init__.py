"""What users ask: query terms and their vector, one filter model, search and browse,
the files of one shot, a video's moments, texts ranked for a photo, results taken into
another folder, what a filter may miss while indexing goes on."""

__all__ = [
    "collect",
    "describe",
    "filters",
    "moments",
    "pairs",
    "pending",
    "search",
    "terms",
    "vectors",
]
