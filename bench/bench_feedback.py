"""Relevance feedback on the demo model: Recall@10 of weak queries before and after one
round of marks, as a user would make them on the page.

    python -m bench.bench_feedback [--images 300] [--seed 11]

Generates a fresh demo library (not the training images), asks "a {colour} {shape}", "a
{shape} on a {background} background" and "{count} {shape}s" for every combination, and
counts as relevant the photos that show just that. A query is weak when its first ten answers hold fewer than half of what they
could. For each weak query the simulated user marks the relevant photos among the ten as
good and the others as bad; the query is refined exactly as the page does it (the
sentence, plus the good photos weighing 1 together, minus the bad ones weighing 0.5
together), and Recall@10 is measured again, counting the photos marked good as found.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from indexer.pipeline import index_folders
from photosearch.demo import shapes
from photosearch.demo.run import generate
from retrieval.library import Library
from retrieval.search.search import SearchOptions, search
from retrieval.search.terms import QueryTerm
from retrieval.search.vectors import query_vector
from retrieval.settings import Settings

K = 10


def shows(scene: shapes.Scene, **wanted: object) -> bool:
    return all(getattr(scene, name) == value for name, value in wanted.items())


def queries() -> Iterator[tuple[str, Callable[[shapes.Scene], bool]]]:
    """Sentences and which scenes answer them: colour and shape, shape and background,
    count and shape (the demo model knows the first well, the others less)."""
    for shape in shapes.SHAPES:
        for colour in shapes.COLORS:
            yield f"a {colour} {shape}", partial(shows, shape=shape, color=colour)
        for back in shapes.BACKGROUNDS:
            yield (
                f"a {shape} on a {back} background",
                partial(shows, shape=shape, background=back),
            )
        for count, word in shapes.COUNT_WORDS.items():
            noun = shape if count == 1 else f"{shape}s"
            yield f"{word} {noun}", partial(shows, shape=shape, count=count)


def recall(found: list[int], relevant: set[int]) -> float:
    return len(set(found[:K]) & relevant) / min(K, len(relevant))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-feedback-") as tmp:
        photos = Path(tmp) / "photos"
        made = generate(photos, args.images, seed=args.seed)
        settings = Settings(library=Path(tmp) / "library", model="demo")
        with Library.open(settings, create=True) as library:
            index_folders(library, [str(photos)])
            by_path = {m.path: m.image_id for m in library.store.browse(0, 10**6)}
            scene_of = {by_path[str(p)]: s for p, s in made if str(p) in by_path}
            before, after = [], []
            asked = 0
            for text, wanted in queries():
                relevant = {i for i, s in scene_of.items() if wanted(s)}
                if not relevant:
                    continue
                asked += 1
                vector, _ = query_vector(library, [QueryTerm(1.0, text=text)])
                first = [h.image_id for h in search(library, vector, SearchOptions(K))]
                if recall(first, relevant) >= 0.5:
                    continue
                good = [i for i in first if i in relevant]
                bad = [i for i in first if i not in relevant]
                terms = [QueryTerm(1.0, text=text)]
                terms += [QueryTerm(1 / len(good), image_id=i) for i in good]
                terms += [QueryTerm(-0.5 / len(bad), image_id=i) for i in bad]
                refined, _ = query_vector(library, terms)
                hits = search(library, refined, SearchOptions(K + len(good)))
                rest = [h.image_id for h in hits if h.image_id not in good]
                before.append(recall(first, relevant))
                after.append(recall(good + rest[: K - len(good)], relevant))
    print(f"{asked} queries, {len(before)} weak (Recall@{K} < 0.5)")
    if before:
        print(
            f"weak queries, mean Recall@{K}: {statistics.mean(before):.3f} before, "
            f"{statistics.mean(after):.3f} after one round of feedback "
            f"({sum(a > b for a, b in zip(after, before, strict=True))} improved, "
            f"{sum(a < b for a, b in zip(after, before, strict=True))} worse)"
        )


if __name__ == "__main__":
    main()
