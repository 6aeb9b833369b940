"""Cold queries: `photosearch search` and `similar FILE` with no daemon running, on a large
library (synthetic vectors, real model), with the ONNX towers against the torch path.

    python -m bench.bench_cold [--model ViT-B-32] [--photos 100000] [--runs 5]

Without --pretrained the model gets random weights saved to a local file (same speed as
real ones, no download). Builds the library once under --work (reused when its size and
model match), exports the towers as `photosearch index` does, then times each command end
to end, process start included, against `python -c pass`, and reports each one's peak
memory (the maximum resident set, which counts the mapped index and weights pages a
command touches).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

QUERIES = ["a dog on a beach", "mountains at sunset", "a city at night", "red flowers"]


def measured(
    command: list[str], env: dict[str, str] | None = None
) -> tuple[float, float]:
    """(seconds, peak resident MB) of one run of `command`, in a fresh wrapper process so
    that the peak is this command's own."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "took = time.perf_counter() - start\n"
        "assert done.returncode == 0, done.stderr.decode()[-2000:]\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(took, peak)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *command],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    took, peak = out.stdout.split()
    return float(took), float(peak)


def build_library(library: Path, model: str, weights: str, count: int) -> None:
    from retrieval.index.sync import open_index
    from retrieval.model.factory import resolve_model
    from retrieval.model.onnx.export import export_towers
    from retrieval.model.torch_clip import OpenClipEncoder
    from retrieval.records import EncodedFile, FileStamp
    from retrieval.store import Store

    info = resolve_model(model, weights)
    store = Store.open(library, create=True)
    try:
        if store.counts()["vectors"] == count and store.model_info() == info:
            return
        store.set_model(info)
        rng = np.random.default_rng(0)
        for start in range(0, count, 5000):
            vectors = rng.standard_normal((min(5000, count - start), info.dim))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store.write_batch(
                [
                    EncodedFile(
                        FileStamp(
                            f"/photos/{start + i:07d}.jpg", 1, 1, f"h{start + i}"
                        ),
                        4000,
                        3000,
                        None,
                        vector.astype(np.float32),
                    )
                    for i, vector in enumerate(vectors)
                ]
            )
        open_index(store, info.dim)  # built and saved as a writer does
        encoder = OpenClipEncoder(info, "cpu")
        export_towers(encoder)
    finally:
        store.close()


def photo(path: Path, megapixels: float = 4.0) -> Path:
    """A busy 4:3 JPEG of about `megapixels`, not in the library."""
    from PIL import Image

    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = width * 3 // 4
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([(x * 7 + y) % 256, (x * y // 97) % 256, (x - 3 * y) % 256], axis=-1)
    Image.fromarray(rgb.astype(np.uint8)).save(path, quality=90)
    return path


def main() -> None:
    from bench.bench_index import random_weights

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--pretrained", help="weights file or tag (default: random)")
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()

    weights = args.pretrained or str(random_weights(args.model, args.work))
    library = args.work / f"photosearch-cold-{args.model}-{args.photos}"
    start = time.perf_counter()
    build_library(library, args.model, weights, args.photos)
    print(f"library ready in {time.perf_counter() - start:.0f} s: {library}")
    image = photo(args.work / "photosearch-cold-4mp.jpg")

    exe = str(Path(sys.executable).with_name("photosearch"))
    base = {"PATH": "/usr/bin:/bin", "PHOTOSEARCH_NO_WARM": "1"}
    engines = {"onnx": {**base}, "torch": {**base, "PHOTOSEARCH_ENGINE": "torch"}}
    rows: dict[str, list[tuple[float, float]]] = {}
    for i in range(args.runs):  # interleaved rounds: the machine drifts
        rows.setdefault("python -c pass", []).append(
            measured([sys.executable, "-c", "pass"])
        )
        for engine, env in engines.items():
            text = f"{QUERIES[i % len(QUERIES)]} {i}"
            rows.setdefault(f"cold search, {engine}", []).append(
                measured([exe, "search", text, "--library", str(library)], env)
            )
            rows.setdefault(f"cold similar 4 MP JPEG, {engine}", []).append(
                measured([exe, "similar", str(image), "--library", str(library)], env)
            )
    print(f"\n{args.photos:,} photos, {args.model}, median of {args.runs} runs\n")
    print("| command | time | peak memory |")
    print("|---|---|---|")
    for name, values in rows.items():
        took = statistics.median(v[0] for v in values)
        peak = statistics.median(v[1] for v in values)
        print(f"| {name} | {took * 1000:.0f} ms | {peak:.0f} MB |")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(this benchmark's own process peaked at {own:.0f} MB)")


if __name__ == "__main__":
    main()
