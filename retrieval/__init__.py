"""The photosearch library: CLIP encoders, the SQLite store, the FAISS vector index, search,
zero-shot tagging and near-duplicates. It never imports `indexer` (the writing side) or
`photosearch` (the command line). Modules are imported one by one, so that light commands
do not pay for torch:

- `settings`, `errors`, `types`, `records`: configuration, errors, typed records
- `encoder`, `text_tower`, `demo_model`: images and texts to unit vectors (open_clip)
- `models`, `db`, `store`: the SQLite schema (owned by Alembic), engine, and store
- `vector_index`, `index_sync`, `library`: the FAISS index, kept in step with the store
- `imaging`: decoding files into upright RGB pictures, with guards
- `query`, `search`, `requests`, `tagging`, `duplicates`: what users ask for
"""

__all__ = [
    "db",
    "demo_model",
    "duplicates",
    "encoder",
    "errors",
    "faults",
    "imaging",
    "index_sync",
    "library",
    "models",
    "query",
    "records",
    "requests",
    "search",
    "settings",
    "store",
    "tagging",
    "text_tower",
    "types",
    "vector_index",
    "vectors",
]
