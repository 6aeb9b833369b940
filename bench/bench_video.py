"""Video indexing throughput: the whole pipeline against the model alone, on generated
1080p H.264 clips.

    python -m bench.bench_video [--pictures DIR] [--clips 4] [--seconds 30] [--gop 30]

The clips pan slowly across real photographs (JPEGs under --pictures, e.g. Debian's
wallpapers; else drawn gradients), cutting to another photograph every few seconds, and are
encoded by libx264 (preset veryfast, a keyframe every --gop frames; phones write one every
second or two). Without --pretrained the model gets random weights saved to a local file.
Prints one table:
- model-only frames/s: the image tower alone, on the sampled frames decoded and prepared
  beforehand;
- pipeline frames/s: `photosearch index` end to end on the clips (scan, hash, demux,
  decode, sample, prepare, encode, write), same model, batch size and threads; and their
  ratio (each pipeline run against the model-only runs just before and after it, median of
  --rounds);
- seconds of video indexed per second of wall time;
- vectors and bytes stored per minute of video with the default sampling.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.bench_index import random_weights

SIZE = (1920, 1080)
FPS = 30


def pictures(folder: Path | None, count: int) -> list[Image.Image]:
    """Large pictures to pan across: photographs if given, else drawn gradients."""
    found = sorted(folder.rglob("*.jpg"))[:count] if folder else []
    if found:
        return [Image.open(p).convert("RGB").resize((2880, 1620)) for p in found]
    rng = np.random.default_rng(0)
    out = []
    for _ in range(count):
        x = np.linspace(0, 1, 2880)[None, :, None]
        y = np.linspace(0, 1, 1620)[:, None, None]
        colour = rng.random((1, 1, 3))
        pixels = (255 * (colour * x + (1 - colour) * y)).astype(np.uint8)
        out.append(Image.fromarray(pixels))
    return out


def make_clip(path: Path, seconds: int, gop: int, scenes: list[Image.Image]) -> None:
    import av

    rng = random.Random(path.name)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        stream.codec_context.gop_size = gop
        scene = rng.choice(scenes)
        for n in range(seconds * FPS):
            if n % (FPS * rng.choice((3, 4, 5, 6))) == 0:
                scene = rng.choice(scenes)  # a cut
            dx = (n * 6) % (scene.width - SIZE[0])  # a slow pan
            frame = scene.crop((dx, 200, dx + SIZE[0], 200 + SIZE[1]))
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(np.asarray(frame), format="rgb24")
            ):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def main() -> None:
    """A benchmark's script, one function on purpose: its measurements run and print in
    the order the docstring of the module lists them, read top to bottom."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument(
        "--pretrained", help="weights file or tag (default: random weights)"
    )
    parser.add_argument("--pictures", type=Path, help="photographs to pan across")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--gop", type=int, default=30, help="frames between keyframes")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    import torch

    from indexer.pipeline import index_folders
    from retrieval.library import Library
    from retrieval.media.video.sample import Sampling, sample
    from retrieval.model.factory import resolve_model
    from retrieval.model.torch_clip import OpenClipEncoder
    from retrieval.settings import Settings
    from retrieval.store import Store

    work = Path(tempfile.mkdtemp(prefix="photosearch-bench-video-"))
    clips = work / "clips"
    clips.mkdir()
    scenes = pictures(args.pictures, 12)
    start = time.perf_counter()
    for i in range(args.clips):
        make_clip(clips / f"clip{i}.mp4", args.seconds, args.gop, scenes)
    made = time.perf_counter() - start
    weights = args.pretrained or str(
        random_weights(args.model, Path(tempfile.gettempdir()))
    )
    info = resolve_model(args.model, weights)
    encoder = OpenClipEncoder(info, args.device)
    encoder.load()
    defaults = Settings()
    sampling = Sampling(defaults.video_interval, defaults.video_scene)

    # Model alone: the same frames the pipeline samples, prepared beforehand.
    prepared: list[Any] = []
    decode_start = time.perf_counter()
    for clip in sorted(clips.iterdir()):
        prepared.extend(
            encoder.prepare(m.image) for m in sample(clip, sampling, encoder.image_size)
        )
    decode_only = time.perf_counter() - decode_start
    batches = [
        encoder.collate(prepared[i : i + args.batch_size])
        for i in range(0, len(prepared), args.batch_size)
    ]
    encoder.encode_batch(batches[0])

    def model_pass() -> float:
        began = time.perf_counter()
        for batch in batches:
            encoder.encode_batch(batch)
        return len(prepared) / (time.perf_counter() - began)

    def pipeline_pass(round_: int) -> tuple[float, float, int, tuple[int, int]]:
        settings = Settings(
            library=work / f"library{round_}",
            batch_size=args.batch_size,
            device=args.device,
            debounce=0.0,
        )
        store = Store.open(settings.library, create=True)
        library = Library(store, settings, info, encoder)
        began = time.perf_counter()
        index_folders(library, [str(clips)])
        wall = time.perf_counter() - began
        dim = info.dim
        ids = [s.image_id for s in store.file_states().values()]
        frames = sum(len(store.moments(i, dim)[0]) for i in ids)
        stored = _stored_bytes(settings.library)
        library.close()
        shutil.rmtree(settings.library)
        return frames / wall, args.clips * args.seconds / wall, frames, stored

    model_speeds, pipeline_speeds, ratios, video_speeds = [model_pass()], [], [], []
    for round_ in range(args.rounds):
        speed, video_speed, frames, stored = pipeline_pass(round_)
        pipeline_speeds.append(speed)
        video_speeds.append(video_speed)
        model_speeds.append(model_pass())
        ratios.append(speed / np.mean(model_speeds[-2:]))
    minutes = args.clips * args.seconds / 60
    print(
        f"| model | {args.model}, batch {args.batch_size}, {encoder.device}, "
        f"{torch.get_num_threads()} torch threads |"
    )
    print("|---|---|")
    print(
        f"| clips | {args.clips} x {args.seconds} s, 1920x1080 {FPS} fps H.264, "
        f"keyframe every {args.gop} frames (made in {made:.0f} s) |"
    )
    print(f"| frames sampled | {len(prepared)} (pipeline: {frames}) |")
    print(
        f"| decode + sample + prepare alone | {len(prepared) / decode_only:.0f} "
        f"frames/s, {args.clips * args.seconds / decode_only:.0f} s of video/s |"
    )
    print(
        f"| model-only frames/s (median of {len(model_speeds)}) | {np.median(model_speeds):.1f} |"
    )
    print(
        f"| pipeline frames/s (median of {len(pipeline_speeds)}) | {np.median(pipeline_speeds):.1f} |"
    )
    print(
        f"| pipeline / model-only (median of bracketed rounds) | {np.median(ratios):.2f} |"
    )
    print(f"| ratio in each round | {', '.join(f'{r:.2f}' for r in ratios)} |")
    print(
        f"| seconds of video per second of wall time | {np.median(video_speeds):.1f} |"
    )
    print(f"| vectors per minute of video | {frames / minutes:.1f} |")
    print(
        f"| bytes per minute of video | {stored[0] / minutes:.0f} in SQLite (vectors, "
        f"times), {stored[1] / minutes:.0f} in FAISS |"
    )
    shutil.rmtree(work)


def _stored_bytes(library: Path) -> tuple[int, int]:
    """What the clips' moments take: their rows' bytes in SQLite (vectors, times) and the
    FAISS file (float16 codes and ids)."""
    import sqlite3

    from retrieval.index.vector_index import INDEX_NAME
    from retrieval.store import DATABASE_NAME

    with sqlite3.connect(library / DATABASE_NAME) as db:
        (rows,) = db.execute(
            "select sum(length(vector) + coalesce(length(views), 0)"
            " + coalesce(length(times), 0)) from embeddings"
        ).fetchone()
    index = library / INDEX_NAME
    return int(rows or 0), index.stat().st_size if index.exists() else 0


if __name__ == "__main__":
    main()
