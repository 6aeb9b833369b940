"""A query as one vector: sentences and images (files, library photos, uploads, or a
region of one), each weighted, summed and re-normalised."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.errors import DecodeError, UsageError
from retrieval.library import Library
from retrieval.media.decode import decode
from retrieval.records import FloatArray
from retrieval.search.filters import absolute
from retrieval.search.terms import Box, QueryTerm
from retrieval.vectors import l2_normalize

if TYPE_CHECKING:
    from PIL import Image as PILImage


def image_vector(
    library: Library, path: Path, box: Box | None = None
) -> tuple[FloatArray, int | None]:
    """The vector of an image file (or of the region `box` of it), and its library id if
    it is a library image (whose stored vector is used, without encoding, for the whole
    picture)."""
    meta = library.store.meta_by_path(absolute(str(path)))
    known = meta.image_id if meta is not None and meta.status == "ok" else None
    if known is not None and box is None:
        return library_vector(library, known), known
    try:
        # The whole picture decoded as indexing decodes it: a copy of a library photo
        # gets the photo's very vector. A region keeps every pixel.
        decoded = decode(
            path,
            max_pixels=library.settings.max_pixels,
            draft_size=library.encoder.image_size if box is None else None,
        )
    except DecodeError as exc:
        raise UsageError(f"cannot use {path} as a query image: {exc}") from None
    if box is not None:
        return library.encoder.encode_images([crop(decoded.image, box)])[0], known
    return picture_vector(library, decoded.image), known


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
            f"box {box} is outside the {image.width}x{image.height} picture: "
            "give a region that overlaps it"
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
        decoded = decode(
            io.BytesIO(data),
            max_pixels=library.settings.max_pixels,
            draft_size=library.encoder.image_size if box is None else None,
        )
    except DecodeError as exc:
        raise DecodeError(f"the uploaded file cannot be used: {exc}") from None
    if box is not None:
        return library.encoder.encode_images([crop(decoded.image, box)])[0]
    return picture_vector(library, decoded.image)


def picture_vector(library: Library, picture: PILImage.Image) -> FloatArray:
    """A whole picture's own vector, as indexing makes it (its centre, as the model
    crops it: retrieval.media.views), so that a copy of a library photo finds it at a
    score of 1."""
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
