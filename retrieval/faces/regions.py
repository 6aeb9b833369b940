"""Faces named in other programs (digiKam, Lightroom, Picasa: MWG face regions, read by
retrieval.metadata) naming the persons found here.

Each named region is matched with the face found here that it overlaps most (an
intersection over union of at least MATCH_IOU; one region per face). Then:
- a face whose person has no name: that person takes the region's name, or, when a
  person of that name exists, the face joins them (their whole group does, if it is
  all of unnamed faces the clustering put together);
- a face with no person (too small to group, or alone): it seeds a person of that name,
  or joins the one there is;
- a face whose person was named here otherwise: a conflict, shown (`photosearch
  people`), never overwritten; nor does a name undo the user's rejection of a face.

Naming pins, as a name given here does: reclustering keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from retrieval.faces.model import Box
from retrieval.metadata.model import Region

if TYPE_CHECKING:
    from retrieval.store import Store
    from retrieval.store.faces import StoredFace

# Two programs' boxes of one face: detectors draw them differently (dlib's is tight, a
# hand-drawn one wider), so the overlap asked is loose; two faces rarely overlap at all.
MATCH_IOU = 0.3


@dataclass(frozen=True)
class Conflict:
    """A face named one way here and another in another program."""

    image_id: int
    face_id: int
    here: str
    there: str


def iou(box: Box, region: Region) -> float:
    left, top, width, height = region.box
    right, bottom = left + width, top + height
    w = min(box.right, right) - max(box.left, left)
    h = min(box.bottom, bottom) - max(box.top, top)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (box.right - box.left) * (box.bottom - box.top) + width * height - inter
    return inter / union if union > 0 else 0.0


def matched(
    faces: list[StoredFace], regions: list[Region]
) -> list[tuple[StoredFace, Region]]:
    """Faces and regions paired, the best overlaps first, each used once."""
    pairs = sorted(
        (
            (iou(face.box, region), n, m)
            for n, face in enumerate(faces)
            for m, region in enumerate(regions)
        ),
        reverse=True,
    )
    used_faces: set[int] = set()
    used_regions: set[int] = set()
    found = []
    for overlap, n, m in pairs:
        if overlap < MATCH_IOU or n in used_faces or m in used_regions:
            continue
        used_faces.add(n)
        used_regions.add(m)
        found.append((faces[n], regions[m]))
    return found


def name_from_regions(store: Store, *, apply: bool = True) -> list[Conflict]:
    """Persons named from the face regions of other programs (with `apply`; without,
    only the conflicts are found). The conflicts."""
    regions = store.face_regions()
    if not regions:
        return []
    faces = store.faces_of(regions)
    rejected = store.rejections()
    persons = store.persons(hidden=True)
    by_name: dict[str, int] = {}
    for p in persons:
        if p.name:
            by_name.setdefault(p.name.casefold(), p.person_id)
    conflicts: list[Conflict] = []
    for image_id, marked in sorted(regions.items()):
        photo_faces = [f for f in faces.get(image_id, []) if f.t is None]
        for face, region in matched(photo_faces, marked):
            name = region.name.strip()
            if face.person_name:
                if face.person_name.casefold() != name.casefold():
                    conflicts.append(
                        Conflict(image_id, face.face_id, face.person_name, name)
                    )
                continue
            if not apply:
                continue
            known = by_name.get(name.casefold())
            if known is not None and (face.face_id, known) in rejected:
                continue
            if known is not None:
                if face.person_id is None:
                    store.move_face(face.face_id, known)
                else:
                    store.merge_persons(known, [face.person_id])
            elif face.person_id is None:
                by_name[name.casefold()] = store.new_person_of(face.face_id, name)
            else:
                store.name_person(face.person_id, name)
                by_name[name.casefold()] = face.person_id
            # What this face's person is now called, for the faces of the same
            # person later in the loop.
            faces = _renamed(faces, face.person_id, name)
    return conflicts


def _renamed(
    faces: dict[int, list[StoredFace]], person_id: int | None, name: str
) -> dict[int, list[StoredFace]]:
    if person_id is None:
        return faces
    return {
        image_id: [
            replace(f, person_name=name) if f.person_id == person_id else f
            for f in found
        ]
        for image_id, found in faces.items()
    }
