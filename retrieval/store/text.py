"""Text read in photos (the text_lines and image_texts tables): written with a photo's
batch by the text analyzer, matched by substring for `--contains` and for a sentence's
words (retrieval.text.search), read back for a photo's text and a hit's matching line.

Matching runs on each photo's folded text (retrieval.text.fold): the lines read in it,
then its title, description and keywords from other programs (retrieval.store.metadata),
through the trigram
index migration 0011 built where it could (SQLite's FTS5, PostgreSQL's pg_trgm), else
by scanning: the same answers either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from retrieval.metadata.model import LEVEL
from retrieval.records import IdArray
from retrieval.store import text_sql
from retrieval.store.base import LIVE, StoreBase, chunks
from retrieval.store.models import (
    STATUS_OK,
    Image,
    ImageKeyword,
    ImageMetadata,
    ImageText,
    TextLineRow,
)
from retrieval.text.fold import Contains, fold
from retrieval.text.model import TEXT_MODEL, TextLine


def photo_text(lines: Iterable[str]) -> str:
    """A photo's text as it is matched: its lines in reading order, folded, one space
    between them (a phrase may run from one line onto the next)."""
    return fold(" ".join(lines))


def refresh_texts(s: Session, ids: Sequence[int]) -> None:
    """In the caller's transaction: these images' searchable text made again from what
    was read in them and what other programs wrote of them (title, description,
    keywords: retrieval.store.metadata), which is matched alike."""
    for chunk in chunks(sorted(set(ids))):
        s.execute(delete(ImageText).where(ImageText.image_id.in_(chunk)))
        said: dict[int, list[str]] = {}
        for image_id, line in s.execute(
            select(TextLineRow.image_id, TextLineRow.text)
            .where(TextLineRow.image_id.in_(chunk))
            .order_by(TextLineRow.image_id, TextLineRow.line)
        ):
            said.setdefault(image_id, []).append(line)
        for image_id, title, description in s.execute(
            select(
                ImageMetadata.image_id, ImageMetadata.title, ImageMetadata.description
            ).where(ImageMetadata.image_id.in_(chunk))
        ):
            said.setdefault(image_id, []).extend(t for t in (title, description) if t)
        for image_id, keyword in s.execute(
            select(ImageKeyword.image_id, ImageKeyword.keyword)
            .where(ImageKeyword.image_id.in_(chunk))
            .order_by(ImageKeyword.id)
        ):
            said.setdefault(image_id, []).append(keyword.replace(LEVEL, " "))
        texts = [
            {"image_id": image_id, "folded": photo_text(lines)}
            for image_id, lines in said.items()
            if photo_text(lines)
        ]
        if texts:
            s.execute(insert(ImageText), texts)


def replace_text(
    s: Session, rows: Sequence[tuple[int, Sequence[TextLine] | None]]
) -> None:
    """In the caller's transaction: these images' text replaced (None or []: none)."""
    ids = [i for i, _ in rows]
    for chunk in chunks(ids):
        s.execute(delete(TextLineRow).where(TextLineRow.image_id.in_(chunk)))
    lines = [
        {
            "image_id": image_id,
            "t": line.t,
            "line": n,
            "text": line.text,
            "confidence": line.confidence,
            "quad": json.dumps([[round(x, 5), round(y, 5)] for x, y in line.quad]),
            "model": TEXT_MODEL,
        }
        for image_id, read in rows
        for n, line in enumerate(read or ())
    ]
    if lines:
        s.execute(insert(TextLineRow), lines)
    refresh_texts(s, ids)


class TextMixin(StoreBase):
    _fts: bool | None = None

    def _has_fts(self, s: Session) -> bool:
        if self._fts is None:
            self._fts = self.engine.dialect.name == "sqlite" and bool(
                s.execute(text(text_sql.HAS_FTS)).first()
            )
        return self._fts

    def text_of(self, ids: Iterable[int]) -> dict[int, list[TextLine]]:
        """The lines read in these images, in reading order (a video's by moment)."""
        found: dict[int, list[TextLine]] = {}
        with self.session() as s:
            for chunk in chunks(sorted({int(i) for i in ids})):
                rows = s.execute(
                    select(
                        TextLineRow.image_id,
                        TextLineRow.text,
                        TextLineRow.confidence,
                        TextLineRow.quad,
                        TextLineRow.t,
                    )
                    .where(TextLineRow.image_id.in_(chunk))
                    .order_by(TextLineRow.image_id, TextLineRow.line)
                )
                for image_id, said, confidence, quad, t in rows:
                    line = text_sql.line_of(said, confidence, quad, t)
                    found.setdefault(image_id, []).append(line)
        return found

    def _matching(self, s: Session, terms: Sequence[str]) -> set[int]:
        """The searchable images whose folded text holds every one of `terms`."""
        if self.engine.dialect.name == "sqlite":
            sql, params = text_sql.matching(terms, self._has_fts(s))
            return {int(i) for i in s.execute(text(sql), params).scalars()}
        # Elsewhere LIKE, which pg_trgm's index serves (migration 0011).
        query = select(ImageText.image_id).join(Image, Image.id == ImageText.image_id)
        query = query.where(Image.status == STATUS_OK, LIVE)
        for term in terms:
            query = query.where(ImageText.folded.contains(term, autoescape=True))
        return {int(i) for i in s.scalars(query)}

    def ids_containing(self, contains: Contains) -> IdArray:
        """The searchable images whose text holds all of what `contains` asks."""
        with self.session() as s:
            ids = self._matching(s, contains.terms)
        return np.array(sorted(ids), dtype=np.int64)

    def ids_with_words(self, words: Sequence[str], least: int) -> dict[int, int]:
        """The searchable images whose text holds at least `least` of `words`, with how
        many it holds."""
        with self.session() as s:
            if self.engine.dialect.name == "sqlite":
                fts = self._has_fts(s)
                return text_sql.words_held(
                    lambda sql, params: s.execute(text(sql), params),
                    words,
                    least,
                    fts,
                )
            held: dict[int, int] = {}
            for word in words:
                for image_id in self._matching(s, [word]):
                    held[image_id] = held.get(image_id, 0) + 1
        return {i: n for i, n in held.items() if n >= least}

    def folded_text(self, ids: Iterable[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        with self.session() as s:
            for chunk in chunks(sorted({int(i) for i in ids})):
                rows = s.execute(
                    select(ImageText.image_id, ImageText.folded).where(
                        ImageText.image_id.in_(chunk)
                    )
                )
                found.update((int(i), str(f)) for i, f in rows)
        return found

    def text_counts(self) -> tuple[int, int]:
        """Photos with any text read, and lines read."""
        with self.session() as s:
            photos = s.scalar(select(func.count()).select_from(ImageText)) or 0
            lines = s.scalar(select(func.count()).select_from(TextLineRow)) or 0
        return int(photos), int(lines)
