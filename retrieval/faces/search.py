"""Faces as queries: the faces of any image file, each with the person it is, and the
photos of the person whose face is largest in an image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.errors import DecodeError, UsageError
from retrieval.faces.cluster import JOIN
from retrieval.faces.model import Face, find_faces, load_face_model
from retrieval.faces.persons import Match, identify
from retrieval.media.decode import decode

if TYPE_CHECKING:
    from retrieval.library import Library
    from retrieval.search.search import SearchOptions


@dataclass(frozen=True)
class FoundFace:
    face: Face
    match: Match


def faces_in_file(library: Library, path: Path) -> list[FoundFace]:
    """The faces of an image file, largest first, and who each is."""
    # Looked at as the faces analyzer looks at a library photo (indexer.analyzers.faces).
    side = library.settings.face_side
    try:
        decoded = decode(
            path, max_pixels=library.settings.max_pixels, draft_size=side * 3 // 4
        )
    except DecodeError as exc:
        raise UsageError(f"cannot look for faces in {path}: {exc}") from None
    faces = sorted(find_faces(load_face_model(), decoded.image), key=lambda f: -f.size)
    return [
        FoundFace(face, match)
        for face, match in zip(faces, identify(library.store, faces), strict=True)
    ]


def similar_faces(
    library: Library, path: Path, options: SearchOptions
) -> list[tuple[int, float]]:
    """(image id, score) of the photos with a face within the clustering's distance of
    the largest face in `path`, nearest first; the score is 1 - that distance."""
    from retrieval.search.search import allowed_ids

    found = faces_in_file(library, path)
    if not found:
        raise UsageError(
            f"{path}: no face found in it; give a photo where a face is at least "
            "about a tenth of its height"
        )
    query = found[0].face
    vectors = library.store.face_vectors(query.model)
    if not len(vectors.face_ids):
        return []
    distances = np.linalg.norm(vectors.vectors - query.embedding, axis=1)
    best: dict[int, float] = {}
    for image_id, distance in zip(
        vectors.image_ids.tolist(), distances.tolist(), strict=True
    ):
        if distance < JOIN and distance < best.get(image_id, np.inf):
            best[image_id] = distance
    allowed = allowed_ids(library, options.filters)
    if allowed is not None:
        keep = set(allowed.tolist())
        best = {i: d for i, d in best.items() if i in keep}
    ranked = sorted(best.items(), key=lambda p: (p[1], p[0]))
    scored = [(i, 1.0 - d) for i, d in ranked]
    if options.min_score is not None:
        scored = [p for p in scored if p[1] >= options.min_score]
    return scored[options.offset : options.offset + options.top]
