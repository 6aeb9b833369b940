"""A user's first index, side by side with rclip 3.3.0: the same photos, the same model
shape, each from an empty database and a machine with no ONNX export yet, in interleaved
rounds (these machines drift 10-20% minute to minute), medians.

    python -m bench.first_index PHOTOS [--model ViT-B-32-256] [--rounds 3] [--limit 244]
        [--crop 4:3] [--rclip /tmp/rclip-venv/bin/rclip --rclip-datadir /tmp/rclip-data]

`--crop 4:3` (or any W:H) first re-encodes each photo's centre at that aspect: a camera's
photos, which get no wide views, rather than wallpapers.

Each round runs, as fresh processes:
- rclip, indexing and answering one query (it has no index-only command);
- `photosearch index` with the defaults: when it says every photo is searchable (the
  first pass), a cold `photosearch search` is run as a user would run it then, while
  the second pass goes on; then until it returns (views, faces and text done);
- `photosearch index` with CLIP alone (no views, faces or text), then one cold query.

For each: the wall time and how busy the cores were (user and system CPU time over the
wall time and the cores), for photosearch per pass. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.bench_index import cropped, linked_photos, random_weights

QUERY = "a dog on a beach"
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    searchable: float  # seconds until a sentence finds every photo, the query included
    total: float  # seconds until everything is done
    busy_first: float  # share of the cores busy in the first pass
    busy_total: float  # over the whole run
    query: float = 0.0  # the cold query's own seconds
    busy_second: float = 0.0


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time of a running process and its waited-for children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICK


def waited(proc: subprocess.Popen[bytes]) -> float:
    """Wait for `proc`; its CPU seconds (user and system, its children's too)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{proc.args!r} failed ({proc.returncode})")
    return usage.ru_utime + usage.ru_stime


def program() -> str:
    return str(Path(sys.executable).with_name("photosearch"))


def cold_query(library: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [program(), "search", QUERY, "--library", str(library), "-k", "5"],
        env={**env, "PHOTOSEARCH_NO_WARM": "1"},
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def photosearch_run(
    photos: Path, library: Path, model: str, weights: str, env: dict[str, str]
) -> Run:
    """`photosearch index`, the moment it says the photos are searchable, a cold query
    then (alongside the second pass, as a user would), and its end."""
    cores = os.cpu_count() or 1
    command = [program(), "index", str(photos), "--library", str(library)]
    command += ["--model", model, "--pretrained", weights, "--no-progress"]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    marks: dict[str, float] = {}

    def read() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            if raw.startswith(b"searchable:") and "at" not in marks:
                marks["cpu"] = cpu_seconds(proc.pid)
                marks["at"] = time.perf_counter() - start
                marks["query"] = cold_query(library, env)

    reader = threading.Thread(target=read)
    reader.start()
    cpu = waited(proc)
    total = time.perf_counter() - start
    reader.join()
    if "at" not in marks:
        raise SystemExit("photosearch index never said the photos were searchable")
    first, query = marks["at"], marks["query"]
    return Run(
        searchable=first + query,
        total=max(total, first + query),
        busy_first=marks["cpu"] / (first * cores),
        busy_total=cpu / (total * cores),
        query=query,
        busy_second=(cpu - marks["cpu"]) / (max(total - first, 1e-6) * cores),
    )


def rclip_run(photos: Path, rclip: str, datadir: Path) -> Run:
    cores = os.cpu_count() or 1
    env = {
        **os.environ,
        "RCLIP_DATADIR": str(datadir),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    start = time.perf_counter()
    proc = subprocess.Popen(
        [rclip, "-t", "5", QUERY],
        cwd=photos,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cpu = waited(proc)
    wall = time.perf_counter() - start
    busy = cpu / (wall * cores)
    return Run(wall, wall, busy, busy)


def fresh_rclip_datadir(models: Path, into: Path) -> Path:
    """An rclip datadir with an empty database: its model files linked in."""
    into.mkdir(parents=True)
    for entry in models.iterdir():
        if entry.name != "db.sqlite3" and not entry.name.startswith("db.sqlite3"):
            (into / entry.name).symlink_to(entry.resolve())
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--model", default="ViT-B-32-256")
    parser.add_argument("--pretrained", help="weights file (default: random weights)")
    parser.add_argument("--limit", type=int, default=244)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--crop", metavar="W:H", help="re-encode photos at this aspect")
    parser.add_argument("--rclip", default="/tmp/rclip-venv/bin/rclip")
    parser.add_argument("--rclip-datadir", type=Path, default=Path("/tmp/rclip-data"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="photosearch-first-"))
    weights = args.pretrained or str(
        random_weights(args.model, Path(tempfile.gettempdir()))
    )
    files, photos = linked_photos(args.photos, args.limit, work)
    if args.crop:
        shutil.rmtree(photos)
        made = cropped(files, args.crop, work)
        files, photos = linked_photos(Path(made[0]).parent, args.limit, work)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "retrieval",
            "indexer",
            "photosearch",
        ],
        check=True,
    )
    kinds = ("rclip", "defaults", "clip alone")
    runs: dict[str, list[Run]] = {kind: [] for kind in kinds}
    for round_ in range(args.rounds):
        for kind in kinds:
            here = work / f"{kind.replace(' ', '-')}-{round_}"
            if kind == "rclip":
                datadir = fresh_rclip_datadir(args.rclip_datadir, here)
                runs[kind].append(rclip_run(photos, args.rclip, datadir))
            else:
                env = {**os.environ, "PHOTOSEARCH_CACHE": str(here / "cache")}
                if kind == "clip alone":
                    env.update(
                        PHOTOSEARCH_FACES="0",
                        PHOTOSEARCH_TEXT="0",
                        PHOTOSEARCH_VIEWS_ASPECT="0",
                    )
                runs[kind].append(
                    photosearch_run(photos, here / "library", args.model, weights, env)
                )
            print(f"round {round_ + 1}, {kind}: {runs[kind][-1]}", file=sys.stderr)
            # The background export of the towers, left by `index`, must not slow the
            # next run: it is waited for.
            time.sleep(1)
            while (
                subprocess.run(
                    ["pgrep", "-f", "retrieval.model.onnx.job"],
                    check=False,
                    capture_output=True,
                ).returncode
                == 0
            ):
                time.sleep(0.5)
            shutil.rmtree(here, ignore_errors=True)
    print(
        table(
            runs,
            len(files),
            args.model + (f", cut to {args.crop}" if args.crop else ""),
        )
    )
    shutil.rmtree(work, ignore_errors=True)


def table(runs: dict[str, list[Run]], photos: int, model: str) -> str:
    rclip = [r.total for r in runs["rclip"]]

    def median(kind: str, field: str) -> float:
        return float(np.median([getattr(r, field) for r in runs[kind]]))

    def ratio(kind: str, field: str) -> float:
        return float(
            np.median(
                [getattr(r, field) / t for r, t in zip(runs[kind], rclip, strict=True)]
            )
        )

    rows = [
        f"{photos} photos, {model}, {len(rclip)} interleaved rounds, medians",
        "",
        (
            "| run | searchable | fully understood | vs rclip (searchable / full) "
            "| cores busy (first / second pass) |"
        ),
        "|---|---|---|---|---|",
        (
            f"| rclip 3.3.0 (index and one query) | {median('rclip', 'total'):.1f} s | "
            f"{median('rclip', 'total'):.1f} s | 1.00 / 1.00 | "
            f"{median('rclip', 'busy_total'):.0%} |"
        ),
    ]
    for kind in ("defaults", "clip alone"):
        rows.append(
            f"| photosearch, {kind} (index, a cold query when searchable) | "
            f"{median(kind, 'searchable'):.1f} s (query {median(kind, 'query'):.2f} s) | "
            f"{median(kind, 'total'):.1f} s | {ratio(kind, 'searchable'):.2f} / "
            f"{ratio(kind, 'total'):.2f} | {median(kind, 'busy_first'):.0%} / "
            f"{median(kind, 'busy_second'):.0%} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
