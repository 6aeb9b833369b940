"""photosearch status / failures / duplicates: what is in the library."""

from __future__ import annotations

import argparse
import time
from typing import Any

from photosearch.commands.common import open_library, settings_from, unit_float
from photosearch.output import emit_json, human_bytes
from retrieval.settings import Settings


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser("status", parents=parents, help="what the library holds")
    p.add_argument("--json", action="store_true", help="JSON object")
    p.set_defaults(func=run_status)

    p = sub.add_parser(
        "failures",
        parents=parents,
        help="files that could not be indexed, and photos an analyzer failed on",
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
        "--threshold",
        dest="duplicate_threshold",
        type=unit_float,
        help=f"least similarity (default {Settings.effective().duplicate_threshold}; "
        "$PHOTOSEARCH_DUPLICATE_THRESHOLD)",
    )
    p.add_argument("--json", action="store_true", help="JSON list of groups")
    p.set_defaults(func=run_duplicates)

    p = sub.add_parser(
        "trash",
        parents=parents,
        help="photos whose files disappeared (kept a while, then gone)",
        description="Files that disappear go to the trash with their vectors and tags, out "
        "of every result; a file that comes back (same content, any name) is restored "
        "without re-encoding. Items older than PHOTOSEARCH_TRASH_DAYS (30) days go for "
        "good at the next index or rescan.",
    )
    p.add_argument("--empty", action="store_true", help="delete everything in it now")
    p.add_argument("--json", action="store_true", help="JSON list of {id, path, since}")
    p.set_defaults(func=run_trash)


def run_status(args: argparse.Namespace) -> int:
    from photosearch.library_status import collect

    settings = settings_from(args)
    status = collect(settings.library, database=settings.database, settings=settings)
    if args.json:
        emit_json(status)
        return 0
    print(f"library     {status['library']}")
    print(
        f"images      {status['images']} indexed, {status['failed']} failed, "
        f"{status['trashed']} in the trash"
    )
    if status["videos"]:
        from photosearch.output import clock

        length = clock(status["video_seconds"])
        print(f"videos      {status['videos']} of them, {length} of video in all")
    for root in status["roots"]:
        state = (
            "online"
            if root["online"]
            else f"OFFLINE ({root['offline_reason']}) since {root['offline_since']}: "
            "its photos are kept until it is back"
        )
        print(f"folder      {root['path']}: {state}")
    print(f"model       {status['model_description'] or 'none yet'}")
    print(
        f"index       {status['index_type']}, {status['vectors']} vectors, "
        f"{human_bytes(status['index_bytes'])}"
    )
    print(f"label sets  {status['label_sets']}")
    for n, line in enumerate(analysis_lines(status["analyses"])):
        print(f"{'analyses' if n == 0 else '':<11} {line}")
    if status["faces"]:
        print(
            f"people      {status['faces']} faces, {status['persons']} persons "
            f"({status['named_persons']} named; `photosearch people`)"
        )
    if status["text_photos"]:
        print(
            f"text        {status['text_lines']} lines in {status['text_photos']} photos "
            "(`photosearch search --contains WORDS`)"
        )
    if status["metadata_photos"]:
        print(
            f"metadata    {status['metadata_photos']} photos with XMP, IPTC or Takeout "
            f"facts, {status['keywords']} keywords (`photosearch search --keyword K`)"
        )
    for label, key in (("years", "by_year"), ("countries", "by_country")):
        if status[key]:
            print(f"{label:<11} {', '.join(f'{k} {n}' for k, n in status[key])}")
    if status["by_camera"]:
        print(f"cameras     {', '.join(f'{k} ({n})' for k, n in status['by_camera'])}")
    daemon = status["daemon"]
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
    print(f"on disk     {human_bytes(status['bytes_on_disk'])}")
    return 0


def analysis_lines(analyses: dict[str, dict[str, Any]]) -> list[str]:
    """A line per analysis: how many photos it has done, has still to look at, and
    failed on."""
    from photosearch.progress import what

    lines = []
    for name, c in analyses.items():
        parts = [f"{c['done']} done"]
        if c["pending"]:
            parts.append(f"{c['pending']} to look at")
        if c["failed"]:
            parts.append(f"{c['failed']} failed (`photosearch failures`)")
        label = "searchable (CLIP)" if name == "clip" else what(name)
        off = "" if c["enabled"] else " (off)"
        lines.append(f"{label}{off}: {', '.join(parts)}")
    return lines


def run_failures(args: argparse.Namespace) -> int:
    from retrieval.store import open_store

    with open_store(settings_from(args)) as store:
        failures = store.failures()
        analyses = store.analysis_failures()
        unread = store.metadata_problems()
    rows = (
        [
            {"id": f.image_id, "path": f.path, "error": f.error, "analyzer": None}
            for f in failures
        ]
        + [
            {"id": i, "path": path, "error": error, "analyzer": name}
            for i, path, name, error in analyses
        ]
        + [
            # The photo is indexed and its other metadata read: this part of it was not.
            {"id": i, "path": path, "error": problem, "analyzer": "metadata"}
            for i, path, problem in unread
        ]
    )
    if args.json:
        emit_json(rows)
    else:
        for row in rows:
            print(f"{row['path']}: {row['error']}")
    return 0


def run_duplicates(args: argparse.Namespace) -> int:
    from retrieval.index.duplicates import duplicate_groups

    with open_library(args) as library:
        threshold = library.settings.duplicate_threshold
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


def run_trash(args: argparse.Namespace) -> int:
    from retrieval.store import open_store

    with open_store(settings_from(args)) as store:
        if args.empty:
            print(f"deleted {store.empty_trash()} photos from the trash for good")
            return 0
        items = store.trashed()
    if args.json:
        emit_json(
            [
                {
                    "id": m.image_id,
                    "path": m.path,
                    "since": m.trashed_at.isoformat(timespec="seconds")
                    if m.trashed_at
                    else None,
                }
                for m in items
            ]
        )
        return 0
    if not items:
        print("the trash is empty")
    for m in items:
        since = f"{m.trashed_at:%Y-%m-%d %H:%M}" if m.trashed_at else "?"
        print(f"{since}  {m.path}")
    return 0
