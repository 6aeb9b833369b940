"""The SQL that matches photos' text on SQLite, in one place for the store (through
SQLAlchemy) and the quick reader (sqlite3 alone, for cold queries: retrieval.store.quick).
Standard library only.

A term is matched by `instr` on the folded text (exact: both sides are folded,
retrieval.text.fold); where the library has FTS5 (migration 0011), its trigram index
narrows the photos first for terms of at least three characters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from retrieval.text.model import TextLine

# Trigram indexes find substrings of at least three characters; shorter ones (a
# two-character Chinese word) are matched by scanning.
TRIGRAM = 3

HAS_FTS = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'text_search'"


def _glob(term: str) -> str:
    """An FTS5 GLOB pattern for a substring (GLOB is exact, as the folded text is)."""
    escaped = "".join(f"[{ch}]" if ch in "*?[" else ch for ch in term)
    return f"*{escaped}*"


def matching(terms: Sequence[str], fts: bool) -> tuple[str, dict[str, Any]]:
    """A query for the searchable images whose folded text holds all of `terms`, with
    its named parameters."""
    params: dict[str, Any] = {}
    where = ["i.status = 'ok'", "i.trashed_at IS NULL"]
    for n, term in enumerate(terms):
        params[f"t{n}"] = term
        where.append(f"instr(x.folded, :t{n}) > 0")
    indexed = [t for t in terms if len(t) >= TRIGRAM]
    if fts and indexed:
        globs = []
        for n, term in enumerate(indexed):
            params[f"g{n}"] = _glob(term)
            globs.append(f"folded GLOB :g{n}")
        where.append(
            f"x.image_id IN (SELECT rowid FROM text_search WHERE {' AND '.join(globs)})"
        )
    sql = (
        "SELECT x.image_id FROM image_texts x JOIN images i ON i.id = x.image_id "
        f"WHERE {' AND '.join(where)}"
    )
    return sql, params


def lines_sql(count: int) -> str:
    """The lines of `count` images (qmark parameters), in reading order."""
    marks = ",".join("?" * count)
    return (
        "SELECT image_id, text, confidence, quad, t FROM text_lines "
        f"WHERE image_id IN ({marks}) ORDER BY image_id, line"
    )


def folded_sql(count: int) -> str:
    marks = ",".join("?" * count)
    return f"SELECT image_id, folded FROM image_texts WHERE image_id IN ({marks})"


def captions_sql(count: int) -> str:
    """The titles, descriptions and keywords of `count` images (qmark parameters, the
    ids given three times): (image, text, "title" | "description" | "keyword")."""
    marks = ",".join("?" * count)
    return (
        "SELECT image_id, title, 'title' FROM image_metadata "
        f"WHERE image_id IN ({marks}) AND title IS NOT NULL UNION ALL "
        "SELECT image_id, description, 'description' FROM image_metadata "
        f"WHERE image_id IN ({marks}) AND description IS NOT NULL UNION ALL "
        "SELECT image_id, keyword, 'keyword' FROM image_keywords "
        f"WHERE image_id IN ({marks})"
    )


def captions(rows: Iterable[tuple[Any, ...]]) -> dict[int, list[str]]:
    """captions_sql's rows as each image's texts, a keyword by its last level."""
    found: dict[int, list[str]] = {}
    for image_id, said, kind in rows:
        if said:
            shown = str(said).split("|")[-1] if kind == "keyword" else str(said)
            found.setdefault(int(image_id), []).append(shown)
    return found


def line_of(text: str, confidence: float, quad: str, t: float | None) -> TextLine:
    """A stored line as a TextLine (its quad is JSON: four [x, y] corners)."""
    corners = json.loads(quad)
    return TextLine(
        text,
        float(confidence),
        tuple((float(x), float(y)) for x, y in corners),  # type: ignore[arg-type]
        t,
    )


def words_held(
    run: Callable[[str, dict[str, Any]], Iterable[tuple[Any, ...]]],
    words: Sequence[str],
    least: int,
    fts: bool,
) -> dict[int, int]:
    """The searchable images whose text holds at least `least` of `words`, with how
    many it holds; `run` executes a query with named parameters."""
    held: dict[int, int] = {}
    for word in words:
        sql, params = matching([word], fts)
        for (image_id,) in run(sql, params):
            held[int(image_id)] = held.get(int(image_id), 0) + 1
    return {i: n for i, n in held.items() if n >= least}
