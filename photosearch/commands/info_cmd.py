"""photosearch status / failures / duplicates: what is in the library."""

from __future__ import annotations

import argparse
import time

from photosearch.commands.common import open_library, settings_from, unit_float
from photosearch.output import emit_json, human_bytes


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser("status", parents=parents, help="what the library holds")
    p.add_argument("--json", action="store_true", help="JSON object")
    p.set_defaults(func=run_status)

    p = sub.add_parser(
        "failures", parents=parents, help="files that could not be indexed"
    )
    p.add_argument("--json", action="store_true", help="JSON list of {path, error}")
    p.set_defaults(func=run_failures)

    p = sub.add_parser(
        "duplicates",
        parents=parents,
        help="groups of near-identical images",
        description="Group images whose cosine similarity reaches the threshold; resized "
        "and re-encoded copies land in their original's group.",
    )
    p.add_argument(
        "--threshold", type=unit_float, help="least similarity (default 0.95)"
    )
    p.add_argument("--json", action="store_true", help="JSON list of groups")
    p.set_defaults(func=run_duplicates)


def run_status(args: argparse.Namespace) -> int:
    from indexer.daemon_lock import read_status
    from retrieval.store import Store
    from retrieval.vector_index import INDEX_NAME, read_header

    settings = settings_from(args)
    store = Store.open(settings.library, create=False)
    try:
        counts = store.counts()
        model = store.model_info()
        store_generation = store.generation()
    finally:
        store.close()
    root = settings.library
    on_disk = sum(f.stat().st_size for f in root.iterdir() if f.is_file())
    index_file = root / INDEX_NAME
    index_bytes = index_file.stat().st_size if index_file.exists() else 0
    daemon = read_status(root)
    header = read_header(index_file)
    if header is None:
        index_type = "none yet (built on first search)"
    else:
        generation, nprobe = header
        index_type = f"ivf, nprobe {nprobe}" if nprobe else "flat"
        if generation != store_generation:
            index_type += " (stale: rebuilt on next use)"
    status = {
        "library": str(root),
        **counts,
        "model": model.name if model else None,
        "pretrained": model.pretrained if model else None,
        "dim": model.dim if model else None,
        "index_type": index_type,
        "index_bytes": index_bytes,
        "bytes_on_disk": on_disk,
        "daemon": daemon,
    }
    if args.json:
        emit_json(status)
        return 0
    print(f"library     {root}")
    print(f"images      {counts['images']} indexed, {counts['failed']} failed")
    print(f"model       {model.describe() if model else 'none yet'}")
    print(
        f"index       {index_type}, {counts['vectors']} vectors, {human_bytes(index_bytes)}"
    )
    print(f"label sets  {counts['label_sets']}")
    if daemon is None:
        print("daemon      not running")
    else:
        last = daemon.get("last_activity")
        when = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last))
            if last
            else "none yet"
        )
        print(
            f"daemon      running (pid {daemon['pid']}), {daemon.get('state', '?')}, "
            f"{daemon.get('queue', 0)} queued, last activity {when}"
        )
    print(f"on disk     {human_bytes(on_disk)}")
    return 0


def run_failures(args: argparse.Namespace) -> int:
    from retrieval.store import Store

    store = Store.open(settings_from(args).library, create=False)
    try:
        failures = store.failures()
    finally:
        store.close()
    if args.json:
        emit_json(
            [{"id": f.image_id, "path": f.path, "error": f.error} for f in failures]
        )
    else:
        for f in failures:
            print(f"{f.path}: {f.error}")
    return 0


def run_duplicates(args: argparse.Namespace) -> int:
    from retrieval.duplicates import duplicate_groups

    with open_library(args) as library:
        threshold = (
            library.settings.duplicate_threshold
            if args.threshold is None
            else args.threshold
        )
        groups = duplicate_groups(
            library.store, library.index, library.model.dim, threshold
        )
        meta = library.store.meta(i for group in groups for i, _ in group)
    if args.json:
        emit_json(
            [
                [
                    {"id": i, "path": meta[i].path, "similarity": round(s, 6)}
                    for i, s in group
                ]
                for group in groups
            ]
        )
        return 0
    if not groups:
        print(f"no near-duplicates at similarity >= {threshold}")
    for n, group in enumerate(groups, 1):
        print(f"group {n} ({len(group)} images)")
        for i, s in group:
            print(f"  {s:7.4f}  {meta[i].path}")
    return 0
