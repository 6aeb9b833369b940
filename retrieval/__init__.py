"""The photosearch library: CLIP encoders, the store, the FAISS vector index, search,
zero-shot tagging and near-duplicates. It never imports `indexer` (the writing side) or
`photosearch` (the command line and the web). Modules are imported one by one, so that
light commands do not pay for torch.

- `errors`, `settings`, `choices`, `records`, `vectors`: what every floor shares
- `model/`: images and texts to unit vectors (open_clip on torch, or ONNX Runtime)
- `media/`: files to upright pictures, their EXIF and places, videos as moments
- `faces/`: the faces in a picture and the persons they form
- `text/`: the text in a picture, folded for matching, and finding photos by their words
- `metadata/`: what other photo programs wrote (XMP, IPTC, sidecars, Takeout), and
  sidecars written back for them
- `store/`: the database (schema owned by Alembic), its engine and readers
- `index/`: the FAISS index, the ids of views and moments, kept in step with the store
- `search/`: query terms, filters, search and browse
- `tagging/`: label sets, prompt ensembles, calibration, the vocabulary
- `library`: a library opened for use: its store, model and index together
"""

__all__ = [
    "choices",
    "errors",
    "faces",
    "faults",
    "index",
    "library",
    "media",
    "metadata",
    "model",
    "records",
    "resources",
    "search",
    "settings",
    "store",
    "tagging",
    "text",
    "vectors",
]
