"""CLIP's byte-level BPE tokenizer without torch: the same vocabulary file and rules as
open_clip's default tokenizer (tests/test_tokenizer.py proves them token for token equal on
thousands of strings), for a query path that must not pay torch's import. It stands for
the tokenizer of models whose config names no Hugging Face tokenizer and no other text
cleaning (OpenAI CLIP, most LAION models, the demo model); SigLIP-style models bring their
own.

The vocabulary is the one open_clip ships; it is found through the package's location
without importing the package (whose __init__ imports torch).
"""

from __future__ import annotations

import gzip
import html
import importlib.util
import itertools
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import regex

from retrieval.errors import ModelError

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
# Merges the vocabulary file holds beyond what CLIP uses: its first line is a header, and
# CLIP's 49,408 ids are 2 x 256 byte symbols, 48,894 merges and two special tokens.
MERGES = 49152 - 256 - 2
START, END = "<start_of_text>", "<end_of_text>"
CONTEXT_LENGTH = 77
# Text that ftfy.fix_text returns unchanged: printable ASCII and ordinary whitespace, no
# '&' (ftfy would undo an HTML entity once more than the two unescapes below).
_PLAIN = regex.compile(r"[\x20-\x25\x27-\x7e\t\n\r]*")


def byte_table() -> dict[int, str]:
    """One printable character per byte value: the printable Latin-1 bytes stand for
    themselves, the others for characters from U+0100 up, in byte order. The table's order
    (those printable bytes first) is the order of the first ids."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in printable}
    others = [b for b in range(256) if b not in table]
    table.update({b: chr(256 + n) for n, b in enumerate(others)})
    return table


def vocabulary_path() -> Path:
    spec = importlib.util.find_spec("open_clip")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / VOCAB_FILE
        if path.is_file():
            return path
    raise ModelError(
        f"open_clip's tokenizer vocabulary ({VOCAB_FILE}) is missing: reinstall "
        "open_clip_torch"
    )


class Tokenizer:
    def __init__(self, path: Path) -> None:
        # Only the first fifth of the file is CLIP's merges: read no further (a cold
        # query's tokenizer loads in a third of the time).
        lines: list[str] = []
        with gzip.open(path, "rt", encoding="utf-8", newline="\n") as f:
            f.readline()  # the header
            for line in f:
                lines.append(line.rstrip("\n"))
                if len(lines) == MERGES:
                    break
        self.byte_symbol = byte_table()
        symbols = list(self.byte_symbol.values())
        tokens = symbols + [s + "</w>" for s in symbols]
        # A merge is kept as its line, "left right": symbols never hold a space (the
        # byte table maps it to another character), so the line names the pair.
        tokens += [line.replace(" ", "") for line in lines] + [START, END]
        self.ids = {token: i for i, token in enumerate(tokens)}
        self.rank = {line: i for i, line in enumerate(lines)}
        self.start, self.end = self.ids[START], self.ids[END]
        self.pattern = regex.compile(
            rf"{START}|{END}|'s|'t|'re|'ve|'m|'ll|'d|[\p{{L}}]+|[\p{{N}}]|[^\s\p{{L}}\p{{N}}]+",
            regex.IGNORECASE,
        )
        self._words: dict[str, list[int]] = {}

    @staticmethod
    def clean(text: str) -> str:
        """Mojibake fixed, HTML entities undone (twice), whitespace collapsed, lowercase."""
        # Printable ASCII without '&' is what ftfy leaves as it is (its fixes are for
        # non-ASCII text, control characters and entities): most queries skip its
        # import, a tenth of a cold query's budget.
        if not _PLAIN.fullmatch(text):
            import ftfy

            text = ftfy.fix_text(text)
        text = html.unescape(html.unescape(text)).strip()
        return " ".join(text.split()).lower()

    def _word(self, word: str) -> list[int]:
        """The ids of one pre-split word: its bytes as symbols, the last one marked as the
        word's end, then the lowest-ranked adjacent pair merged everywhere until no pair
        is in the merge table."""
        if word in (START, END):
            return [self.ids[word]]
        known = self._words.get(word)
        if known is not None:
            return known
        symbols = [self.byte_symbol[b] for b in word.encode("utf-8")]
        symbols[-1] += "</w>"
        while len(symbols) > 1:
            ranks = [
                self.rank.get(f"{a} {b}", -1) for a, b in itertools.pairwise(symbols)
            ]
            found = [r for r in ranks if r >= 0]
            if not found:
                break
            best = min(found)
            merged: list[str] = []
            i = 0
            while i < len(symbols):
                # ranks[i] is the pair starting at i; after a merge, i skips past it.
                if i + 1 < len(symbols) and ranks[i] == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        ids = [self.ids[s] for s in symbols]
        self._words[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """The text's ids, without the start and end tokens."""
        return [
            i
            for word in self.pattern.findall(self.clean(text))
            for i in self._word(word)
        ]

    def __call__(
        self, texts: Sequence[str], context_length: int = CONTEXT_LENGTH
    ) -> np.ndarray:
        """One row per text: start, ids, end, zeros; cut to `context_length` with the end
        token last, as open_clip.tokenize does."""
        out = np.zeros((len(texts), context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.start, *self.encode(text), self.end]
            if len(ids) > context_length:
                ids = ids[:context_length]
                ids[-1] = self.end
            out[row, : len(ids)] = ids
        return out


@cache
def default_tokenizer() -> Tokenizer:
    return Tokenizer(vocabulary_path())
