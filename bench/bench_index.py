"""Indexing throughput: the whole pipeline against the model alone, on real photos.

    python -m bench.bench_index PHOTOS_DIR [--model ViT-B-32] [--limit 200]

Without --pretrained, the model gets random weights saved to a local file (same speed as
real ones, no download). Prints one table:
- model-only images/s: the image tower alone, on input batches decoded, preprocessed and
  collated beforehand (on the device);
- pipeline images/s: `photosearch index` end to end (scan, hash, decode, preprocess,
  encode, write), with the same model, batch size, device and threads; and their ratio
  (each pipeline run against the model-only runs just before and after it, median of
  --rounds, since shared machines drift);
- bytes per image in the library (SQLite + FAISS);
- the mean (and worst) cosine between embeddings of reduced-scale decoding (the fast path)
  and of full decoding, on the same images.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def random_weights(model: str, folder: Path) -> Path:
    import open_clip
    import torch
    from safetensors.torch import save_file

    path = folder / f"{model}-random.safetensors"
    if not path.exists():
        torch.manual_seed(0)
        net = open_clip.create_model(model, pretrained=None)
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def linked_photos(source: Path, limit: int, work: Path) -> tuple[list[str], Path]:
    """The first `limit` photos under `source`, and a folder of links to them alone."""
    from indexer.scan import walk

    files = sorted(e.path for e in walk(str(source.resolve())))[:limit]
    if not files:
        raise SystemExit(f"no photos under {source}")
    photos = work / "photos"
    photos.mkdir()
    for i, f in enumerate(files):
        os.symlink(f, photos / f"{i:05d}{Path(f).suffix.lower()}")
    return files, photos


def model_parser(description: str) -> argparse.ArgumentParser:
    """Arguments every indexing benchmark takes: the photos and the model."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("photos", type=Path)
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument(
        "--pretrained", help="weights file or tag (default: random weights)"
    )
    return parser


def main() -> None:
    parser = model_parser(__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200, help="photos used")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rounds", type=int, default=5, help="measurements of each")
    parser.add_argument("--decode-workers", type=int, default=0, help="0: one per core")
    args = parser.parse_args()

    import torch

    from indexer.pipeline import index_folders
    from retrieval.library import Library
    from retrieval.media.decode import decode
    from retrieval.model.factory import resolve_model
    from retrieval.model.torch_clip import OpenClipEncoder
    from retrieval.settings import Settings
    from retrieval.store import Store

    work = Path(tempfile.mkdtemp(prefix="photosearch-bench-"))
    weights = args.pretrained or str(
        random_weights(args.model, Path(tempfile.gettempdir()))
    )
    info = resolve_model(args.model, weights)
    files, photos = linked_photos(args.photos, args.limit, work)
    megapixels = []
    encoder = OpenClipEncoder(info, args.device)
    encoder.load()
    size = encoder.image_size

    # Model alone: inputs decoded and preprocessed beforehand, timed over the forward pass.
    prepared = []
    for f in files:
        decoded = decode(f, max_pixels=10**9)
        megapixels.append(decoded.width * decoded.height / 1e6)
        prepared.append(encoder.prepare(decoded.image))
    batches = [
        encoder.collate(prepared[i : i + args.batch_size])
        for i in range(0, len(prepared), args.batch_size)
    ]
    encoder.encode_batch(batches[0])  # warm-up

    def model_pass() -> tuple[float, np.ndarray]:
        start = time.perf_counter()
        vectors = np.concatenate([encoder.encode_batch(b) for b in batches])
        return len(prepared) / (time.perf_counter() - start), vectors

    # The fast path's embeddings: reduced-scale JPEG decoding, as the pipeline does it.
    fast = np.concatenate(
        [
            encoder.encode_images(
                [decode(f, max_pixels=10**9, draft_size=size).image for f in chunk]
            )
            for chunk in (
                files[i : i + args.batch_size]
                for i in range(0, len(files), args.batch_size)
            )
        ]
    )

    # The whole pipeline, model already loaded, in a fresh library each round.
    def pipeline_pass(round_: int) -> tuple[float, int]:
        settings = Settings(
            library=work / f"library{round_}",
            batch_size=args.batch_size,
            device=args.device,
        )
        store = Store.open(settings.library, create=True)
        library = Library(store, settings, info, encoder)
        start = time.perf_counter()
        summary = index_folders(library, [str(photos)])
        speed = summary.encoded / (time.perf_counter() - start)
        library.close()
        on_disk = sum(
            p.stat().st_size for p in settings.library.iterdir() if p.is_file()
        )
        shutil.rmtree(settings.library)
        return speed, on_disk

    # Shared machines drift by 10-20% from one minute to the next: every pipeline run is
    # bracketed by model-only runs just before and after it, and compared with their mean;
    # the median of those ratios is the figure, robust to a slow phase in any one run.
    model_speeds, pipeline_speeds, ratios = [], [], []
    speed, full_vectors = model_pass()
    model_speeds.append(speed)
    for round_ in range(args.rounds):
        speed, on_disk = pipeline_pass(round_)
        pipeline_speeds.append(speed)
        speed, _ = model_pass()
        model_speeds.append(speed)
        ratios.append(pipeline_speeds[-1] / np.mean(model_speeds[-2:]))
    model_only, pipeline = np.median(model_speeds), np.median(pipeline_speeds)
    cosines = np.sum(fast * full_vectors, axis=1)

    print(
        f"| model | {args.model}, batch {args.batch_size}, {encoder.device}, "
        f"{torch.get_num_threads()} torch threads |"
    )
    print("|---|---|")
    print(f"| photos | {len(files)}, median {np.median(megapixels):.1f} MP |")
    print(f"| model-only images/s (median of {len(model_speeds)}) | {model_only:.1f} |")
    print(f"| pipeline images/s (median of {len(pipeline_speeds)}) | {pipeline:.1f} |")
    print(
        f"| pipeline / model-only (median of bracketed rounds) | {np.median(ratios):.2f} |"
    )
    print(f"| ratio in each round | {', '.join(f'{r:.2f}' for r in ratios)} |")
    print(f"| bytes per image (SQLite + FAISS) | {on_disk / len(files):.0f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"| peak RSS | {peak:.1f} GB |")
    print(
        f"| cosine, reduced-scale vs full decoding | mean {cosines.mean():.4f}, "
        f"worst {cosines.min():.4f} |"
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
