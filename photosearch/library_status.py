"""What a library holds and whether a daemon keeps it in sync: one summary for the
`status` command and the web page."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def collect(root: Path) -> dict[str, Any]:
    """Counts, model, index type and size, and the daemon's own status (None when no
    daemon runs). Raises LibraryError if there is no library at `root`."""
    from indexer.daemon_lock import read_status
    from retrieval.store import Store
    from retrieval.vector_index import INDEX_NAME, read_header

    store = Store.open(root, create=False)
    try:
        counts = store.counts()
        model = store.model_info()
        store_generation = store.generation()
    finally:
        store.close()
    on_disk = sum(f.stat().st_size for f in root.iterdir() if f.is_file())
    index_file = root / INDEX_NAME
    index_bytes = index_file.stat().st_size if index_file.exists() else 0
    header = read_header(index_file)
    if header is None:
        index_type = "none yet (built on first search)"
    else:
        generation, nprobe = header
        index_type = f"ivf, nprobe {nprobe}" if nprobe else "flat"
        if generation != store_generation:
            index_type += " (stale: rebuilt on next use)"
    return {
        "library": str(root),
        **counts,
        "model": model.name if model else None,
        "pretrained": model.pretrained if model else None,
        "dim": model.dim if model else None,
        "model_description": model.describe() if model else None,
        "index_type": index_type,
        "index_bytes": index_bytes,
        "bytes_on_disk": on_disk,
        "daemon": read_status(root),
    }
