"""The image tower on a CPU: torch against ONNX Runtime, same input, same threads.

    python -m bench.bench_engines [--model ViT-B-32] [--batch-size 32] [--rounds 5]

Without --pretrained the model gets random weights saved to a local file (same speed as
real ones). Exports the image tower as photosearch does, then times one batch through
each engine in interleaved rounds (the machine drifts): torch; ONNX Runtime with all its
graph optimisations; without them; and with weights quantised to int8 (dynamic
quantisation). Prints images/s and each engine's worst cosine against torch's vectors.

    python -m bench.bench_engines --quality

measures instead what int8 weights cost in answers, on the demo model's evaluation set
(the 1,200 images of data/demo/EVAL.md): text-to-image Recall@5 and zero-shot tagging
accuracy with torch, ONNX Runtime, and ONNX Runtime with int8 image weights.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def session(path: Path, threads: int, optimise: bool) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if optimise
        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    """A benchmark's script, one function on purpose: its measurements run and print in
    the order the docstring of the module lists them, read top to bottom."""
    from bench.bench_index import random_weights

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--pretrained", help="weights file or tag (default: random)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--quality", action="store_true", help="see above")
    args = parser.parse_args()
    if args.quality:
        quality(args.work)
        return

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from retrieval.model.factory import resolve_model
    from retrieval.model.onnx.export import export_towers
    from retrieval.model.onnx.files import IMAGE_FILE, towers_folder
    from retrieval.model.torch_clip import OpenClipEncoder
    from retrieval.vectors import l2_normalize

    torch.set_num_threads(args.threads)
    weights = args.pretrained or str(random_weights(args.model, args.work))
    info = resolve_model(args.model, weights)
    encoder = OpenClipEncoder(info, "cpu")
    folder = towers_folder(info)
    if not (folder / IMAGE_FILE).exists():
        export_towers(encoder)
    quantised = folder / "image-int8.onnx"
    if not quantised.exists():
        quantize_dynamic(
            str(folder / IMAGE_FILE), str(quantised), weight_type=QuantType.QInt8
        )

    size = encoder.image_size
    rng = np.random.default_rng(0)
    pixels = [
        rng.integers(0, 256, (3, size, size), dtype=np.uint8)
        for _ in range(args.batch_size)
    ]
    batch = encoder.collate(pixels)
    inputs = batch.numpy()

    def run_torch() -> np.ndarray:
        return encoder.encode_batch(batch)

    engines: dict[str, Any] = {"torch": run_torch}
    for name, path, optimise in (
        ("onnxruntime, optimised", folder / IMAGE_FILE, True),
        ("onnxruntime, no graph optimisation", folder / IMAGE_FILE, False),
        ("onnxruntime, int8 weights", quantised, True),
    ):
        runner = session(path, args.threads, optimise)
        engines[name] = lambda r=runner: l2_normalize(
            r.run(None, {"inputs": inputs})[0]
        )

    reference = run_torch()
    cosines = {}
    for name, run in engines.items():
        cosines[name] = float((run() * reference).sum(axis=1).min())  # also a warm-up
    rates: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(args.rounds):
        for name, run in engines.items():
            start = time.perf_counter()
            run()
            rates[name].append(args.batch_size / (time.perf_counter() - start))
    print(
        f"\n{args.model}, batch {args.batch_size}, {args.threads} threads, "
        f"median of {args.rounds} interleaved rounds\n"
    )
    print("| engine | images/s | vs torch | worst cosine to torch |")
    print("|---|---|---|---|")
    base = statistics.median(rates["torch"])
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"| {name} | {rate:.1f} | {rate / base:.2f}x | {cosines[name]:.6f} |")


def quality(work: Path) -> None:
    from photosearch.demo.eval_set import encode_eval_set
    from photosearch.demo.evaluate import recall_at, tagging_accuracy
    from retrieval.model.factory import resolve_model
    from retrieval.model.onnx.export import export_towers, quantize_images
    from retrieval.model.onnx.files import read_meta, towers_folder
    from retrieval.model.onnx.runtime import OnnxEncoder
    from retrieval.model.torch_clip import OpenClipEncoder

    info = resolve_model("demo", None)
    torch_encoder = OpenClipEncoder(info, "cpu")
    folder = towers_folder(info)
    meta = read_meta(folder) or export_towers(torch_encoder)
    quantize_images(folder)
    encoders: dict[str, Any] = {
        "torch": torch_encoder,
        "onnxruntime": OnnxEncoder(folder, meta, info, one_shot=False),
        "onnxruntime, int8 image weights": OnnxEncoder(
            folder, meta, info, one_shot=False, int8_images=True
        ),
    }
    print("\ndemo model, 1,200 evaluation images (seen / held-out combinations)\n")
    print("| engine | Recall@5 | shape accuracy | colour accuracy | worst cosine |")
    print("|---|---|---|---|---|")
    reference = None
    for name, encoder in encoders.items():
        data = encode_eval_set(encoder)
        if reference is None:
            reference = data.vectors
        worst = float((data.vectors * reference).sum(axis=1).min())
        recall = recall_at(data, encoder)
        tags = tagging_accuracy(data, encoder)
        print(
            f"| {name} | {recall['seen']['recall@5']} / {recall['unseen']['recall@5']} "
            f"| {tags['shape']['seen']} / {tags['shape']['unseen']} "
            f"| {tags['color']['seen']} / {tags['color']['unseen']} | {worst:.5f} |"
        )


if __name__ == "__main__":
    main()
