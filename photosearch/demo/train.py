"""Train the demo CLIP on synthetic shapes, reproducibly (fixed seeds), on a CPU.

    python -m photosearch.demo.train            # about 25 minutes on 2 CPU cores

writes data/demo/demo.safetensors (fp16, under 20 MB) and then the evaluation report
data/demo/EVAL.md (see `photosearch.demo.evaluate`).

The loss is CLIP's symmetric cross-entropy, with one change that matters for partial
captions: a caption such as "a star" fits every star in the batch, so every image it fits
counts as a positive (soft targets) instead of being pushed away as a negative.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from photosearch.demo import shapes
from retrieval.model.demo import (
    DEMO_MODEL_NAME,
    demo_weights_path,
    register_demo_config,
)

log = logging.getLogger(__name__)

# open_clip's default normalisation, the one the demo model's transform applies.
MEAN = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(1, 3, 1, 1)
STD = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(1, 3, 1, 1)


def twin(scene: shapes.Scene, rng: random.Random) -> shapes.Scene:
    """The same scene with one thing changed: the count, or the shape (never into a held-out
    combination). Twins side by side in a batch are the hard negatives that teach "two"
    from "three" and a star from a cross of the same colour."""
    if rng.random() < 0.5:
        count = rng.choice([c for c in shapes.COUNT_WORDS if c != scene.count])
        position = rng.choice(shapes.POSITIONS) if count == 1 else "center"
        return shapes.Scene(
            scene.shape, scene.color, count, scene.size, position, scene.background
        )
    options = [
        s
        for s in shapes.SHAPES
        if s != scene.shape and (s, scene.color) not in shapes.HELD_OUT
    ]
    return shapes.Scene(
        rng.choice(options),
        scene.color,
        scene.count,
        scene.size,
        scene.position,
        scene.background,
    )


def render_set(
    n: int, seed: int, *, allow_held_out: bool
) -> tuple[list[shapes.Scene], np.ndarray]:
    """Scenes and their pixels, rendered once (pre-computing beats re-drawing every step),
    in pairs: scene 2k+1 is the twin of scene 2k."""
    rng = random.Random(seed)
    scenes: list[shapes.Scene] = []
    for _ in range(n // 2):
        scene = shapes.random_scene(rng, allow_held_out=allow_held_out)
        scenes += [scene, twin(scene, rng)]
    pixels = np.stack([np.asarray(shapes.render(s, rng)) for s in scenes])
    return scenes, pixels


def grayscale(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The images under `mask` turned to gray (ITU-R 601 luma), as RGB."""
    out = pixels.copy()
    if mask.any():
        luma = pixels[mask].astype(np.float32) @ np.array(
            [0.299, 0.587, 0.114], np.float32
        )
        out[mask] = np.repeat(luma[..., None], 3, axis=-1).round().astype(np.uint8)
    return out


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div_(255.0)
    return (x - MEAN) / STD


def train(args: argparse.Namespace) -> None:
    """The training recipe, one function on purpose (longer than most): seed, data,
    optimizer, schedule and loop read top to bottom, and the committed weights and
    data/demo/EVAL.md depend on exactly this order of random draws."""
    import open_clip

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    register_demo_config()
    model = open_clip.create_model(DEMO_MODEL_NAME, pretrained=None)
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    model.train()

    started = time.time()
    scenes, pixels = render_set(args.images, args.seed, allow_held_out=False)
    log.info("rendered %d training images in %.0fs", len(scenes), time.time() - started)

    # The temperature learns ten times faster than the weights: sharper logits are what
    # tell "two" from "three" once the coarse attributes are learnt.
    named = [(n, p) for n, p in model.named_parameters() if n != "logit_scale"]
    decay = [p for n, p in named if p.ndim >= 2 and "embedding" not in n]
    rest = [p for n, p in named if not (p.ndim >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": 0.1, "lr_scale": 1.0},
            {"params": rest, "weight_decay": 0.0, "lr_scale": 1.0},
            {"params": [model.logit_scale], "weight_decay": 0.0, "lr_scale": 10.0},
        ],
        lr=args.lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )

    def lr_at(step: int) -> float:
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * 0.5 * (1 + math.cos(math.pi * progress))

    rng = random.Random(args.seed + 1)
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step) * group["lr_scale"]
        pairs = rng.sample(range(len(scenes) // 2), args.batch // 2)
        idx = [i for p in pairs for i in (2 * p, 2 * p + 1)]
        batch_scenes = [scenes[i] for i in idx]
        # A share of the images lose their colour and get a caption that names none: shape
        # features must then stand without colour, which is what lets "a star" find a
        # purple star although no purple star was ever shown.
        gray = [rng.random() < args.gray for _ in idx]
        captions = [
            shapes.random_caption(s, rng, colorless=g)
            for s, g in zip(batch_scenes, gray, strict=True)
        ]
        # fits[i, j]: image i fits caption j.
        fits = torch.tensor(
            [
                [
                    shapes.fits(si, sj, keys) and not (gi and shapes.COLOR_KEYS & keys)
                    for sj, (_, keys) in zip(batch_scenes, captions, strict=True)
                ]
                for si, gi in zip(batch_scenes, gray, strict=True)
            ],
            dtype=torch.float32,
        )
        images = to_tensor(grayscale(pixels[idx], np.asarray(gray)))
        tokens = tokenizer([text for text, _ in captions])

        # bf16 autocast: about 1.5x faster on CPUs with AVX512-BF16, and harmless elsewhere.
        with torch.autocast("cpu", dtype=torch.bfloat16):
            image_out = model.encode_image(images)
            text_out = model.encode_text(tokens)
        image_features = F.normalize(image_out.float(), dim=-1)
        text_features = F.normalize(text_out.float(), dim=-1)
        logits = model.logit_scale.exp() * image_features @ text_features.T
        image_to_text = fits / fits.sum(dim=1, keepdim=True)
        text_to_image = (fits / fits.sum(dim=0, keepdim=True)).T
        loss = 0.5 * (
            F.cross_entropy(logits, image_to_text)
            + F.cross_entropy(logits.T, text_to_image)
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 25 == 0 or step == args.steps - 1:
            log.info(
                "step %d/%d loss %.3f scale %.1f (%.0fs)",
                step,
                args.steps,
                loss.item(),
                model.logit_scale.exp().item(),
                time.time() - started,
            )

    from safetensors.torch import save_file

    args.out.parent.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to(torch.float16).contiguous()
        for k, v in model.state_dict().items()
    }
    save_file(
        state,
        str(args.out),
        metadata={"seed": str(args.seed), "steps": str(args.steps)},
    )
    log.info("saved %s (%.1f MB)", args.out, args.out.stat().st_size / 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument(
        "--images", type=int, default=40000, help="training images rendered"
    )
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument(
        "--gray", type=float, default=0.25, help="share of grayscale images"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=demo_weights_path())
    parser.add_argument(
        "--no-eval", action="store_true", help="skip the evaluation report"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    train(args)
    if not args.no_eval:
        from photosearch.demo.evaluate import write_report

        write_report(args.out)


if __name__ == "__main__":
    main()
