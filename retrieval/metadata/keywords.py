"""Keywords as they are matched: folded (case and accents), a hierarchy's levels kept
apart, so that `Lisbon` finds `Places|Portugal|Lisbon` and `places|portugal` finds it
too, but `Lis` finds neither."""

from __future__ import annotations

import unicodedata

from retrieval.metadata.model import LEVEL


def fold_keyword(keyword: str) -> str:
    decomposed = unicodedata.normalize("NFKD", keyword.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    levels = (" ".join(level.split()) for level in plain.split(LEVEL))
    return LEVEL.join(level for level in levels if level)


def keyword_patterns(asked: str) -> tuple[str, tuple[str, str, str]]:
    """What a stored folded keyword equals, or is LIKE, to hold `asked` as whole levels
    (LIKE's wildcards in `asked` escaped with backslash)."""
    folded = fold_keyword(asked)
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return folded, (
        f"{escaped}{LEVEL}%",
        f"%{LEVEL}{escaped}",
        f"%{LEVEL}{escaped}{LEVEL}%",
    )


def leaves(keywords: tuple[str, ...] | list[str]) -> list[str]:
    """Keywords as people read them: each one's last level, once."""
    return list(dict.fromkeys(k.split(LEVEL)[-1] for k in keywords if k))
