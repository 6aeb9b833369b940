"""Finding photos by the words they show: a sentence's words ranked against the photos'
text and fused with CLIP's ranking, and the line of a hit that matched.

A plain sentence is searched both ways, so that nobody needs to know which to ask for:
CLIP ranks the photos by what they show, the text by how many of the sentence's words
(retrieval.text.fold.sentence_words) each photo's text holds, and reciprocal rank
fusion merges the two (data/text/EVAL.md measures the weight). A sentence whose words
no photo shows leaves CLIP's ranking as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from retrieval.errors import DecodeError, LibraryError, UsageError
from retrieval.media.decode import decode
from retrieval.search.filters import absolute
from retrieval.text.fold import fold
from retrieval.text.model import TEXT_ANALYZER, TextLine, load_text_reader
from retrieval.text.rapid import LOOK_SIDE

if TYPE_CHECKING:
    from pathlib import Path

    from retrieval.library import Library
    from retrieval.records import FloatArray, IdArray
    from retrieval.settings import Settings

# Reciprocal rank fusion: each ranking adds weight / (RRF_K + rank). 60 is the constant
# of the method's authors; the text's weight was chosen by measurement.
RRF_K = 60
TEXT_WEIGHT = 1.0
# The photos whose text holds the words taken into the fusion, the best first.
WORDS_POOL = 200


def least_words(count: int) -> int:
    """How many of a sentence's `count` words a photo's text must hold to count: all of
    one or two, all but one of more (OCR misreads a word now and then)."""
    return count if count <= 2 else count - 1


def ranked_by_words(
    library: Library, words: Sequence[str], allowed: IdArray | None
) -> list[int]:
    """The searchable photos whose text holds the words: most words first, then those
    that hold them in the sentence's order."""
    if not words:
        return []
    held = library.store.ids_with_words(words, least_words(len(words)))
    if allowed is not None:
        keep = set(allowed.tolist())
        held = {i: n for i, n in held.items() if i in keep}
    if not held:
        return []
    best = sorted(held, key=lambda i: (-held[i], i))[: 4 * WORDS_POOL]
    phrase = " ".join(words)
    folded = library.store.folded_text(best)
    best.sort(key=lambda i: (-held[i], phrase not in folded.get(i, ""), i))
    return best[:WORDS_POOL]


def fuse(
    library: Library,
    vector: FloatArray,
    pairs: list[tuple[int, float]],
    words: Sequence[str],
    allowed: IdArray | None,
    exclude: Iterable[int] = (),
) -> list[tuple[int, float]]:
    """CLIP's (id, score) pairs merged with the photos ranked by the words, in fused
    order; a photo only the words found carries its own CLIP score."""
    skip = set(exclude)
    by_words = [i for i in ranked_by_words(library, words, allowed) if i not in skip]
    if not by_words:
        return pairs
    scores = dict(pairs)
    missing = [i for i in by_words if i not in scores]
    if missing:
        found, vectors = library.store.vectors_found(missing, library.model.dim)
        for image_id, score in zip(found.tolist(), vectors @ vector, strict=True):
            scores[int(image_id)] = float(score)
        by_words = [i for i in by_words if i in scores]
    fused: dict[int, float] = {}
    for rank, (image_id, _) in enumerate(pairs):
        fused[image_id] = 1.0 / (RRF_K + rank + 1)
    for rank, image_id in enumerate(by_words):
        fused[image_id] = fused.get(image_id, 0.0) + TEXT_WEIGHT / (RRF_K + rank + 1)
    order = sorted(fused, key=lambda i: (-fused[i], -scores[i]))
    return [(i, scores[i]) for i in order]


def matched_line(lines: Sequence[TextLine], terms: Sequence[str]) -> TextLine | None:
    """The line that holds most of `terms` (folded words or phrases), the first such;
    None when none holds any."""
    best: TextLine | None = None
    most = 0
    for line in lines:
        folded = fold(line.text)
        held = sum(1 for term in terms if term in folded)
        if held > most:
            best, most = line, held
    return best


@dataclass(frozen=True)
class Matched:
    """What a hit shows of the text that matched: a line read in the photo with its box
    (left, top, right, bottom), or its title, description or keyword (no box)."""

    text: str
    box: tuple[float, float, float, float] | None


def matched_lines(
    library: Library, ids: Sequence[int], terms: Sequence[str]
) -> dict[int, Matched]:
    """For each of these images whose text holds any of `terms`: its best line read,
    else the title, description or keyword another program gave it that holds most."""
    if not terms or not ids:
        return {}
    found: dict[int, Matched] = {}
    for image_id, lines in library.store.text_of(ids).items():
        line = matched_line(lines, terms)
        if line is not None:
            found[image_id] = Matched(line.text, line.box())
    rest = [i for i in ids if i not in found]
    for image_id, said in library.store.captions_of(rest).items() if rest else ():
        best = max(said, key=lambda t: sum(term in fold(t) for term in terms))
        if any(term in fold(best) for term in terms):
            found[image_id] = Matched(best, None)
    return found


def text_of_file(settings: Settings, path: Path) -> list[TextLine]:
    """The text of an image file: a library photo's as it was read when indexed (when
    the text analyzer has looked at it), any other file's read now, as the analyzer
    reads a photo (indexer.analyzers.text)."""
    from retrieval.store import open_store

    try:
        store = open_store(settings)
    except LibraryError:
        store = None  # no library: the file is read
    if store is not None:
        with store:
            meta = store.meta_by_path(absolute(str(path)))
            if meta is not None and store.analysed(meta.image_id, TEXT_ANALYZER):
                return store.text_of([meta.image_id]).get(meta.image_id, [])
    try:
        decoded = decode(
            path,
            max_pixels=settings.max_pixels,
            draft_size=settings.text_side * 3 // 4,
        )
    except DecodeError as exc:
        raise UsageError(f"cannot read text in {path}: {exc}") from None
    return load_text_reader(LOOK_SIDE, settings.text_side).read(decoded.image)
