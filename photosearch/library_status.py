"""What a library holds and whether a daemon keeps it in sync: one summary for the
`status` command and the web page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retrieval.settings import Settings
    from retrieval.store import Store


def coverage(store: Store, settings: Settings) -> dict[str, dict[str, Any]]:
    """For CLIP and each analyzer the settings enable (and any other that has records):
    how many of the searchable images that are its to look at it has done, failed on,
    and has still to look at (`analysed` and `of`: done and failed, and all of them)."""
    from indexer.analyzers.registry import specs
    from retrieval.store.analyses import CLIP

    counts = store.counts()
    found = {
        CLIP: (
            counts["vectors"],
            counts["failed"],
            max(0, counts["images"] - counts["vectors"]),
        )
    }
    enabled = specs(settings)
    for spec in enabled:
        found[spec.name] = store.analysis_progress(
            spec.name, spec.version, videos=spec.videos, shape=spec.shape
        )
    # Records of an analyzer turned off stay: counted, with nothing pending.
    for name, (analysed, failed) in store.analysis_counts().items():
        if name not in found:
            found[name] = (analysed - failed, failed, 0)
    on = {CLIP, *(spec.name for spec in enabled)}
    return {
        name: {
            "done": done,
            "failed": failed,
            "pending": pending,
            "analysed": done + failed,
            "of": done + failed + pending,
            "enabled": name in on,
        }
        for name, (done, failed, pending) in found.items()
    }


def collect(
    root: Path,
    store: Store | None = None,
    database: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Counts, model, index type and size, how far each analysis has got (for the
    analyzers `settings` enable: by default, the environment's), and the daemon's own
    status (None when no daemon runs). `store`: the library's, if the caller has it
    open already (a server asking every few seconds); else it is opened here (its
    tables in `database`, if given). Raises LibraryError if there is no library at
    `root`."""
    from indexer.daemon_lock import read_status
    from retrieval.index.file import INDEX_NAME, IndexFileError, read_layout
    from retrieval.settings import Settings
    from retrieval.store import Store

    opened = store or Store.open(root, create=False, database=database)
    try:
        counts = opened.counts()
        analyses = coverage(opened, settings or Settings.effective())
        model = opened.model_info()
        store_generation = opened.generation()
        roots = opened.roots()
        summary = opened.summary()
        persons = opened.persons()
        faces = opened.face_count()
        text_photos, text_lines = opened.text_counts()
        metadata_photos, keywords = opened.metadata_counts()
    finally:
        if store is None:
            opened.close()
    on_disk = (
        sum(f.stat().st_size for f in root.iterdir() if f.is_file())
        if root.is_dir()
        else 0
    )
    index_file = root / INDEX_NAME
    index_bytes = index_file.stat().st_size if index_file.exists() else 0
    try:
        saved = read_layout(index_file)
    except IndexFileError:
        index_type = "none yet (built on first search)"
    else:
        if saved.rerank:
            index_type = f"pq, nprobe {saved.nprobe}, {saved.rerank} re-ranked"
        else:
            index_type = f"ivf, nprobe {saved.nprobe}" if saved.nprobe else "flat"
        if saved.generation != store_generation:
            index_type += " (behind the library: caught up on next use)"
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
        "analyses": analyses,
        "faces": faces,
        "text_photos": text_photos,
        "text_lines": text_lines,
        "metadata_photos": metadata_photos,
        "keywords": keywords,
        "persons": len(persons),
        "named_persons": sum(1 for p in persons if p.name),
        # The photos by year taken, country and camera, the most common first.
        "by_year": summary["years"],
        "by_country": summary["countries"],
        "by_camera": summary["cameras"],
        "roots": [
            {
                "path": r.path,
                "online": r.offline_since is None,
                "offline_reason": r.offline_reason,
                "offline_since": r.offline_since.isoformat(timespec="seconds")
                if r.offline_since
                else None,
            }
            for r in roots
        ],
    }
