"""Text to image, image to image and image to text search over a library."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.choices import SORTS
from retrieval.errors import DecodeError, NotFoundError, UsageError
from retrieval.library import Library
from retrieval.media.decode import decode
from retrieval.records import FloatArray, IdArray, ImageMeta, SearchHit
from retrieval.search.moments import best_moments
from retrieval.search.pairs import pair_up
from retrieval.search.terms import Box, QueryTerm
from retrieval.vectors import l2_normalize

if TYPE_CHECKING:
    from PIL import Image as PILImage


# Matches re-ordered by date are drawn from at most this many of the best.
SORT_POOL = 2000


@dataclass(frozen=True)
class SearchOptions:
    top: int = 10
    min_score: float | None = None
    under: str | None = None  # only images below this folder
    tag: str | None = None  # only images with this assigned tag
    offset: int = 0  # skip this many of the best (paging)
    taken_after: datetime | None = None  # EXIF date, inclusive; undated images drop out
    taken_before: datetime | None = None  # exclusive
    # "score": best first; "newest" / "oldest": by EXIF date (undated last) among the
    # best matches (all of them above min_score, if given; else the top SORT_POOL).
    sort: str = "score"
    place: str | None = None  # town, region or country (name or code) it was taken in
    near: tuple[float, float, float] | None = None  # latitude, longitude, km
    camera: str | None = None  # camera make, model or lens
    on_day: tuple[int, int] | None = None  # (month, day): taken on it, in any year

    @property
    def narrows(self) -> bool:
        """Whether any filter leaves out images (min_score aside: it needs a query)."""
        return any(
            v is not None and v != ""
            for v in (
                self.under,
                self.tag,
                self.taken_after,
                self.taken_before,
                self.place,
                self.near,
                self.camera,
                self.on_day,
            )
        )

    def __post_init__(self) -> None:
        if self.top < 1:
            raise UsageError(f"-k {self.top}: ask for at least 1 result")
        if self.offset < 0:
            raise UsageError(f"offset {self.offset} must not be negative")
        if self.sort not in SORTS:
            raise UsageError(
                f"unknown sort {self.sort!r}: choose one of {', '.join(SORTS)}"
            )
        if (
            self.taken_after is not None
            and self.taken_before is not None
            and self.taken_after >= self.taken_before
        ):
            raise UsageError(
                f"the date range {self.taken_after:%Y-%m-%d} to "
                f"{self.taken_before:%Y-%m-%d} is empty: put the earlier date first"
            )


@dataclass(frozen=True)
class TextScore:
    text: str
    score: float  # cosine similarity
    probability: float  # softmax over the given texts, at the model's temperature


def absolute(path: Path | str) -> str:
    """The form paths are stored in: absolute, not resolved (a symlinked folder keeps its name)."""
    return os.path.abspath(os.path.expanduser(path))


def image_vector(
    library: Library, path: Path, box: Box | None = None
) -> tuple[FloatArray, int | None]:
    """The vector of an image file (or of the region `box` of it), and its library id if
    it is a library image (whose stored vector is used, without encoding, for the whole
    picture)."""
    meta = library.store.meta_by_path(absolute(path))
    known = meta.image_id if meta is not None and meta.status == "ok" else None
    if known is not None and box is None:
        return library_vector(library, known), known
    try:
        decoded = decode(path, max_pixels=library.settings.max_pixels)
    except DecodeError as exc:
        raise UsageError(f"cannot use {path} as a query image: {exc}") from None
    picture = crop(decoded.image, box) if box is not None else decoded.image
    return library.encoder.encode_images([picture])[0], known


def crop(image: PILImage.Image, box: Box) -> PILImage.Image:
    """The region `box` of an upright picture (pixels, or fractions when all are <= 1),
    clipped to the picture; UsageError if nothing of it is inside."""
    x, y, w, h = box
    if max(box) <= 1.0:
        x, w = x * image.width, w * image.width
        y, h = y * image.height, h * image.height
    left, top = max(0, round(x)), max(0, round(y))
    right, bottom = min(image.width, round(x + w)), min(image.height, round(y + h))
    if right - left < 1 or bottom - top < 1:
        raise UsageError(
            f"the region {box} is outside the {image.width}x{image.height} picture"
        )
    return image.crop((left, top, right, bottom))


def library_vector(library: Library, image_id: int) -> FloatArray:
    """The stored vector of a library image."""
    library.store.indexed(image_id)
    return library.store.vectors([image_id], library.model.dim)[0]


def upload_vector(library: Library, data: bytes, box: Box | None = None) -> FloatArray:
    """The vector of an image sent as bytes (or of its region `box`), decoded with the
    same guards as indexing."""
    try:
        decoded = decode(io.BytesIO(data), max_pixels=library.settings.max_pixels)
    except DecodeError as exc:
        raise DecodeError(f"the uploaded file cannot be used: {exc}") from None
    picture = crop(decoded.image, box) if box is not None else decoded.image
    return library.encoder.encode_images([picture])[0]


def term_vector(library: Library, term: QueryTerm) -> tuple[FloatArray, int | None]:
    """An image term's vector, and the library id it came from, if any."""
    if term.image_id is not None:
        if term.box is None:
            return library_vector(library, term.image_id), term.image_id
        meta = library.store.indexed(term.image_id)
        vector, _ = image_vector(library, Path(meta.path), term.box)
        return vector, term.image_id
    if term.upload is not None:
        return upload_vector(library, term.upload, term.box), None
    if term.image is not None:
        return image_vector(library, term.image, term.box)
    raise UsageError(f"{term.text!r} is a text, not an image")


def query_vector(
    library: Library, terms: Sequence[QueryTerm]
) -> tuple[FloatArray, set[int]]:
    """The weighted sum of the terms' vectors, re-normalised; and the library ids of the
    query images (so that "similar" does not answer with the query itself)."""
    if not terms:
        raise UsageError("empty query: give a sentence or an image")
    total = np.zeros(library.model.dim, dtype=np.float32)
    texts = [t for t in terms if t.text is not None]
    if texts:
        vectors = library.encoder.encode_texts(
            [t.text for t in texts if t.text is not None]
        )
        for term, vector in zip(texts, vectors, strict=True):
            total += term.weight * vector
    query_ids: set[int] = set()
    for term in terms:
        if term.text is None:
            vector, image_id = term_vector(library, term)
            total += term.weight * vector
            if image_id is not None and term.weight > 0:
                query_ids.add(image_id)
    if float(np.linalg.norm(total)) < 1e-6:
        raise UsageError("the query terms cancel out: change their weights")
    return l2_normalize(total[None, :])[0], query_ids


def search(
    library: Library,
    vector: FloatArray,
    options: SearchOptions,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[SearchHit]:
    """The `options.top` library images closest to `vector`, best first, after skipping
    `options.offset` of them."""
    allowed = allowed_ids(library, options)
    skip = options.offset
    # Twice as many: the files of one shot become one result (retrieval.search.pairs).
    wanted = 2 * (skip + options.top)
    if options.sort != "score":
        wanted = max(wanted, SORT_POOL)
    scores, ids = library.search_index(vector, wanted + len(exclude), allowed)
    pairs = [
        (int(i), float(s))
        for s, i in zip(scores[0], ids[0], strict=True)
        if i >= 0 and int(i) not in exclude
    ]
    if options.min_score is not None:
        pairs = [(i, s) for i, s in pairs if s >= options.min_score]
    meta = library.store.meta([i for i, _ in pairs])
    if options.sort != "score":
        pairs = by_date(pairs, meta, newest=options.sort == "newest")
    hits = [
        SearchHit(i, meta[i].path, s, kind=meta[i].kind) for i, s in pairs if i in meta
    ]
    shown = pair_up(library.store, hits, skip + options.top, exclude)[skip:]
    return [with_moments(library, hit, vector) for hit in shown]


def with_moments(library: Library, hit: SearchHit, query: FloatArray) -> SearchHit:
    """A video's hit (or a Live Photo's, through its motion part) with the moments that
    match the query best."""
    video = hit.video_id
    if video is None:
        return hit
    try:
        times, vectors = library.store.moments(video, library.model.dim)
    except NotFoundError:
        return hit  # changed or gone since the search: shown without its moments
    return replace(hit, moments=best_moments(times, vectors, query))


FILTERS_HINT = (
    "--place, --near, --camera, --after, --before, --in or --tag"  # the CLI's names
)


def browse(library: Library, options: SearchOptions) -> list[ImageMeta]:
    """No query, only filters: the images they leave, by EXIF date (newest first unless
    `options.sort` is "oldest"; undated ones last, by path), one page of them."""
    allowed = allowed_ids(library, options)
    if allowed is None:
        raise UsageError(
            "empty query: describe what to find (photosearch search 'a red car'), or "
            f"list photos by filters alone with {FILTERS_HINT}"
        )
    # The filters leave searchable images only: indexed, with a vector, not trashed.
    metas = list(library.store.meta(allowed.tolist()).values())
    oldest = options.sort == "oldest"
    dated = sorted(
        (m for m in metas if m.taken_at is not None),
        key=lambda m: (m.taken_at or datetime.min, m.path),
        reverse=not oldest,
    )
    undated = sorted((m for m in metas if m.taken_at is None), key=lambda m: m.path)
    return (dated + undated)[options.offset : options.offset + options.top]


def by_date(
    pairs: list[tuple[int, float]], meta: dict[int, ImageMeta], *, newest: bool
) -> list[tuple[int, float]]:
    """(id, score) pairs ordered by EXIF date, undated ones last (by score)."""
    dated = [p for p in pairs if p[0] in meta and meta[p[0]].taken_at is not None]
    undated = [p for p in pairs if p[0] in meta and meta[p[0]].taken_at is None]
    dated.sort(key=lambda p: meta[p[0]].taken_at or datetime.min, reverse=newest)
    return dated + undated


def allowed_ids(library: Library, options: SearchOptions) -> IdArray | None:
    """The ids the filters leave (None: no filter, every image)."""
    allowed: IdArray | None = None

    def narrow(ids: IdArray) -> None:
        nonlocal allowed
        allowed = ids if allowed is None else np.intersect1d(allowed, ids)

    if options.under is not None:
        narrow(library.store.ids_under(absolute(options.under)))
    if options.tag is not None:
        narrow(library.store.ids_tagged(options.tag))
    if options.taken_after is not None or options.taken_before is not None:
        narrow(library.store.ids_taken(options.taken_after, options.taken_before))
    if options.place:
        narrow(library.store.ids_in_place(options.place))
    if options.near is not None:
        narrow(library.store.ids_near(*options.near))
    if options.camera:
        narrow(library.store.ids_by_camera(options.camera))
    if options.on_day is not None:
        narrow(library.store.ids_on_day(*options.on_day))
    return allowed


def rank_texts(
    library: Library, vector: FloatArray, texts: Sequence[str]
) -> list[TextScore]:
    """Image to text: the given texts, best match first for the image whose vector this is."""
    texts = [t.strip() for t in texts]
    if not texts or any(not t for t in texts):
        raise UsageError(
            "give at least one non-empty text to rank (--text T or --texts FILE)"
        )
    text_vectors = library.encoder.encode_texts(texts)
    cosines = text_vectors @ vector
    logits = library.encoder.logit_scale * cosines
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    order = np.argsort(-cosines, kind="stable")
    return [
        TextScore(texts[i], float(cosines[i]), float(probabilities[i])) for i in order
    ]
