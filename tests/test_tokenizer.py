"""The torch-free tokenizer gives open_clip's tokens, token for token, and imports no torch."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.model.tokenizer import default_tokenizer
from tests.conftest import run_in_fresh_process

PIECES = [
    "a photo of a dog",
    "Two RED circles",
    "it's",
    "they'll",
    "we'd",
    "I'M",
    "don't",
    "café",
    "naïve résumé",
    "日本語のテキスト",
    "東京タワー",
    "Привет, мир",
    "مرحبا",
    "🐶🐱",
    "👩‍👩‍👧",
    "🇫🇷",
    "&amp;",
    "&lt;b&gt;",
    "&amp;amp;",
    "Ã©",  # mojibake that ftfy repairs
    "1234567890",
    "3.14159",
    "#hashtag",
    "@user",
    "e-mail",
    "C++",
    "<start_of_text>",
    "<end_of_text>",
    "\t\n  ",
    "...",
    "!!!???",
    "\u00a0nbsp",
    "Straße",
    "ﬁ ligature",
    "Ω≈ç√∫",
    "x" * 40,
    "antidisestablishmentarianism",
    "supercalifragilisticexpialidocious",
    "z̴̡a̶l̷g̸o",
    "\u200bzero width",
    "tab\tseparated",
    "CamelCaseWords",
    "snake_case_words",
    "https://example.com/a?b=c",
]


def varied_strings(n: int, seed: int = 7) -> list[str]:
    """Random mixes of the pieces above and random code points from many scripts."""
    rng = random.Random(seed)
    ranges = [
        (0x20, 0x7E),
        (0xA0, 0x24F),
        (0x370, 0x3FF),
        (0x400, 0x4FF),
        (0x590, 0x6FF),
        (0x900, 0x97F),
        (0x3040, 0x30FF),
        (0x4E00, 0x4FFF),
        (0xAC00, 0xAD00),
        (0x1F300, 0x1F64F),
        (0x1F900, 0x1F9FF),
    ]
    out = list(PIECES)
    while len(out) < n:
        parts = rng.sample(PIECES, rng.randint(1, 4))
        for _ in range(rng.randint(0, 3)):
            low, high = rng.choice(ranges)
            parts.append(
                "".join(chr(rng.randint(low, high)) for _ in range(rng.randint(1, 8)))
            )
        rng.shuffle(parts)
        out.append(rng.choice([" ", "", "  ", "\n"]).join(parts))
    return out


def test_same_tokens_as_open_clip() -> None:
    import open_clip

    texts = varied_strings(3000)
    ours = default_tokenizer()(texts)
    theirs = open_clip.tokenize(texts).numpy()
    differ = [texts[i] for i in np.flatnonzero((ours != theirs).any(axis=1))]
    assert not differ, differ[:5]


@pytest.mark.parametrize("length", [5, 77])
def test_long_texts_are_cut_with_the_end_token(length: int) -> None:
    import open_clip

    texts = ["word " * 200, "a"]
    ours = default_tokenizer()(texts, context_length=length)
    assert (ours == open_clip.tokenize(texts, context_length=length).numpy()).all()
    assert ours[0, -1] == default_tokenizer().end


def test_tokenizing_imports_no_torch() -> None:
    out, torch = run_in_fresh_process(
        "from retrieval.model.tokenizer import default_tokenizer\n"
        "print(default_tokenizer()(['a photo of a dog'])[0, :3].tolist())"
    )
    assert not torch and out == str([49406, 320, 1125]), out


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F)))
def test_text_that_skips_ftfy_cleans_as_with_ftfy(text: str) -> None:
    """The tokenizer skips ftfy for plain ASCII text; that is only right if the cleaned
    text is what it would have been through ftfy (open_clip's cleaning)."""
    import html

    import ftfy

    from retrieval.model.tokenizer import Tokenizer

    with_ftfy = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    assert Tokenizer.clean(text) == " ".join(with_ftfy.split()).lower()
