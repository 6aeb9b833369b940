"""Warm query latency: `photosearch search` end to end (process start included) while a
`photosearch watch` daemon serves the library, against `python -c pass` plus the text
tower's own time, and the cold path (no daemon: the ONNX towers, see bench_cold).

    python -m bench.bench_query PHOTOS_DIR [--model ViT-B-32] [--runs 10]
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERIES = ["a dog on a beach", "mountains at sunset", "a city at night", "red flowers"]


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    """A benchmark's script, one function on purpose: its measurements run and print in
    the order the docstring of the module lists them, read top to bottom."""
    from bench.bench_index import model_parser, random_weights

    parser = model_parser(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from retrieval.model.factory import resolve_model
    from retrieval.model.torch_clip import OpenClipEncoder

    weights = args.pretrained or str(
        random_weights(args.model, Path(tempfile.gettempdir()))
    )
    info = resolve_model(args.model, weights)
    # As a pip install leaves them: byte-compiled. Under PYTHONDONTWRITEBYTECODE (set in
    # some shells and containers) every run would compile the client's modules again.
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "photosearch",
            "retrieval",
            "indexer",
        ],
        cwd=root,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    library = Path(tempfile.mkdtemp(prefix="photosearch-bench-query-"))
    exe = str(Path(sys.executable).with_name("photosearch"))
    model = ["--model", args.model, "--pretrained", weights]
    subprocess.run(
        [exe, "index", str(args.photos), "--library", str(library), *model], check=True
    )

    encoder = OpenClipEncoder(info, "cpu")
    encoder.load()
    encoder.encode_texts(["warm-up"])
    tower: list[float] = []
    python: list[float] = []
    warm: list[float] = []

    daemon = subprocess.Popen(
        [exe, "watch", str(args.photos), "--library", str(library)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket_path = library / "query.sock"
        deadline = time.monotonic() + 120
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # the daemon loads the model after opening the socket
        search = [exe, "search"]
        # Untimed: the daemon's first query may still wait for its start-up scan.
        for _ in range(3):
            timed([*search, "warm-up", "--library", str(library)])
        # Interleaved rounds (the machine drifts): the tower here, python, the warm
        # query, each on a text nobody has encoded yet.
        for i in range(args.runs):
            text = f"{QUERIES[i % len(QUERIES)]} {i}"
            start = time.perf_counter()
            encoder.encode_texts([f"{text} (tower)"])
            tower.append(time.perf_counter() - start)
            python.append(timed([sys.executable, "-c", "pass"]))
            warm.append(timed([*search, text, "--library", str(library)]))
        cold_env = dict(os.environ, PHOTOSEARCH_NO_WARM="1")
        cold = [
            timed([*search, f"cold {i}", "--library", str(library)], env=cold_env)
            for i in range(3)
        ]
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f} ms"

    budget = 2 * statistics.median(python) + statistics.median(tower)
    print(f"| {args.model} | median |")
    print("|---|---|")
    print(f"| python -c pass | {ms(python)} |")
    print(f"| text tower, one uncached query | {ms(tower)} |")
    print(f"| warm `photosearch search` (daemon running) | {ms(warm)} |")
    print(f"| target: 2 x python + text tower | {budget * 1000:.0f} ms |")
    print(f"| cold `photosearch search` (no daemon) | {ms(cold)} |")


if __name__ == "__main__":
    main()
