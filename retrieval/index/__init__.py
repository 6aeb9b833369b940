"""The FAISS vector index: its kinds, the ids of views and moments, its file, kept in
step with the store."""

__all__ = ["duplicates", "file", "ids", "kinds", "sync", "vector_index"]
