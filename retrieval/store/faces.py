"""Faces and persons (the faces, persons and face_rejections tables): written with a
photo's batch by the faces analyzer, grouped into persons (retrieval.faces.persons), and
corrected by the user: names, merges, moves, "not this person", hiding, forgetting."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from retrieval.errors import NotFoundError, UsageError
from retrieval.faces.model import FACES_ANALYZER, Box, Face, identifiable, people_rows
from retrieval.records import FloatArray, IdArray
from retrieval.store.base import LIVE, StoreBase, chunks, now
from retrieval.store.models import (
    STATUS_OK,
    Analysis,
    FaceRejection,
    FaceRow,
    Image,
    Person,
)


@dataclass(frozen=True)
class StoredFace:
    """A face as the store has it, with the person it is."""

    face_id: int
    image_id: int
    box: Box
    score: float
    size: int
    sharpness: float
    t: float | None
    person_id: int | None
    person_name: str | None
    pinned: bool

    @property
    def identifiable(self) -> bool:
        return identifiable(self.size, self.sharpness)


@dataclass(frozen=True)
class PersonSummary:
    person_id: int
    name: str | None
    hidden: bool
    faces: int
    photos: int
    cover: str | None  # the path of the photo with its largest face
    cover_face: int | None  # that face's id


@dataclass(frozen=True)
class FaceVectors:
    """Every face of one model, for clustering: arrays in one order."""

    face_ids: IdArray
    image_ids: IdArray  # each face's image
    person_ids: IdArray  # -1: none
    pinned: np.ndarray  # bool
    usable: np.ndarray  # bool: identifiable
    vectors: FloatArray
    rejected: frozenset[tuple[int, int]]  # (face, person)


def replace_faces(
    s: Session, rows: Sequence[tuple[int, Sequence[Face] | None]]
) -> None:
    """In the caller's transaction: these images' faces replaced (None: removed). A
    photo whose content changed has other faces: its old ones, and what the user said of
    them, go."""
    ids = [i for i, _ in rows]
    for chunk in chunks(ids):
        s.execute(delete(FaceRow).where(FaceRow.image_id.in_(chunk)))
    values = [
        {
            "image_id": image_id,
            "t": face.t,
            "box_left": face.box.left,
            "box_top": face.box.top,
            "box_right": face.box.right,
            "box_bottom": face.box.bottom,
            "landmarks": json.dumps([list(p) for p in face.landmarks]),
            "score": face.score,
            "size": face.size,
            "sharpness": face.sharpness,
            "embedding": np.asarray(face.embedding, dtype=np.float32).tobytes(),
            "model": face.model,
        }
        for image_id, faces in rows
        for face in faces or ()
    ]
    if values:
        s.execute(insert(FaceRow), values)


def _stored(row: FaceRow, name: str | None) -> StoredFace:
    return StoredFace(
        row.id,
        row.image_id,
        Box(row.box_left, row.box_top, row.box_right, row.box_bottom),
        row.score,
        row.size,
        row.sharpness,
        row.t,
        row.person_id,
        name,
        row.pinned,
    )


class FacesMixin(StoreBase):
    def faces_of(self, ids: Iterable[int]) -> dict[int, list[StoredFace]]:
        """The faces of these images, largest first, with their persons' names."""
        found: dict[int, list[StoredFace]] = {}
        with self.session() as s:
            for chunk in chunks(sorted({int(i) for i in ids})):
                rows = s.execute(
                    select(FaceRow, Person.name)
                    .outerjoin(Person, Person.id == FaceRow.person_id)
                    .where(FaceRow.image_id.in_(chunk))
                    .order_by(FaceRow.image_id, FaceRow.size.desc(), FaceRow.id)
                )
                for row, name in rows:
                    found.setdefault(row.image_id, []).append(_stored(row, name))
        return found

    def people_of(self, ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """The persons (not hidden) in these images, largest face first, with their
        boxes: what a search's hits say of who is in them."""
        found: list[Sequence[Any]] = []
        with self.session() as s:
            for chunk in chunks(sorted({int(i) for i in ids})):
                found.extend(
                    s.execute(
                        select(
                            FaceRow.image_id,
                            FaceRow.person_id,
                            Person.name,
                            FaceRow.box_left,
                            FaceRow.box_top,
                            FaceRow.box_right,
                            FaceRow.box_bottom,
                            FaceRow.t,
                        )
                        .join(Person, Person.id == FaceRow.person_id)
                        .where(FaceRow.image_id.in_(chunk), Person.hidden.is_(False))
                        .order_by(FaceRow.image_id, FaceRow.size.desc(), FaceRow.id)
                    ).all()
                )
        return people_rows(found)

    def face(self, face_id: int) -> StoredFace:
        with self.session() as s:
            row = s.execute(
                select(FaceRow, Person.name)
                .outerjoin(Person, Person.id == FaceRow.person_id)
                .where(FaceRow.id == face_id)
            ).first()
            if row is None:
                raise NotFoundError(
                    f"no face {face_id}: `photosearch faces IMG` lists a photo's faces"
                )
            return _stored(row[0], row[1])

    def rejections(self) -> frozenset[tuple[int, int]]:
        """(face, person) pairs the user said are not the same."""
        with self.session() as s:
            return frozenset(
                (int(f), int(p))
                for f, p in s.execute(
                    select(FaceRejection.face_id, FaceRejection.person_id)
                )
            )

    def face_count(self) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(FaceRow)) or 0)

    def face_vectors(self, model: str) -> FaceVectors:
        with self.session() as s:
            rows = s.execute(
                select(
                    FaceRow.id,
                    FaceRow.image_id,
                    FaceRow.person_id,
                    FaceRow.pinned,
                    FaceRow.size,
                    FaceRow.sharpness,
                    FaceRow.embedding,
                )
                .join(Image, Image.id == FaceRow.image_id)
                .where(FaceRow.model == model, LIVE)
                .order_by(FaceRow.id)
            ).all()
        rejected = self.rejections()
        dim = len(rows[0][6]) // 4 if rows else 0
        return FaceVectors(
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([-1 if r[2] is None else r[2] for r in rows], dtype=np.int64),
            np.array([bool(r[3]) for r in rows], dtype=bool),
            np.array([identifiable(r[4], r[5]) for r in rows], dtype=bool),
            np.frombuffer(b"".join(r[6] for r in rows), dtype=np.float32).reshape(
                len(rows), dim
            ),
            rejected,
        )

    def assign_faces(
        self, joins: Mapping[int, int], groups: Sequence[Sequence[int]]
    ) -> list[int]:
        """Clustering's outcome in one transaction: faces joined to persons, and groups
        of faces each a new person (their ids, in order). Pinned faces stay where they
        are."""
        created: list[int] = []
        with self.session() as s:
            by_person: dict[int, list[int]] = {}
            for face_id, person_id in joins.items():
                by_person.setdefault(int(person_id), []).append(int(face_id))
            for group in groups:
                person = Person(name=None, hidden=False, created_at=now())
                s.add(person)
                s.flush()
                created.append(person.id)
                by_person[person.id] = [int(f) for f in group]
            for person_id, face_ids in by_person.items():
                for chunk in chunks(face_ids):
                    s.execute(
                        update(FaceRow)
                        .where(FaceRow.id.in_(chunk), FaceRow.pinned.is_(False))
                        .values(person_id=person_id)
                    )
        return created

    def unassign_automatic(self) -> None:
        """Every face clustering placed taken out of its person: reclustering starts
        from what the user decided alone. The persons left empty stay until
        `drop_empty_persons`, so that a group reclustered as before keeps its id."""
        with self.session() as s:
            s.execute(
                update(FaceRow).where(FaceRow.pinned.is_(False)).values(person_id=None)
            )

    def _drop_empty(self, s: Session) -> None:
        """Persons without faces, name or hiding: nothing is left of them."""
        with_faces = select(FaceRow.person_id).where(FaceRow.person_id.is_not(None))
        s.execute(
            delete(Person).where(
                Person.id.not_in(with_faces),
                Person.name.is_(None),
                Person.hidden.is_(False),
            )
        )

    def drop_empty_persons(self) -> None:
        with self.session() as s:
            self._drop_empty(s)

    def persons(self, *, hidden: bool = False) -> list[PersonSummary]:
        """The library's persons, most photos first (hidden ones only with `hidden`);
        only faces of searchable images count."""
        counted = (
            select(
                FaceRow.person_id,
                func.count(FaceRow.id).label("faces"),
                func.count(func.distinct(FaceRow.image_id)).label("photos"),
            )
            .join(Image, Image.id == FaceRow.image_id)
            .where(FaceRow.person_id.is_not(None), Image.status == STATUS_OK, LIVE)
            .group_by(FaceRow.person_id)
            .subquery()
        )
        query = select(Person, counted.c.faces, counted.c.photos).outerjoin(
            counted, counted.c.person_id == Person.id
        )
        if not hidden:
            query = query.where(Person.hidden.is_(False))
        with self.session() as s:
            rows = s.execute(query).all()
            covers = self._covers(s, [p.id for p, _, _ in rows])
            found = [
                PersonSummary(
                    p.id,
                    p.name,
                    bool(p.hidden),
                    int(faces or 0),
                    int(photos or 0),
                    *covers.get(p.id, (None, None)),
                )
                for p, faces, photos in rows
            ]
        found.sort(key=lambda p: (-p.photos, -p.faces, p.person_id))
        return [p for p in found if p.faces or p.name]

    def _covers(
        self, s: Session, person_ids: Sequence[int]
    ) -> dict[int, tuple[str, int]]:
        covers: dict[int, tuple[str, int]] = {}
        for chunk in chunks(list(person_ids)):
            rows = s.execute(
                select(FaceRow.person_id, Image.path, FaceRow.id)
                .join(Image, Image.id == FaceRow.image_id)
                .where(FaceRow.person_id.in_(chunk), Image.status == STATUS_OK, LIVE)
                .order_by(FaceRow.person_id, FaceRow.size.desc(), FaceRow.id)
            )
            for person_id, path, face_id in rows:
                covers.setdefault(int(person_id or 0), (str(path), int(face_id)))
        return covers

    def person_id(self, key: str | int) -> int:
        """A person's id, by id or by name (case-insensitive); hidden ones included. A
        person is one `persons` lists: with a name, or with faces in searchable images."""
        present = (
            select(FaceRow.person_id)
            .join(Image, Image.id == FaceRow.image_id)
            .where(FaceRow.person_id.is_not(None), Image.status == STATUS_OK, LIVE)
        )
        with self.session() as s:
            rows = s.execute(
                select(Person.id, Person.name).where(
                    or_(Person.name.is_not(None), Person.id.in_(present))
                )
            ).all()
        text = str(key).strip()
        if text.isdigit() and any(i == int(text) for i, _ in rows):
            return int(text)
        named = [int(i) for i, n in rows if n and n.casefold() == text.casefold()]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            ids = ", ".join(str(i) for i in sorted(named))
            raise UsageError(
                f"{len(named)} persons are called {text!r} (ids {ids}): give an id, "
                "or merge them with `photosearch people merge`"
            )
        raise NotFoundError(
            f"no person {text!r}: `photosearch people` lists them, by id and name"
        )

    def person(self, key: str | int) -> PersonSummary:
        """A person's summary, by id or by name (see `person_id`)."""
        found = self.person_id(key)
        return next(p for p in self.persons(hidden=True) if p.person_id == found)

    def name_person(self, person_id: int, name: str | None) -> None:
        """Its name (None: none); its faces become the user's: reclustering keeps them."""
        with self.session() as s:
            s.execute(update(Person).where(Person.id == person_id).values(name=name))
            self._pin(s, [person_id])

    def hide_person(self, person_id: int, hidden: bool = True) -> None:
        with self.session() as s:
            s.execute(
                update(Person).where(Person.id == person_id).values(hidden=hidden)
            )
            self._pin(s, [person_id])

    def merge_persons(self, into: int, others: Sequence[int]) -> None:
        """Every face of `others` becomes `into`'s, pinned; `into` takes a name from
        them if it has none; the others go."""
        rest = [o for o in others if o != into]
        with self.session() as s:
            target = s.get(Person, into)
            if target is None:
                raise NotFoundError(f"no person {into}")
            if target.name is None:
                names = s.scalars(
                    select(Person.name).where(
                        Person.id.in_(rest), Person.name.is_not(None)
                    )
                ).all()
                if names:
                    target.name = names[0]
            s.execute(
                update(FaceRow)
                .where(FaceRow.person_id.in_(rest))
                .values(person_id=into, pinned=True)
            )
            # What was said against the others holds for the merged person.
            for face_id, _ in s.execute(
                select(FaceRejection.face_id, FaceRejection.person_id).where(
                    FaceRejection.person_id.in_(rest)
                )
            ).all():
                s.merge(FaceRejection(face_id=face_id, person_id=into))
            s.execute(delete(Person).where(Person.id.in_(rest)))
            self._pin(s, [into])

    def move_face(self, face_id: int, person_id: int) -> None:
        """The user says this face is that person."""
        with self.session() as s:
            s.execute(
                delete(FaceRejection).where(
                    FaceRejection.face_id == face_id,
                    FaceRejection.person_id == person_id,
                )
            )
            s.execute(
                update(FaceRow)
                .where(FaceRow.id == face_id)
                .values(person_id=person_id, pinned=True)
            )

    def new_person_of(self, face_id: int, name: str | None) -> int:
        """The user says this face is someone new."""
        with self.session() as s:
            person = Person(name=name, hidden=False, created_at=now())
            s.add(person)
            s.flush()
            s.execute(
                update(FaceRow)
                .where(FaceRow.id == face_id)
                .values(person_id=person.id, pinned=True)
            )
            self._drop_empty(s)
            return int(person.id)

    def reject_face(self, face_id: int) -> int | None:
        """The user says this face is not the person it is with: it leaves them and
        never returns to them, and the person's other faces, which the user has looked
        at, become the user's (reclustering keeps them together without it). Which
        person that was (None: it had none)."""
        with self.session() as s:
            person_id = s.scalar(select(FaceRow.person_id).where(FaceRow.id == face_id))
            if person_id is None:
                return None
            s.merge(FaceRejection(face_id=face_id, person_id=person_id))
            s.execute(
                update(FaceRow)
                .where(FaceRow.id == face_id)
                .values(person_id=None, pinned=False)
            )
            self._pin(s, [person_id])
            self._drop_empty(s)
            return int(person_id)

    def forget_faces(self) -> int:
        """Every face and person gone, and the record that photos were looked at for
        faces: with faces on, the next `index` finds them again. How many faces there
        were."""
        with self.session() as s:
            count = int(s.scalar(select(func.count()).select_from(FaceRow)) or 0)
            s.execute(delete(FaceRejection))
            s.execute(delete(FaceRow))
            s.execute(delete(Person))
            s.execute(delete(Analysis).where(Analysis.analyzer == FACES_ANALYZER))
        return count

    def ids_with_person(self, person_id: int) -> IdArray:
        """The searchable images where this person is."""
        with self.session() as s:
            ids = s.scalars(
                select(func.distinct(FaceRow.image_id))
                .join(Image, Image.id == FaceRow.image_id)
                .where(FaceRow.person_id == person_id, Image.status == STATUS_OK, LIVE)
            ).all()
        return np.array(sorted(int(i) for i in ids), dtype=np.int64)

    def _pin(self, s: Session, person_ids: Sequence[int]) -> None:
        s.execute(
            update(FaceRow)
            .where(FaceRow.person_id.in_(list(person_ids)))
            .values(pinned=True)
        )
