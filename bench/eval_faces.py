"""Faces measured on real photographs: who is who (the clustering's thresholds), how
small and blurred a face may be and still be told, how small a face is found, and how
often a landscape gets a face that is not there.

    python -m bench.eval_faces FACES_DIR [--truth data/faces/truth.csv]
        [--sources CLONES] [--landscapes DIR] [--limit 100] [--sides 1024,2048]

FACES_DIR holds photos of people, and the truth file says who each is (`path,person`:
each photo's largest face is that person). With --sources, FACES_DIR is first filled
from clones of the repositories the truth's `source` column names (`owner/name:path`,
found at CLONES/name). data/faces/EVAL.md says where the photos come from and what this
printed. LANDSCAPES: real photographs without people (the Debian wallpapers), for false
faces, and as backgrounds into which the truth's faces are pasted at several sizes for
detection. Prints tables, one per question.

Every face goes through what indexing runs: the photo decoded as the faces analyzer asks
(indexer.analyzers.faces), retrieval.faces.model.find_faces, retrieval.faces.cluster.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from retrieval.faces.cluster import cluster
from retrieval.faces.model import Face, find_faces, load_face_model
from retrieval.media.decode import decode

MAX_PIXELS = 250_000_000


def _picture(path: Path, side: int) -> Image.Image:
    return decode(path, max_pixels=MAX_PIXELS, draft_size=side * 3 // 4).image


def _largest(faces: list[Face]) -> Face | None:
    return max(faces, key=lambda f: f.size) if faces else None


def pairwise(truth: list[str], predicted: list[int]) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering (-1: a face alone)."""
    same_true = same_pred = both = 0
    for a, b in itertools.combinations(range(len(truth)), 2):
        t = truth[a] == truth[b]
        p = predicted[a] >= 0 and predicted[a] == predicted[b]
        same_true += t
        same_pred += p
        both += t and p
    return (both / same_pred if same_pred else 1.0), (
        both / same_true if same_true else 1.0
    )


def person_recall(truth: list[str], predicted: list[int]) -> float:
    """For each person, the share of their photos in the predicted person holding most
    of them: what `--person` finds, averaged over persons with two photos or more."""
    shares = []
    for who in sorted(set(truth)):
        mine = [predicted[i] for i, t in enumerate(truth) if t == who]
        if len(mine) < 2:
            continue
        labels = [p for p in mine if p >= 0]
        best = max((labels.count(p) for p in set(labels)), default=0)
        shares.append(best / len(mine))
    return float(np.mean(shares)) if shares else 1.0


def _predicted(faces: list[Face], join: float) -> list[int]:
    ids = np.arange(len(faces), dtype=np.int64)
    outcome = cluster(
        ids,
        np.full(len(faces), -1, dtype=np.int64),
        np.array([f.identifiable for f in faces]),
        np.stack([f.embedding for f in faces]),
        join=join,
    )
    label = [-1] * len(faces)
    for n, group in enumerate(outcome.groups):
        for face in group:
            label[face] = n
    return label


def identities(
    folder: Path, truth_file: Path, side: int
) -> tuple[list[Face], list[str]]:
    faces, truth, missed = [], [], []
    with truth_file.open() as f:
        for row in csv.DictReader(f):
            face = _largest(
                find_faces(load_face_model(side), _picture(folder / row["path"], side))
            )
            if face is None:
                missed.append(row["path"])
                continue
            faces.append(face)
            truth.append(row["person"])
    print(
        f"\n{len(faces)} faces of {len(set(truth))} persons; no face found in: {missed or 'none'}"
    )
    print("\njoin   pairwise precision   pairwise recall   --person recall")
    for join in (0.40, 0.45, 0.50, 0.55, 0.60):
        pred = _predicted(faces, join)
        precision, recall = pairwise(truth, pred)
        print(
            f"{join:.2f}   {precision:18.3f}   {recall:15.3f}   {person_recall(truth, pred):15.3f}"
        )
    return faces, truth


def degraded(
    folder: Path, truth_file: Path, side: int, faces: list[Face], truth: list[str]
) -> None:
    """Each photo made coarser (its face `size` px tall, then enlarged back) or blurred:
    does its face still find its own person, nearest among the clean faces of the
    others, within the clustering's distance?"""
    from retrieval.faces.cluster import JOIN

    rows = list(csv.DictReader(truth_file.open()))
    clean = np.stack([f.embedding for f in faces])
    print(
        "\nface made     found   sharpness (median)   right person   wrong person   none"
    )
    model = load_face_model(side)
    for kind, amount in [("size", s) for s in (24, 32, 40, 56, 80)] + [
        ("blur", r) for r in (2, 4, 8)
    ]:
        right = wrong = none = found = 0
        sharp = []
        for n, row in enumerate(r for r in rows if any(True for _ in [0])):
            if n >= len(faces):
                break
            picture = _picture(folder / row["path"], side)
            if kind == "size":
                scale = amount / max(
                    1, faces[n].size * picture.height / max(1, picture.height)
                )
                small = picture.resize(
                    (
                        max(1, round(picture.width * scale)),
                        max(1, round(picture.height * scale)),
                    ),
                    Image.Resampling.BILINEAR,
                )
                picture = small.resize(picture.size, Image.Resampling.BILINEAR)
            else:
                picture = picture.filter(
                    ImageFilter.GaussianBlur(amount * picture.height / 1000)
                )
            face = _largest(find_faces(model, picture))
            if face is None:
                continue
            found += 1
            sharp.append(face.sharpness)
            d = np.linalg.norm(clean - face.embedding, axis=1)
            d[n] = np.inf
            k = int(np.argmin(d))
            if d[k] >= JOIN:
                none += 1
            elif truth[k] == truth[n]:
                right += 1
            else:
                wrong += 1
        label = f"{amount} px tall" if kind == "size" else f"blur {amount}/1000"
        med = float(np.median(sharp)) if sharp else float("nan")
        print(
            f"{label:<13} {found:5d}   {med:18.0f}   {right:12d}   {wrong:12d}   {none:4d}"
        )


def detection(
    folder: Path, truth_file: Path, landscapes: list[Path], sides: list[int]
) -> None:
    rows = list(csv.DictReader(truth_file.open()))
    random.seed(0)
    crops = []
    for row in rows:
        picture = _picture(folder / row["path"], 1024)
        face = _largest(find_faces(load_face_model(1024), picture))
        if face is None:
            continue
        left, top, right, bottom = face.box.pixels(*picture.size)
        h = bottom - top
        # The head and shoulders around the face, as a person stands in a photo.
        crops.append(
            (
                picture.crop((left - h, top - h * 0.7, right + h, bottom + h * 1.5)),
                h / (3.2 * h),
            )
        )
    print("\nfalse faces and cost, on landscapes without people")
    print("side    photos with a face   ms per photo (detection, landmarks, vectors)")
    pictures = [_picture(p, 2048) for p in landscapes]
    for side in sides:
        model = load_face_model(side)
        start, with_face = time.perf_counter(), 0
        for picture in pictures:
            with_face += bool(find_faces(model, picture))
        ms = (time.perf_counter() - start) / len(pictures) * 1000
        print(f"{side:<7} {with_face:4d} of {len(pictures):<11} {ms:8.0f}")
    print("\nfaces pasted into landscapes (4000 px wide, 12 MP-like), found")
    fractions = (0.01, 0.02, 0.03, 0.05, 0.08, 0.12)
    print("side    " + "   ".join(f"{f * 4000:4.0f} px" for f in fractions))
    for side in sides:
        model = load_face_model(side)
        cells = []
        for fraction in fractions:
            hits = trials = 0
            for n, (crop, share) in enumerate(crops):
                background = pictures[n % len(pictures)].resize((4000, 2250))
                face_px = fraction * 4000
                scale = face_px / (crop.height * share)
                person = crop.resize(
                    (
                        max(1, round(crop.width * scale)),
                        max(1, round(crop.height * scale)),
                    )
                )
                x = random.randint(0, max(0, 4000 - person.width))
                y = random.randint(0, max(0, 2250 - person.height))
                background.paste(person, (x, y))
                # As indexing gets it: decoded no finer than the analyzer asks.
                shown = background.resize((2048, 1152)) if side <= 1536 else background
                found = find_faces(model, shown)
                trials += 1
                cx, cy = (x + person.width / 2) / 4000, (y + person.height * 0.4) / 2250
                hits += any(
                    f.box.left - 0.02 <= cx <= f.box.right + 0.02
                    and f.box.top - 0.05 <= cy <= f.box.bottom + 0.1
                    for f in found
                )
            cells.append(f"{hits / trials:7.2f}")
        print(f"{side:<7} " + "   ".join(cells))


def gather(truth: Path, sources: Path, folder: Path) -> None:
    """The truth's photos copied from the clones of their repositories."""
    import shutil

    with truth.open() as f:
        for row in csv.DictReader(f):
            repo, _, inside = row["source"].partition(":")
            target = folder / row["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(sources / repo.split("/")[1] / inside, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("faces", type=Path)
    parser.add_argument("--truth", type=Path, default=Path("data/faces/truth.csv"))
    parser.add_argument("--sources", type=Path, help="clones of the truth's sources")
    parser.add_argument("--landscapes", type=Path)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--sides", default="1024,2048")
    args = parser.parse_args()
    truth = args.truth
    if args.sources:
        gather(truth, args.sources, args.faces)
    sides = [int(s) for s in args.sides.split(",")]
    faces, names = identities(args.faces, truth, sides[0])
    degraded(args.faces, truth, sides[0], faces, names)
    if args.landscapes:
        found = sorted(
            p
            for p in args.landscapes.rglob("*")
            if p.suffix.lower() in (".jpg", ".jpeg", ".png")
        )
        detection(args.faces, truth, found[: args.limit], sides)


if __name__ == "__main__":
    main()
