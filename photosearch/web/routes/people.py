"""People: the persons the library's faces form, their faces, and the user's corrections
(names, merges, hiding, a face moved or rejected, a photo taken out of a person)."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi import Path as FPath

from photosearch.web import schemas
from photosearch.web.errors import ERRORS
from photosearch.web.params import ImageIdP
from photosearch.web.state import Web, WebD
from retrieval.errors import NotFoundError, UsageError
from retrieval.store.faces import PersonSummary, StoredFace

router = APIRouter()
PersonIdP = Annotated[
    int, FPath(ge=1, le=schemas.MAX_ID, description="the person's id")
]
FaceIdP = Annotated[int, FPath(ge=1, le=schemas.MAX_ID, description="the face's id")]
JPEG = {"schema": {"type": "string", "format": "binary"}}


def person_out(web: Web, person: PersonSummary) -> schemas.PersonOut:
    cover = None
    if person.cover is not None:
        meta = web.library.store.meta_by_path(person.cover)
        cover = meta.image_id if meta is not None else None
    return schemas.PersonOut(
        id=person.person_id,
        name=person.name,
        faces=person.faces,
        photos=person.photos,
        cover=cover,
        cover_face=person.cover_face,
        hidden=person.hidden,
    )


def face_out(face: StoredFace) -> schemas.FaceOut:
    box = face.box
    return schemas.FaceOut(
        id=face.face_id,
        image_id=face.image_id,
        box=[round(v, 4) for v in (box.left, box.top, box.right, box.bottom)],
        t=face.t,
        size=face.size,
        person=face.person_id,
        name=face.person_name,
        identifiable=face.identifiable,
    )


def _person_id(web: Web, person_id: int) -> int:
    """The id of a person the library has (404 otherwise)."""
    return web.library.store.person_id(str(person_id))


def _person(web: Web, person_id: int) -> PersonSummary:
    return web.library.store.person(str(person_id))


@router.get("/api/people", response_model=list[schemas.PersonOut], responses=ERRORS)
def people(
    web: WebD,
    hidden: Annotated[bool, Query(description="hidden persons too")] = False,
) -> list[schemas.PersonOut]:
    """The persons, most photos first (their photos: /api/images?person=ID)."""
    return [person_out(web, p) for p in web.library.store.persons(hidden=hidden)]


@router.get(
    "/api/people/{person_id}", response_model=schemas.PersonOut, responses=ERRORS
)
def person(person_id: PersonIdP, web: WebD) -> schemas.PersonOut:
    return person_out(web, _person(web, person_id))


@router.put(
    "/api/people/{person_id}/name", response_model=schemas.PersonOut, responses=ERRORS
)
def name(person_id: PersonIdP, body: schemas.NameIn, web: WebD) -> schemas.PersonOut:
    """Name (or rename; null: unname) a person; its faces become the user's, which
    clustering never takes away."""
    store = web.library.store
    store.name_person(
        _person_id(web, person_id), body.name.strip() if body.name else None
    )
    return person_out(web, _person(web, person_id))


@router.post(
    "/api/people/{person_id}/merge", response_model=schemas.PersonOut, responses=ERRORS
)
def merge(person_id: PersonIdP, body: schemas.MergeIn, web: WebD) -> schemas.PersonOut:
    """The others become this person (it takes a name from them if it has none)."""
    target = _person_id(web, person_id)
    others = [_person_id(web, o) for o in body.others]
    if set(others) <= {target}:
        raise UsageError("others: give at least one other person to merge")
    web.library.store.merge_persons(target, others)
    return person_out(web, _person(web, target))


@router.put(
    "/api/people/{person_id}/hidden",
    response_model=schemas.PersonOut,
    responses=ERRORS,
)
def hide(person_id: PersonIdP, body: schemas.HiddenIn, web: WebD) -> schemas.PersonOut:
    """Hidden persons leave the list and the photos' names; new faces still join them."""
    web.library.store.hide_person(_person_id(web, person_id), body.hidden)
    return person_out(web, _person(web, person_id))


@router.post(
    "/api/people/{person_id}/remove",
    response_model=list[schemas.FaceOut],
    responses=ERRORS,
)
def remove_photo(
    person_id: PersonIdP, body: schemas.RemoveIn, web: WebD
) -> list[schemas.FaceOut]:
    """The person is not in this photo: their faces in it leave them, and never come
    back to them. The photo's faces as they are now."""
    store = web.library.store
    target = _person_id(web, person_id)
    faces = store.faces_of([body.image_id]).get(body.image_id, [])
    mine = [f for f in faces if f.person_id == target]
    if not mine:
        raise NotFoundError(
            f"person {target} is not in image {body.image_id}: nothing to remove"
        )
    for face in mine:
        store.reject_face(face.face_id)
    return [face_out(f) for f in store.faces_of([body.image_id]).get(body.image_id, [])]


@router.get(
    "/api/images/{image_id}/faces",
    response_model=list[schemas.FaceOut],
    responses=ERRORS,
)
def image_faces(image_id: ImageIdP, web: WebD) -> list[schemas.FaceOut]:
    """The faces found in a photo (or in a video's moments), largest first."""
    web.meta(image_id)  # 404 for an image the library does not have
    return [
        face_out(f) for f in web.library.store.faces_of([image_id]).get(image_id, [])
    ]


@router.put(
    "/api/faces/{face_id}/person", response_model=schemas.FaceOut, responses=ERRORS
)
def face_person(
    face_id: FaceIdP, body: schemas.FacePersonIn, web: WebD
) -> schemas.FaceOut:
    """Who a face is. `person`: that person. `name`: the person of that name, or the
    face's own person if it has no name yet, else a new person. Neither: not the person
    it is with (it never returns to them)."""
    store = web.library.store
    face = store.face(face_id)
    if body.person is not None and body.name is not None:
        raise UsageError("give person or name, not both")
    if body.person is not None:
        store.move_face(face_id, _person_id(web, body.person))
    elif body.name is not None:
        assign_by_name(web, face, body.name.strip())
    else:
        store.reject_face(face_id)
    return face_out(store.face(face_id))


def assign_by_name(web: Web, face: StoredFace, name: str) -> None:
    store = web.library.store
    try:
        named: int | None = store.person_id(name)
    except NotFoundError:
        named = None
    if named is not None and not name.isdigit():
        store.move_face(face.face_id, named)
    elif face.person_id is not None and face.person_name is None:
        store.name_person(face.person_id, name)
    else:
        store.new_person_of(face.face_id, name)


@router.get(
    "/api/faces/{face_id}/thumbnail",
    response_class=Response,
    responses={
        **ERRORS,
        200: {"description": "a JPEG", "content": {"image/jpeg": JPEG}},
    },
)
def face_thumbnail(face_id: FaceIdP, web: WebD) -> Response:
    """The face and a little around it, 160 pixels square, for the People view."""
    from PIL import Image

    from retrieval.media.thumbnails import thumbnail as make

    store = web.library.store
    face = store.face(face_id)
    library = web.library
    path = make(
        store.root,
        web.meta(face.image_id),
        1280,
        library.settings.max_pixels,
        t=face.t,
        poster=lambda: web.poster(face.image_id),
    )
    with Image.open(path) as picture:
        width, height = picture.size
        box = face.box
        cx, cy = (box.left + box.right) / 2 * width, (box.top + box.bottom) / 2 * height
        half = (
            max((box.right - box.left) * width, (box.bottom - box.top) * height) * 0.8
        )
        crop = picture.crop((cx - half, cy - half, cx + half, cy + half)).convert("RGB")
        crop = crop.resize((160, 160), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=85)
    return Response(
        out.getvalue(),
        media_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=3600"},
    )
