"""Text in photos measured on real photographs and screenshots: how small a word is
read, how exactly, whether `--contains` and a plain sentence find the photo, what
reading costs with and without text.

    python -m bench.eval_text WALLPAPERS --work DIR [--count 60] [--plain 40]
        [--screenshots DIR] [--side 1536]

WALLPAPERS: real photographs (the Debian wallpapers); `--count` of them are brought to
a phone's 12 MP with text drawn on them (bench.text_photos: signs, labels, Chinese, in
several fonts, sizes, colours and angles, JPEG at 85), `--plain` more are left without
text. Everything is indexed into a library in DIR with the demo CLIP and the text
analyzer as `photosearch index` runs it. SCREENSHOTS: real screenshots of programs (the
figures of Debian's documentation packages); with no truth for them, the default reading
is compared with a reading at their full resolution. data/text/EVAL.md says what this
printed.
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from bench.text_photos import _backgrounds, _phone, make
from indexer.analyzers.base import Photo
from indexer.analyzers.exif import ExifAnalyzer
from indexer.analyzers.faces import picture_side_for as face_picture_side
from indexer.analyzers.text import TextAnalyzer
from indexer.pipeline import index_folders
from retrieval.library import Library
from retrieval.media.decode import decode
from retrieval.search.search import SearchOptions, search
from retrieval.search.terms import QueryTerm
from retrieval.search.vectors import query_vector
from retrieval.settings import Settings
from retrieval.text import search as text_search
from retrieval.text.fold import fold, parse_contains, sentence_words
from retrieval.text.model import load_text_reader
from retrieval.text.rapid import LOOK_SIDE, RapidText

MAX_PIXELS = 250_000_000
# Six-letter words that no photo here shows (bench.text_photos draws other words).
_ABSENT = (
    "guitar pillow rabbit violin walnut zipper helmet jacket kitten lizard magnet "
    "mirror muffin napkin parrot pencil pickle pigeon puzzle rocket saddle salami "
    "shovel spider sponge teapot tennis toffee turtle velvet"
)
ABSENT = _ABSENT.split()


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def substring_distance(needle: str, hay: str) -> int:
    """The fewest edits that make `needle` a substring of `hay` (semi-global)."""
    row = [0] * (len(hay) + 1)
    for i, cn in enumerate(needle, 1):
        prev, row[0] = row[0], i
        for j, ch in enumerate(hay, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (cn != ch))
    return min(row)


def _plain_copy(sources: list[Path], out: Path, count: int, skip: int) -> list[Path]:
    made = []
    for n, source in enumerate(sources[skip : skip + count]):
        path = out / f"plain_{n:03d}.jpg"
        if not path.exists():
            _phone(source).save(path, quality=85)
        made.append(path)
    return made


def _all(library: Library) -> dict[str, int]:
    """Every indexed photo's id, by file name."""
    return {Path(m.path).name: m.image_id for m in library.store.browse(0, 1 << 30)}


def reading(library: Library, photos: Path, truth: list[dict[str, str]]) -> None:
    """Word recall and character error rate by height."""
    metas = _all(library)
    texts = {
        name: fold(" ".join(line.text for line in lines))
        for name, image_id in metas.items()
        for lines in [library.store.text_of([image_id]).get(image_id, [])]
    }
    words: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    errors: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in truth:
        height = int(row["height"])
        hay = texts.get(row["image"], "")
        phrase = fold(row["phrase"])
        for word in phrase.split():
            words[height][0] += word in hay
            words[height][1] += 1
        errors[height][0] += substring_distance(phrase, hay)
        errors[height][1] += len(phrase)
    print("\nReading, by the text's height in the 12 MP photo (px):")
    print(f"{'height':>7} {'words':>6} {'recall':>7} {'CER':>6}")
    for height in sorted(words):
        found, total = words[height]
        wrong, chars = errors[height]
        print(f"{height:>7} {total:>6} {found / total:>7.3f} {wrong / chars:>6.3f}")


def finding(library: Library, truth: list[dict[str, str]], least: int) -> None:
    """--contains and plain sentences, on the phrases of text at least `least` px."""
    metas = _all(library)
    phrases = [r for r in truth if int(r["height"]) >= least]
    hit_words = hit_phrase = 0
    for row in phrases:
        wanted = metas[row["image"]]
        hit_words += wanted in library.store.ids_containing(
            parse_contains(row["phrase"])
        )
        quoted = parse_contains(f'"{row["phrase"]}"')
        hit_phrase += wanted in library.store.ids_containing(quoted)
    n = len(phrases)
    print(f"\n--contains, phrases of text >= {least} px ({n}):")
    print(
        f"  words, any order: {hit_words / n:.3f}   quoted phrase: {hit_phrase / n:.3f}"
    )
    wrong = sum(
        len(library.store.ids_containing(parse_contains(word))) > 0 for word in ABSENT
    )
    print(
        f"  six-letter words no photo shows that found a photo: {wrong} of {len(ABSENT)}"
    )

    print(f"\nA plain sentence (the phrase) finds its photo in the top 5 ({n}):")
    weights = (0.0, 0.5, 1.0, 2.0)
    print("  text weight " + " ".join(f"{w:>6}" for w in weights))
    shares = []
    saved = text_search.TEXT_WEIGHT
    try:
        for weight in weights:
            text_search.TEXT_WEIGHT = weight
            top5 = 0
            for row in phrases:
                vector, _ = query_vector(library, [QueryTerm(1.0, text=row["phrase"])])
                options = SearchOptions(top=5, words=sentence_words(row["phrase"]))
                if weight == 0.0:
                    options = replace(options, words=())
                hits = search(library, vector, options)
                top5 += metas[row["image"]] in [h.image_id for h in hits]
            shares.append(top5 / n)
    finally:
        text_search.TEXT_WEIGHT = saved
    print("  top-5 share " + " ".join(f"{s:>6.3f}" for s in shares))


def costs(paths: list[Path], side: int, label: str) -> None:
    """The time the text analyzer takes on a photo, given the picture indexing decodes
    with faces on (the default; where the look finds text, the analyzer decodes the
    file again for its read), and how often its first look found text."""
    analyzer = TextAnalyzer(Settings(text_side=side))
    reader = RapidText(LOOK_SIDE, side)
    shared = max(analyzer.picture_side, face_picture_side(Settings().face_side))
    took = []
    fired = 0
    for path in paths:
        picture = decode(path, max_pixels=MAX_PIXELS, draft_size=shared).image
        fired += reader.looks_like_text(picture)
        start = time.perf_counter()
        analyzer.analyze([analyzer.prepare(Photo(str(path), picture))])
        took.append(time.perf_counter() - start)
    took.sort()
    mean = sum(took) / len(took)
    print(
        f"  {label:<14} {len(took):>4} photos  the look found text in {fired:>3}  "
        f"mean {mean * 1000:5.0f} ms  median {took[len(took) // 2] * 1000:5.0f} ms"
    )


def look_sides(
    photos: Path, plain: list[Path], truth: list[dict[str, str]], sides: list[int]
) -> None:
    """What a smaller or larger first look finds, and what it costs."""
    shared = face_picture_side(Settings().face_side)
    texts = sorted(photos.glob("text_*.jpg"))
    with_big = {r["image"] for r in truth if int(r["height"]) >= 28}
    pictures = {
        p.name: decode(p, max_pixels=MAX_PIXELS, draft_size=shared).image
        for p in [*texts, *plain]
    }
    print("\nThe first look's side (on the picture decoded with faces on):")
    print(
        f"{'side':>6} {'fired, text':>12} {'missed, text >= 28 px':>22} "
        f"{'fired, none':>12} {'ms':>5}"
    )
    for side in sides:
        reader = RapidText(side, Settings().text_side)
        fired = set()
        start = time.perf_counter()
        for name, picture in pictures.items():
            if reader.looks_like_text(picture):
                fired.add(name)
        took = (time.perf_counter() - start) / len(pictures)
        found = len({p.name for p in texts} & fired)
        missed = len(with_big - fired)
        falsely = len({p.name for p in plain} & fired)
        print(
            f"{side:>6} {found:>5} of {len(texts):<4} {missed:>11} of {len(with_big):<8} "
            f"{falsely:>5} of {len(plain):<4} {took * 1000:>5.0f}"
        )


def screenshots(folder: Path, side: int) -> None:
    shots = sorted(p for p in folder.rglob("*.png") if p.stat().st_size > 40_000)
    default = load_text_reader(LOOK_SIDE, side)
    full = load_text_reader(1 << 15, 1 << 15)
    agree = total = fired = 0
    took = 0.0
    for shot in shots:
        picture = decode(shot, max_pixels=MAX_PIXELS).image
        reference = {w for line in full.read(picture) for w in fold(line.text).split()}
        start = time.perf_counter()
        mine = {w for line in default.read(picture) for w in fold(line.text).split()}
        took += time.perf_counter() - start
        fired += bool(mine)
        agree += len(reference & mine)
        total += len(reference)
    print(f"\nScreenshots ({len(shots)}, {folder}):")
    print(f"  read any text: {fired} of {len(shots)}")
    print(
        f"  words of the full-resolution reading also read by default: {agree / total:.3f}"
    )
    print(f"  mean {took / len(shots) * 1000:.0f} ms a screenshot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wallpapers", type=Path)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--plain", type=int, default=40)
    parser.add_argument("--screenshots", type=Path)
    parser.add_argument("--side", type=int, default=Settings().text_side)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    photos = args.work / "photos"
    if not (photos / "truth.csv").exists():
        make(args.wallpapers, photos, args.count, seed=args.seed)
    sources = _backgrounds(args.wallpapers)
    random.Random(args.seed).shuffle(sources)
    plain = _plain_copy(sources, photos, args.plain, 0)
    with (photos / "truth.csv").open() as f:
        truth = list(csv.DictReader(f))

    settings = Settings(
        library=args.work / "library",
        model="demo",
        faces=False,
        text=True,
        text_side=args.side,
        views_aspect=0.0,
    )
    with Library.open(settings, create=True) as library:
        start = time.perf_counter()
        index_folders(
            library,
            [str(photos)],
            analyzers=[ExifAnalyzer(), TextAnalyzer(settings)],
        )
        print(f"indexed {photos} in {time.perf_counter() - start:.0f} s (demo CLIP)")
        reading(library, photos, truth)
        finding(library, truth, least=28)
    print(f"\nCost of reading (2 cores, text side {args.side}):")
    costs(plain, args.side, "without text")
    costs(sorted(photos.glob("text_*.jpg")), args.side, "with text")
    look_sides(photos, plain, truth, [480, 512, 576, 640, 768])
    if args.screenshots is not None:
        screenshots(args.screenshots, args.side)


if __name__ == "__main__":
    main()
