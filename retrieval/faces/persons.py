"""Persons in a library: clustering (retrieval.faces.cluster) run against the store after
new faces are written, from scratch on request, and "who is this?" for any face."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.faces.cluster import JOIN, Clustering, cluster
from retrieval.faces.model import FACE_MODEL, Face

if TYPE_CHECKING:
    from retrieval.store import Store


def update_persons(store: Store, model: str = FACE_MODEL) -> Clustering:
    """The faces without a person placed: joined, grouped into new persons, or left to
    wait. What the user decided (pinned faces, rejections) stands."""
    found = store.face_vectors(model)
    outcome = cluster(
        found.face_ids, found.person_ids, found.usable, found.vectors, found.rejected
    )
    if outcome.joins or outcome.groups:
        store.assign_faces(outcome.joins, outcome.groups)
    store.drop_empty_persons()
    return outcome


def recluster(store: Store, model: str = FACE_MODEL) -> Clustering:
    """Every placement clustering made undone and made again; the persons and faces the
    user named, merged, moved or hid keep what the user said. A new group takes the id
    of the person most of its faces were with (one that has no faces left), so that ids
    stay what they were wherever the groups do."""
    found = store.face_vectors(model)
    was = {
        int(f): int(p)
        for f, p in zip(found.face_ids, found.person_ids, strict=True)
        if p >= 0
    }
    store.unassign_automatic()
    # What unassigning left: the pinned faces' persons, none for the rest.
    kept = np.where(found.pinned, found.person_ids, -1)
    outcome = cluster(found.face_ids, kept, found.usable, found.vectors, found.rejected)
    still = {int(p) for p in kept if p >= 0}
    joins, groups = dict(outcome.joins), []
    taken: set[int] = set()
    for group in outcome.groups:
        refused = {p for f, p in found.rejected if f in group}
        votes = Counter(
            was[f] for f in group if f in was and was[f] not in still | taken | refused
        )
        if votes:
            person = votes.most_common(1)[0][0]
            taken.add(person)
            joins.update({f: person for f in group})
        else:
            groups.append(group)
    store.assign_faces(joins, groups)
    store.drop_empty_persons()
    return Clustering(outcome.joins, outcome.groups)


@dataclass(frozen=True)
class Match:
    """Who a face is: the person of its nearest known face, and how far that is."""

    person_id: int | None
    name: str | None
    distance: float | None
    same: bool  # within the clustering's distance: it is that person


def identify(store: Store, faces: Sequence[Face]) -> list[Match]:
    """For faces of any photo, in the library or not: the nearest person of each."""
    if not faces:
        return []
    found = store.face_vectors(faces[0].model)
    known = found.person_ids >= 0
    if not known.any():
        return [Match(None, None, None, False) for _ in faces]
    vectors, persons = found.vectors[known], found.person_ids[known]
    names = {p.person_id: p.name for p in store.persons(hidden=True)}
    matches = []
    for face in faces:
        distances = np.linalg.norm(vectors - face.embedding, axis=1)
        n = int(np.argmin(distances))
        person = int(persons[n])
        distance = float(distances[n])
        matches.append(Match(person, names.get(person), distance, distance < JOIN))
    return matches
