"""Text as it is matched: folded, so that a search finds what OCR read whatever its case,
accents or typical slips; and the words a search asks for.

Both sides are folded the same way (what is stored and what is asked), so folding only
ever makes more match: "Café" finds "CAFE", "wifi" finds "WlFl", "42.50" finds "42.5O".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from retrieval.errors import UsageError

# OCR's usual slips in printed text: O for 0, l and I for 1 (and a pipe for any of them).
# I folds to i first (casefold), so i joins l and 1.
_SLIPS = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "\u2019": "'"})
# Japanese voiced marks are letters' parts, not accents: が is not か.
_KEPT_MARKS = {"\u3099", "\u309a"}
_CJK_RANGES = (
    ("\u3040", "\u30ff"),  # kana
    ("\u3400", "\u9fff"),  # CJK ideographs
    ("\uac00", "\ud7af"),  # Hangul syllables
    ("\uf900", "\ufaff"),
)
_CJK_CLASS = "".join(f"{lo}-{hi}" for lo, hi in _CJK_RANGES)
_CJK_GAP = re.compile(f"(?<=[{_CJK_CLASS}]) (?=[{_CJK_CLASS}])")
# Words of a sentence that say nothing about the text a photo shows.
_STOP = (
    "a an the of in on at to for from by with and or but is are was were be it its "
    "this that these those my our your their his her photo photos picture pictures "
    "image images shot showing shows show says saying written sign text word words "
    "me us we you they there here some any"
)
STOPWORDS = frozenset(_STOP.split())


def fold(text: str) -> str:
    """Lower case, without accents, OCR's slips merged, width forms (full-width Latin)
    made plain, runs of white space made one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(
        ch for ch in decomposed if not unicodedata.combining(ch) or ch in _KEPT_MARKS
    )
    plain = unicodedata.normalize("NFC", kept).translate(_SLIPS)
    spaced = " ".join(plain.split())
    # Chinese and Japanese put no spaces between words: a reader's space there (or a
    # user's) means nothing.
    return _CJK_GAP.sub("", spaced)


def is_cjk(text: str) -> bool:
    return any(lo <= ch <= hi for ch in text for lo, hi in _CJK_RANGES)


@dataclass(frozen=True)
class Contains:
    """What `--contains` asks: each of `terms` (folded words, or phrases in order) is
    somewhere in the photo's text."""

    terms: tuple[str, ...]
    written: str  # as the user wrote it, for messages

    def found_in(self, folded: str) -> bool:
        return all(term in folded for term in self.terms)


_TERM = re.compile(r'"([^"]*)"|(\S+)')


def parse_contains(raw: str, name: str = "--contains") -> Contains:
    """Words (all of them, any order) and "quoted phrases" (in that order)."""
    terms: list[str] = []
    for phrase, word in _TERM.findall(raw):
        written = (phrase or word).replace('"', " ")
        # A lone accent or other mark folds to nothing: it is kept as written (and
        # matches nothing), rather than taken for no words at all.
        folded = fold(written) or written.strip().casefold()
        if folded and folded not in terms:
            terms.append(folded)
    if not terms:
        raise UsageError(
            f"{name} {raw!r}: give the words to find, e.g. {name} 'wifi password' "
            f"(or a phrase in quotes: {name} '\"total 42.50\"')"
        )
    if len(terms) > 20:
        raise UsageError(f"{name}: at most 20 words or phrases, not {len(terms)}")
    return Contains(tuple(terms), raw.strip())


def sentence_words(sentence: str) -> tuple[str, ...]:
    """The words of a search sentence that text in a photo could show: folded, without
    the words that describe a photo rather than its text ("a photo of", "the"); words
    of one or two letters only in CJK (where two characters are a word)."""
    words: list[str] = []
    for raw in re.findall(r"[\w.,:/@#€$£%+-]+", sentence):
        stripped = raw.strip(".,:")
        if not stripped or stripped.casefold() in STOPWORDS:
            continue
        if len(stripped) < 3 and not is_cjk(stripped):
            continue
        folded = fold(stripped)
        if folded and folded not in words:
            words.append(folded)
    return tuple(words)
