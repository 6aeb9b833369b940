"""What Ray costs: `index` in this process against `index --ray` on a one-node cluster.

    python -m bench.bench_ray PHOTOS_DIR [--model ViT-B-32] [--limit 100] [--rounds 3]

Each round indexes the same photos into fresh libraries twice, locally and with --ray
(a local cluster started by the run, one worker holding the model with every core), in
alternating order, since shared machines drift. Prints images/s of each (median of the
rounds), the cluster's start and stop with its workers' model loading (a fixed cost per
run, measured alone; the local runs' model is loaded beforehand), and the Ray run's
images/s without it: Ray's overhead per batch.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.bench_index import linked_photos, model_parser, random_weights


def main() -> None:
    parser = model_parser(__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100, help="photos used")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    from indexer.pipeline import index_folders
    from indexer.ray_encode import RayEncoding
    from retrieval.library import Library
    from retrieval.model.factory import resolve_model
    from retrieval.model.torch_clip import OpenClipEncoder
    from retrieval.settings import Settings
    from retrieval.store import Store

    work = Path(tempfile.mkdtemp(prefix="photosearch-bench-ray-"))
    weights = args.pretrained or str(
        random_weights(args.model, Path(tempfile.gettempdir()))
    )
    info = resolve_model(args.model, weights)
    files, photos = linked_photos(args.photos, args.limit, work)
    encoder = OpenClipEncoder(info, "cpu")
    encoder.load()

    def run(name: str, ray: str | None) -> float:
        settings = Settings(
            library=work / name, batch_size=args.batch_size, ray=ray, engine="torch"
        )
        store = Store.open(settings.library, create=True)
        library = Library(store, settings, info, encoder)
        started = time.perf_counter()
        summary = index_folders(library, [str(photos)])
        elapsed = time.perf_counter() - started
        library.close()
        shutil.rmtree(settings.library)
        assert summary.encoded == len(files), summary
        return elapsed

    def start_and_stop() -> float:
        settings = Settings(library=work, ray="local", engine="torch")
        started = time.perf_counter()
        with RayEncoding(settings, info, work, args.batch_size) as remote:
            remote.ray.get([w.warm.remote() for w in remote.workers])
        return time.perf_counter() - started

    local: list[float] = []
    remote_runs: list[float] = []
    fixed: list[float] = []
    for round_ in range(args.rounds):
        order = [("local", None), ("ray", "local")]
        for name, ray in order if round_ % 2 == 0 else order[::-1]:
            (local if ray is None else remote_runs).append(run(f"{name}{round_}", ray))
        fixed.append(start_and_stop())
    n = len(files)
    local_s, ray_s = np.median(local), np.median(remote_runs)
    fixed_s = np.median(fixed)
    print(f"| photos | {n}, {args.model}, batch {args.batch_size} |")
    print("|---|---|")
    print(f"| local images/s (median of {args.rounds}) | {n / local_s:.1f} |")
    print(f"| --ray, one node, images/s (whole run) | {n / ray_s:.1f} |")
    print(f"| Ray start, model loading, stop (alone) | {fixed_s:.1f} s |")
    print(f"| --ray images/s without it | {n / max(ray_s - fixed_s, 1e-9):.1f} |")
    print(
        f"| rounds (local / ray, s) | "
        f"{', '.join(f'{a:.1f}/{b:.1f}' for a, b in zip(local, remote_runs, strict=True))} |"
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
