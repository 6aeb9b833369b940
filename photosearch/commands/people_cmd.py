"""photosearch people / faces: the persons the library's faces form, the user's
corrections of them, and the faces in any photo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosearch.commands.common import settings_from
from photosearch.output import clock, emit_json
from retrieval.errors import UsageError

if TYPE_CHECKING:
    from retrieval.store import Store


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    _register_people(sub, parents)
    _register_faces(sub, parents)


def _register_people(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "people",
        parents=parents,
        help="the persons in your photos: list, name, merge, hide, correct",
        description="The persons the faces of the library form, most photos first. "
        "Faces join a person as photos arrive; what you say (a name, a merge, a face "
        "moved or rejected, a person hidden) is never undone by clustering.",
    )
    p.add_argument("--json", action="store_true", help="JSON list of persons")
    p.add_argument("--all", action="store_true", help="hidden persons too")
    p.add_argument(
        "--recluster",
        action="store_true",
        help="group the faces into persons again from scratch, keeping what you said",
    )
    p.add_argument(
        "--forget",
        action="store_true",
        help="delete every face and person from the library (the photos stay)",
    )
    p.set_defaults(func=run_people)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    name = actions.add_parser(
        "name", parents=parents, help="name a person: people name ID NAME"
    )
    name.add_argument("person", metavar="ID")
    name.add_argument("name", metavar="NAME")
    merge = actions.add_parser(
        "merge", parents=parents, help="one person, not several: people merge ID ID..."
    )
    merge.add_argument("person", metavar="ID")
    merge.add_argument("others", nargs="+", metavar="ID")
    for action, what in (("hide", "hide"), ("show", "show again")):
        a = actions.add_parser(
            action, parents=parents, help=f"{what} a person: people {action} ID"
        )
        a.add_argument("person", metavar="ID")
    move = actions.add_parser(
        "move",
        parents=parents,
        help="a face is this person: people move FACE ID (FACE from `faces`)",
    )
    move.add_argument("face", type=int, metavar="FACE")
    move.add_argument("person", metavar="ID")
    reject = actions.add_parser(
        "reject",
        parents=parents,
        help="a face is not the person it is with: people reject FACE",
    )
    reject.add_argument("face", type=int, metavar="FACE")


def _register_faces(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "faces",
        parents=parents,
        help="the faces in a photo and who they are",
        description="The faces in an image, largest first, each with its box and the "
        "person it is (or the nearest one, with the distance). A photo of the library "
        "answers with its stored faces; any other file is looked at now.",
    )
    p.add_argument("image", help="an image file")
    p.add_argument("--json", action="store_true", help="JSON list of faces")
    p.set_defaults(func=run_faces)


def _show_conflicts(store: Store) -> None:
    """Faces another program names otherwise than this library: said, not settled."""
    from retrieval.faces.regions import name_from_regions

    conflicts = name_from_regions(store, apply=False)
    paths = {
        m.image_id: m.path for m in store.meta(c.image_id for c in conflicts).values()
    }
    for c in conflicts:
        print(
            f"face {c.face_id} in {paths.get(c.image_id, c.image_id)} is {c.here!r} here "
            f"and {c.there!r} in another program's face regions: {c.here!r} is kept "
            "(`photosearch people name` to change it)",
            file=sys.stderr,
        )


def run_people(args: argparse.Namespace) -> int:
    from retrieval.faces.persons import recluster
    from retrieval.store import open_store

    chosen = [f for f in ("recluster", "forget") if getattr(args, f)]
    if len(chosen) > 1 or (chosen and args.action):
        raise UsageError(
            "give one of --recluster, --forget or an action (name, merge, ...) at a time"
        )
    with open_store(settings_from(args)) as store:
        if args.forget:
            count = store.forget_faces()
            print(
                f"forgot {count} faces and every person; with faces on, the next "
                "`photosearch index` finds them again (PHOTOSEARCH_FACES=0 keeps them "
                "off)"
            )
            return 0
        if args.recluster:
            outcome = recluster(store)
            print(
                f"reclustered: {len(outcome.joins)} faces joined a person, "
                f"{len(outcome.groups)} new persons"
            )
        elif args.action:
            _act(store, args)
            return 0
        persons = store.persons(hidden=args.all)
        _show_conflicts(store)
    if args.json:
        emit_json(
            [
                {
                    "id": p.person_id,
                    "name": p.name,
                    "faces": p.faces,
                    "photos": p.photos,
                    "cover": p.cover,
                    **({"hidden": p.hidden} if args.all else {}),
                }
                for p in persons
            ]
        )
        return 0
    if not persons:
        print(
            "no persons yet: faces form one once two photos show the same face "
            "(`photosearch index` looks for faces)",
            file=sys.stderr,
        )
        return 0
    for p in persons:
        name = p.name or "(no name)"
        hidden = "  (hidden)" if p.hidden else ""
        print(f"{p.person_id:>5}  {name:<24} {p.photos:>5} photos  {p.cover}{hidden}")
    return 0


def _act(store: Store, args: argparse.Namespace) -> None:
    action = args.action
    if action == "move":
        face = store.face(args.face)
        person = store.person(args.person)
        store.move_face(face.face_id, person.person_id)
        print(f"face {face.face_id} is now {_label(person.name, person.person_id)}")
        return
    if action == "reject":
        face = store.face(args.face)
        was = store.reject_face(face.face_id)
        if was is None:
            print(f"face {face.face_id} was with no person: nothing to reject")
        else:
            print(f"face {face.face_id} is no longer with person {was}, nor will be")
        return
    person = store.person(args.person)
    if action == "name":
        name = args.name.strip()
        if not name:
            raise UsageError("people name ID NAME: give a name, not a blank one")
        store.name_person(person.person_id, name)
        print(f"person {person.person_id} is {name}")
    elif action == "merge":
        others = [store.person_id(o) for o in args.others]
        if set(others) <= {person.person_id}:
            raise UsageError("people merge ID ID...: give at least two persons")
        store.merge_persons(person.person_id, others)
        print(f"merged {len(set(others) - {person.person_id})} into {person.person_id}")
    elif action in ("hide", "show"):
        store.hide_person(person.person_id, action == "hide")
        print(
            f"person {person.person_id} is {'hidden' if action == 'hide' else 'shown'}"
        )


def _label(name: str | None, person_id: int) -> str:
    return name or f"person {person_id}"


def run_faces(args: argparse.Namespace) -> int:
    from retrieval.faces.search import faces_in_file
    from retrieval.library import Library
    from retrieval.search.filters import absolute
    from retrieval.search.terms import parse_image

    path = parse_image(args.image)
    with Library.open(settings_from(args), writer=False, cold=True) as library:
        meta = library.store.meta_by_path(absolute(str(path)))
        stored = library.store.faces_of([meta.image_id]) if meta else {}
        rows: list[dict[str, Any]]
        if meta is not None and meta.image_id in stored:
            rows = [
                {
                    "face": f.face_id,
                    "box": [round(v, 4) for v in vars(f.box).values()],
                    "t": f.t,
                    "size": f.size,
                    "person": f.person_id,
                    "name": f.person_name,
                    "distance": None,
                    "identifiable": f.identifiable,
                }
                for f in stored[meta.image_id]
            ]
        else:
            rows = [
                {
                    "face": None,
                    "box": [round(v, 4) for v in vars(found.face.box).values()],
                    "t": None,
                    "size": found.face.size,
                    "person": found.match.person_id if found.match.same else None,
                    "name": found.match.name if found.match.same else None,
                    "nearest": found.match.person_id,
                    "distance": found.match.distance,
                    "identifiable": found.face.identifiable,
                }
                for found in faces_in_file(library, Path(path))
            ]
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print(f"no face found in {args.image}", file=sys.stderr)
        return 0
    for r in rows:
        who = _label(r["name"], r["person"]) if r["person"] is not None else "unknown"
        if r["person"] is None and r.get("nearest") is not None:
            who += f" (nearest: person {r['nearest']}, distance {r['distance']:.2f})"
        elif r["distance"] is not None:
            who += f" (distance {r['distance']:.2f})"
        face = f"face {r['face']}" if r["face"] is not None else "face"
        at = f" @ {clock(r['t'])}" if r["t"] is not None else ""
        box = ",".join(f"{v:.3f}" for v in r["box"])
        print(f"{face}{at}  box {box}  {r['size']} px  {who}")
    return 0
