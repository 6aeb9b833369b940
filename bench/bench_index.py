"""Indexing throughput: the whole pipeline against the model alone, on real photos, and
the wall time of a first `photosearch index` with the defaults against one vector per
photo without the ONNX export.

    python -m bench.bench_index PHOTOS_DIR [--model ViT-B-32] [--limit 200]
        [--crop 4:3] [--first-rounds 3]

Without --pretrained, the model gets random weights saved to a local file (same speed as
real ones, no download). Prints one table:
- model-only images/s: the image tower alone, on input batches decoded, preprocessed and
  collated beforehand (on the device);
- pipeline images/s: `photosearch index` end to end (scan, hash, decode, preprocess,
  encode, write), with the same model, batch size, device and threads, one vector per
  photo and no faces, as the model-only runs (wide photos' views off); and their ratio
  (each pipeline run against the model-only runs just before and after it, median of
  --rounds, since shared machines drift);
- bytes per image in the library (SQLite + FAISS);
- the mean (and worst) cosine between embeddings of reduced-scale decoding (the fast path)
  and of full decoding, on the same images;
- the first `photosearch index` of a new library on a machine that has no export yet, as
  a user runs it (a fresh process, the model loaded from its file): with the defaults,
  with text off (`PHOTOSEARCH_TEXT=0`), with faces and text off (`PHOTOSEARCH_FACES=0`
  too), and CLIP alone: one vector per photo, no export, no faces and no text
  (`PHOTOSEARCH_VIEWS_ASPECT=0 --engine torch`), in interleaved
  rounds, each background export waited for before the next run; and how long the
  default run's export took after `index` returned.

`--crop 4:3` (or any W:H) first re-encodes each photo's centre at that aspect, to measure a
camera library rather than wallpapers.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
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


def cropped(files: list[str], aspect: str, work: Path) -> list[str]:
    """Each photo's centre at aspect W:H (the long side kept across), as JPEG."""
    from retrieval.media.decode import decode

    w, h = (float(x) for x in aspect.split(":"))
    folder = work / f"crop-{w:g}x{h:g}"
    folder.mkdir()
    out = []
    for i, f in enumerate(files):
        image = decode(f, max_pixels=10**9).image
        ratio = max(w, h) / min(w, h)
        if image.width >= image.height:
            width, height = image.width, min(image.height, round(image.width / ratio))
            width = min(width, round(height * ratio))
        else:
            width, height = min(image.width, round(image.height / ratio)), image.height
            height = min(height, round(width * ratio))
        left, top = (image.width - width) // 2, (image.height - height) // 2
        path = folder / f"{i:05d}.jpg"
        image.crop((left, top, left + width, top + height)).save(path, quality=90)
        out.append(str(path))
    return out


def first_index(
    photos: Path, weights: str, model: str, work: Path, rounds: int
) -> list[str]:
    """Rows: the wall time of a first `photosearch index` with the defaults, with text
    off, with faces and text off, and with one vector, no export, no faces and no text
    (CLIP alone), in interleaved rounds (median), and the background export's time after
    the default run returned."""
    from retrieval.model.factory import resolve_model
    from retrieval.model.onnx.files import read_meta, towers_folder

    program = str(Path(sys.executable).with_name("photosearch"))
    times: dict[str, list[float]] = {
        "defaults": [],
        "notext": [],
        "nofaces": [],
        "one": [],
    }
    exports: list[float] = []
    for round_ in range(rounds):
        for kind in list(times):
            cache = work / f"cache-{kind}-{round_}"  # a machine with no export yet
            env = {**os.environ, "PHOTOSEARCH_CACHE": str(cache)}
            extra: list[str] = []
            if kind != "defaults":
                env["PHOTOSEARCH_TEXT"] = "0"
            if kind in ("nofaces", "one"):
                env["PHOTOSEARCH_FACES"] = "0"
            if kind == "one":
                env["PHOTOSEARCH_VIEWS_ASPECT"] = "0"
                extra = ["--engine", "torch"]
            library = work / f"first-{kind}-{round_}"
            command = [program, "index", str(photos), "--library", str(library)]
            command += ["--model", model, "--pretrained", weights, "--no-progress"]
            start = time.perf_counter()
            subprocess.run(command + extra, env=env, check=True, capture_output=True)
            times[kind].append(time.perf_counter() - start)
            if kind != "one":
                # The background export, waited for: it must not slow the next run.
                os.environ["PHOTOSEARCH_CACHE"] = str(cache)
                folder = towers_folder(resolve_model(model, weights))
                while read_meta(folder) is None and time.perf_counter() - start < 900:
                    time.sleep(0.2)
                if kind == "defaults":
                    exports.append(time.perf_counter() - start - times[kind][-1])
                del os.environ["PHOTOSEARCH_CACHE"]
            shutil.rmtree(library)
            shutil.rmtree(cache, ignore_errors=True)
    median = {kind: float(np.median(t)) for kind, t in times.items()}

    def ratio(a: str, b: str) -> float:
        return float(
            np.median([x / y for x, y in zip(times[a], times[b], strict=True)])
        )

    each = ", ".join(
        "/".join(f"{t:.1f}" for t in run) for run in zip(*times.values(), strict=True)
    )
    return [
        f"| first `index`, defaults (median of {rounds}) | {median['defaults']:.1f} s |",
        f"| first `index`, text off (median of {rounds}) | {median['notext']:.1f} s |",
        (
            f"| first `index`, faces and text off (median of {rounds}) | "
            f"{median['nofaces']:.1f} s |"
        ),
        (
            f"| first `index`, CLIP alone: one vector, no export, no faces, no text "
            f"(median of {rounds}) | {median['one']:.1f} s |"
        ),
        f"| defaults / text off (median of rounds) | {ratio('defaults', 'notext'):.2f} |",
        f"| text off / faces and text off | {ratio('notext', 'nofaces'):.2f} |",
        f"| defaults / CLIP alone (median of rounds) | {ratio('defaults', 'one'):.2f} |",
        f"| faces and text off / CLIP alone | {ratio('nofaces', 'one'):.2f} |",
        f"| each round, defaults/text off/faces and text off/CLIP alone | {each} s |",
        (
            f"| the export, in the background after `index` returned | "
            f"{np.median(exports):.1f} s |"
        ),
    ]


def main() -> None:
    parser = model_parser(__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200, help="photos used")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rounds", type=int, default=5, help="measurements of each")
    parser.add_argument("--decode-workers", type=int, default=0, help="0: one per core")
    parser.add_argument("--crop", metavar="W:H", help="re-encode photos at this aspect")
    parser.add_argument(
        "--first-rounds", type=int, default=3, help="rounds of first `index`; 0: none"
    )
    args = parser.parse_args()

    from retrieval.model.factory import resolve_model

    work = Path(tempfile.mkdtemp(prefix="photosearch-bench-"))
    weights = args.pretrained or str(
        random_weights(args.model, Path(tempfile.gettempdir()))
    )
    info = resolve_model(args.model, weights)
    files, photos = linked_photos(args.photos, args.limit, work)
    if args.crop:
        shutil.rmtree(photos)
        files, photos = linked_photos(
            Path(os.path.dirname(cropped(files, args.crop, work)[0])),
            args.limit,
            work,
        )
    rows = throughput(args, info, files, photos, work)
    if args.first_rounds:
        rows += first_index(photos, weights, args.model, work, args.first_rounds)
    print("\n".join(rows))
    shutil.rmtree(work)


def throughput(
    args: argparse.Namespace, info: object, files: list[str], photos: Path, work: Path
) -> list[str]:
    """Rows: the model alone, the pipeline, their ratio in bracketed rounds, the bytes
    per image, the memory, and what reduced-scale decoding changes. Longer than most, on
    purpose: the model's inputs, its runs and the pipeline's are timed in one scope so
    that the rounds interleave as they print."""
    import torch

    from indexer.pipeline import index_folders
    from retrieval.library import Library
    from retrieval.media.decode import decode
    from retrieval.model.torch_clip import OpenClipEncoder
    from retrieval.records import ModelInfo
    from retrieval.settings import Settings
    from retrieval.store import Store

    assert isinstance(info, ModelInfo)
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
        # One vector per photo and no faces, as the model-only runs: the views' and
        # the faces' cost are the first index's rows to show.
        settings = Settings(
            library=work / f"library{round_}",
            batch_size=args.batch_size,
            device=args.device,
            views_aspect=0.0,
            faces=False,
            text=False,
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
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return [
        (
            f"| model | {args.model}, batch {args.batch_size}, {encoder.device}, "
            f"{torch.get_num_threads()} torch threads |"
        ),
        "|---|---|",
        f"| photos | {len(files)}, median {np.median(megapixels):.1f} MP |",
        f"| model-only images/s (median of {len(model_speeds)}) | {model_only:.1f} |",
        f"| pipeline images/s (median of {len(pipeline_speeds)}) | {pipeline:.1f} |",
        (
            f"| pipeline / model-only (median of bracketed rounds) | "
            f"{np.median(ratios):.2f} |"
        ),
        f"| ratio in each round | {', '.join(f'{r:.2f}' for r in ratios)} |",
        f"| bytes per image (SQLite + FAISS) | {on_disk / len(files):.0f} |",
        f"| peak RSS | {peak:.1f} GB |",
        (
            f"| cosine, reduced-scale vs full decoding | mean {cosines.mean():.4f}, "
            f"worst {cosines.min():.4f} |"
        ),
    ]


if __name__ == "__main__":
    main()
