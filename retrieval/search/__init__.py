"""What users ask: query terms, filters, search and browse, the files of one shot, a
video's moments."""

__all__ = ["moments", "pairs", "search", "terms"]
