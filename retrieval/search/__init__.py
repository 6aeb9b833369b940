"""What users ask: query terms and their vector, one filter model, search and browse,
the files of one shot, a video's moments, texts ranked for a photo, results taken into
another folder."""

__all__ = [
    "collect",
    "describe",
    "filters",
    "moments",
    "pairs",
    "search",
    "terms",
    "vectors",
]
