"""How faces become persons, as plain arrays (retrieval.faces.persons runs it against a
store). Incremental, as photos arrive: a face joins the person of its nearest face when
that is within `join` (and the user never said it is not that person); faces that join
no one and lie within `join` of each other, at least `min_faces` of them, become a new
person; the rest wait, unassigned, for more evidence. Faces too small or blurred to tell
(retrieval.faces.model.SIZE_MIN) neither join nor seed.

The distance is Euclidean between descriptors; the thresholds are measured
(data/faces/EVAL.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.records import FloatArray, IdArray

# dlib's descriptor: two photos of one person lie within 0.6 of each other for 99.38% of
# LFW's pairs; clustering asks for more certainty than one pair's verification does.
JOIN = 0.55
MIN_FACES = 2


@dataclass(frozen=True)
class Clustering:
    """What to change: faces to join existing persons, and groups to become new ones."""

    joins: dict[int, int] = field(default_factory=dict)  # face id -> person id
    groups: list[list[int]] = field(default_factory=list)  # face ids per new person


def cluster(
    face_ids: IdArray,
    person_ids: IdArray,
    usable: np.ndarray,
    vectors: FloatArray,
    rejected: frozenset[tuple[int, int]] = frozenset(),
    *,
    join: float = JOIN,
    min_faces: int = MIN_FACES,
) -> Clustering:
    """The faces without a person (person id -1) placed, given those with one."""
    known = person_ids >= 0
    pending = np.flatnonzero(~known & usable)
    if len(pending) == 0:
        return Clustering()
    known_idx = [int(i) for i in np.flatnonzero(known & usable)]
    known_person = [int(person_ids[i]) for i in known_idx]
    joins: dict[int, int] = {}
    waiting: list[int] = []
    for i in (int(n) for n in pending):
        person = _nearest_person(
            vectors, i, known_idx, known_person, int(face_ids[i]), rejected, join
        )
        if person is None:
            waiting.append(i)
            continue
        joins[int(face_ids[i])] = person
        # A face that joined is evidence for the next ones (people change over years).
        known_idx.append(i)
        known_person.append(person)
    groups = [
        [int(face_ids[i]) for i in group]
        for group in _groups(vectors, waiting, join)
        if len(group) >= min_faces
    ]
    return Clustering(joins, groups)


def _nearest_person(
    vectors: FloatArray,
    i: int,
    known_idx: Sequence[int],
    known_person: Sequence[int],
    face_id: int,
    rejected: frozenset[tuple[int, int]],
    join: float,
) -> int | None:
    if not known_idx:
        return None
    distances = np.linalg.norm(vectors[list(known_idx)] - vectors[i], axis=1)
    for n in np.argsort(distances):
        if distances[n] >= join:
            return None
        person = known_person[n]
        if (face_id, person) not in rejected:
            return person
    return None


def _groups(
    vectors: FloatArray, members: Sequence[int], join: float
) -> list[list[int]]:
    """The connected groups of `members` at distances under `join`, each face with at
    least one other within it: complete enough for a photo library's few thousand
    unassigned faces, the matrix a chunk of rows at a time."""
    if not members:
        return []
    idx = np.asarray(members)
    sub = vectors[idx]
    parent = list(range(len(idx)))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    squared = (sub * sub).sum(axis=1)
    for start in range(0, len(idx), 1024):
        block = sub[start : start + 1024]
        d2 = squared[start : start + 1024, None] + squared[None, :] - 2 * block @ sub.T
        rows, cols = np.nonzero(d2 < join * join)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a, b = root(start + r), root(c)
            if a != b:
                parent[a] = b
    groups: dict[int, list[int]] = {}
    for n in range(len(idx)):
        groups.setdefault(root(n), []).append(int(idx[n]))
    return list(groups.values())
