"""New photos landing in a watched folder: how long until a sentence finds them, with
the defaults (views, faces and text follow in the second pass) against the same daemon
with faces and text off, in interleaved rounds of one run.

    python -m bench.bench_watch PHOTOS [--count 20] [--rounds 3] [--model demo]

Each round starts `photosearch watch` on a folder of a few photos, waits until it is
idle, copies `--count` new photos in at once, and times until every one of them is in
the library's vector index (what a sentence searches), then until their faces and text
are read too. The model is the demo model by default, whose own cost is negligible: what
is measured is the daemon's. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.bench_index import linked_photos

BASE = 4  # photos in the folder before the new ones come


def count(library: Path, folder: Path, analyzer: str | None) -> int:
    """Photos under `folder` with a vector (None), or that `analyzer` has looked at."""
    try:
        db = sqlite3.connect(f"file:{library / 'library.db'}?mode=ro", uri=True)
    except sqlite3.Error:
        return 0
    try:
        if analyzer is None:
            query = (
                "SELECT count(*) FROM images i JOIN embeddings e ON e.image_id = i.id "
                "WHERE i.path LIKE ?"
            )
            args: tuple[str, ...] = (f"{folder}/%",)
        else:
            query = (
                "SELECT count(*) FROM images i JOIN analyses a ON a.image_id = i.id "
                "WHERE i.path LIKE ? AND a.analyzer = ?"
            )
            args = (f"{folder}/%", analyzer)
        return int(db.execute(query, args).fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def wait_until(check: object, timeout: float = 900.0) -> float:
    start = time.perf_counter()
    while not check():  # type: ignore[operator]
        if time.perf_counter() - start > timeout:
            raise SystemExit("timed out")
        time.sleep(0.05)
    return time.perf_counter() - start


def one_round(
    files: list[str], work: Path, model: str, env: dict[str, str], count_new: int
) -> tuple[float, float]:
    """(seconds until the new photos are searchable, until their text is read)."""
    watched = work / "watched"
    (watched / "old").mkdir(parents=True)
    for f in files[:BASE]:
        shutil.copy(f, watched / "old")
    library = work / "library"
    program = str(Path(sys.executable).with_name("photosearch"))
    daemon = subprocess.Popen(
        [program, "watch", str(watched), "--library", str(library), "--model", model],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: count(library, watched / "old", "exif") == BASE)
        if env.get("PHOTOSEARCH_TEXT") != "0":
            wait_until(lambda: count(library, watched / "old", "text") == BASE)
        time.sleep(2.0)  # idle
        new = watched / "new"
        staging = work / "staging"
        staging.mkdir()
        for f in files[BASE : BASE + count_new]:
            shutil.copy(f, staging)
        os.rename(staging, new)  # all at once, as a card reader's import lands
        found = wait_until(lambda: count(library, new, None) == count_new)
        if env.get("PHOTOSEARCH_TEXT") != "0":
            read = found + wait_until(lambda: count(library, new, "text") == count_new)
        else:
            read = found
        return found, read
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="demo")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="photosearch-watch-"))
    files, _ = linked_photos(args.photos, BASE + args.count, work)
    kinds = {
        "defaults": {},
        "faces and text off": {"PHOTOSEARCH_FACES": "0", "PHOTOSEARCH_TEXT": "0"},
    }
    found: dict[str, list[float]] = {k: [] for k in kinds}
    read: dict[str, list[float]] = {k: [] for k in kinds}
    for round_ in range(args.rounds):
        for kind, extra in kinds.items():
            here = work / f"{kind.replace(' ', '-')}-{round_}"
            env = {**os.environ, **extra, "PHOTOSEARCH_CACHE": str(here / "cache")}
            a, b = one_round(files, here, args.model, env, args.count)
            found[kind].append(a)
            read[kind].append(b)
            print(f"round {round_ + 1}, {kind}: {a:.1f} s, {b:.1f} s", file=sys.stderr)
            shutil.rmtree(here, ignore_errors=True)
    ratios = [
        a / b
        for a, b in zip(found["defaults"], found["faces and text off"], strict=True)
    ]
    print(f"{args.count} new photos, {args.rounds} interleaved rounds, medians\n")
    print("| daemon | searchable | text read too |")
    print("|---|---|---|")
    for kind in kinds:
        print(
            f"| {kind} | {np.median(found[kind]):.1f} s | {np.median(read[kind]):.1f} s |"
        )
    print(
        f"| defaults / faces and text off (median of rounds) | {np.median(ratios):.2f} | |"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
