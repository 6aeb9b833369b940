"""Faces and persons, on real photographs of two people (data/faces/photos: see its
README): told apart, found with a sentence, corrected by the user without clustering
undoing it, back-filled into an old library without CLIP, in a video's moment, and erased."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from indexer.analyzers.base import Analyzer
from indexer.analyzers.exif import ExifAnalyzer
from indexer.analyzers.faces import FaceAnalyzer
from indexer.pipeline import index_folders
from retrieval.faces.cluster import cluster
from retrieval.faces.persons import recluster, update_persons
from retrieval.library import Library
from retrieval.store import Store
from retrieval.store.faces import StoredFace
from tests.conftest import REPO, TEST_BACKEND, index_with_demo, run_cli
from tests.helpers import draw
from tests.videos import make_video

PHOTOS = REPO / "data" / "faces" / "photos"
OBAMA = {"obama1.jpg", "obama2.jpg", "obama3.jpg", "obama_and_biden.jpg"}
BIDEN = {"biden1.jpg", "biden2.jpg", "obama_and_biden.jpg"}
FACES_ON = {"PHOTOSEARCH_FACES": "1"}
# The tests through the command line keep their libraries in SQLite; under
# PHOTOSEARCH_TEST_BACKEND=postgres (make test-postgres) the in-process ones run against
# PostgreSQL and these would only repeat themselves.
cli = pytest.mark.skipif(
    TEST_BACKEND == "postgres", reason="the command line's libraries are SQLite's"
)


def two_people(folder: Path, *, without: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for photo in PHOTOS.glob("*.jpg"):
        if photo.name != without:
            shutil.copy(photo, folder / photo.name)
    # A photo without anyone in it.
    draw(folder / "square.png", (200, 40, 40), size=400, fmt="PNG")
    return folder


def faces_on(library: Library) -> list[Analyzer]:
    return [ExifAnalyzer(), FaceAnalyzer(library.settings)]


def persons_by_photos(library: Library) -> dict[frozenset[str], int]:
    """Each person's set of photo names, and their id."""
    found = {}
    for person in library.store.persons(hidden=True):
        ids = library.store.ids_with_person(person.person_id).tolist()
        names = frozenset(Path(m.path).name for m in library.store.meta(ids).values())
        found[names] = person.person_id
    return found


def faces_of_person(store: Store, person: int) -> list[StoredFace]:
    ids = store.ids_with_person(person).tolist()
    return [
        f
        for faces in store.faces_of(ids).values()
        for f in faces
        if f.person_id == person
    ]


def cli_json(*args: str) -> Any:
    done = run_cli(*args, "--json", env=FACES_ON)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@cli
def test_two_people_are_told_apart_and_found_by_name_with_a_sentence(
    tmp_path: Path,
) -> None:
    photos = two_people(tmp_path / "photos")
    library = tmp_path / "lib"
    index_with_demo(photos, library, env=FACES_ON)

    persons = cli_json("people", "--library", str(library))
    assert [p["photos"] for p in persons] == [4, 3]
    assert all(p["name"] is None and p["faces"] == p["photos"] for p in persons)
    obama, biden = persons[0]["id"], persons[1]["id"]
    assert Path(persons[0]["cover"]).name in OBAMA
    for person, name in ((obama, "Barack Obama"), (biden, "Joe Biden")):
        done = run_cli("people", "name", str(person), name, "--library", str(library))
        assert done.returncode == 0, done.stderr

    # Without a query: the person's photos (their names are case-insensitive).
    listed = cli_json("search", "--person", "barack obama", "--library", str(library))
    assert {Path(r["path"]).name for r in listed} == OBAMA
    # With a sentence and two persons: the photos both are in.
    both = cli_json(
        "search",
        "a photo",
        "--person",
        "Barack Obama",
        "--person",
        str(biden),
        "--library",
        str(library),
    )
    assert [Path(r["path"]).name for r in both] == ["obama_and_biden.jpg"]
    people = {p["name"]: p["box"] for p in both[0]["people"]}
    assert set(people) == {"Barack Obama", "Joe Biden"}
    # Obama stands on the left of that photo, Biden on the right.
    assert people["Barack Obama"][2] < people["Joe Biden"][0]

    text = run_cli("search", "--person", "Joe Biden", "--library", str(library))
    assert text.returncode == 0
    shown = {line.split("  ")[-1] for line in text.stdout.splitlines()}
    assert {"[Barack Obama, Joe Biden]", "[Joe Biden, Barack Obama]"} & shown

    unknown = run_cli("search", "--person", "Anna", "--library", str(library))
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1 and "no person 'Anna'" in unknown.stderr


@cli
def test_who_is_in_a_new_photo_and_photos_of_the_person_in_it(tmp_path: Path) -> None:
    photos = two_people(tmp_path / "photos", without="biden2.jpg")
    library = tmp_path / "lib"
    index_with_demo(photos, library, env=FACES_ON)
    persons = {
        p["photos"]: p["id"] for p in cli_json("people", "--library", str(library))
    }
    biden = persons[2]
    outside = tmp_path / "new.jpg"
    shutil.copy(PHOTOS / "biden2.jpg", outside)

    faces = cli_json("faces", str(outside), "--library", str(library))
    assert len(faces) == 1
    assert faces[0]["person"] == biden and faces[0]["distance"] < 0.55
    assert all(0 <= v <= 1 for v in faces[0]["box"])

    similar = cli_json("similar", str(outside), "--face", "--library", str(library))
    assert {Path(r["path"]).name for r in similar} == {
        "biden1.jpg",
        "obama_and_biden.jpg",
    }
    assert all(0 < r["score"] <= 1 for r in similar)

    mixed = run_cli(
        "similar", str(outside), "--face", "+a beach", "--library", str(library)
    )
    assert mixed.returncode == 2 and "--face" in mixed.stderr

    none = draw(tmp_path / "nobody.png", (10, 200, 10), size=300, fmt="PNG")
    empty = run_cli("similar", str(none), "--face", "--library", str(library))
    assert empty.returncode == 2 and "no face found" in empty.stderr


def test_what_the_user_says_survives_reclustering(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = two_people(tmp_path / "photos")
    index_folders(fake_library, [str(photos)], analyzers=faces_on(fake_library))
    store = fake_library.store
    found = persons_by_photos(fake_library)
    assert set(found) == {frozenset(OBAMA), frozenset(BIDEN)}
    obama, biden = found[frozenset(OBAMA)], found[frozenset(BIDEN)]

    # A name stands.
    store.name_person(obama, "Barack")
    recluster(store)
    assert store.person("barack").person_id == obama
    assert persons_by_photos(fake_library)[frozenset(OBAMA)] == obama

    # "Not this person" stands: the face leaves and never returns.
    biden_face = max(faces_of_person(store, biden), key=lambda f: f.size)
    store.reject_face(biden_face.face_id)
    recluster(store)
    assert store.face(biden_face.face_id).person_id != biden

    # A face moved to another person stays there, even against its likeness.
    store.move_face(biden_face.face_id, obama)
    recluster(store)
    assert store.face(biden_face.face_id).person_id == obama
    store.move_face(biden_face.face_id, biden)

    # A merge stands, and takes the name.
    store.merge_persons(biden, [obama])
    recluster(store)
    merged = persons_by_photos(fake_library)
    assert merged == {frozenset(OBAMA | BIDEN): biden}
    assert store.person(str(biden)).name == "Barack"

    # Hidden stays hidden, and out of the list.
    store.hide_person(biden)
    recluster(store)
    assert store.person(str(biden)).hidden
    assert store.persons() == []


def test_an_old_library_gets_faces_without_clip(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = two_people(tmp_path / "photos")
    index_folders(fake_library, [str(photos)], analyzers=[ExifAnalyzer()])
    encoded = fake_library.encoder.images_encoded  # type: ignore[attr-defined]
    assert fake_library.store.face_count() == 0

    index_folders(fake_library, [str(photos)], analyzers=faces_on(fake_library))
    assert fake_library.encoder.images_encoded == encoded  # type: ignore[attr-defined]
    # Seven faces in six photos; the square has none.
    assert fake_library.store.face_count() == 7
    assert set(persons_by_photos(fake_library)) == {frozenset(OBAMA), frozenset(BIDEN)}
    square = fake_library.store.meta_by_path(str(photos / "square.png"))
    assert square is not None
    assert fake_library.store.faces_of([square.image_id]) == {}


def test_a_bad_file_fails_alone(fake_library: Library, tmp_path: Path) -> None:
    photos = two_people(tmp_path / "photos")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    summary = index_folders(
        fake_library, [str(photos)], analyzers=faces_on(fake_library)
    )
    assert summary.failed == 1
    assert fake_library.store.face_count() == 7


@cli
def test_a_person_is_found_in_a_video_moment(tmp_path: Path) -> None:
    photos = two_people(tmp_path / "photos")
    face = Image.open(PHOTOS / "biden2.jpg").convert("RGB").resize((480, 480))
    frame = Image.new("RGB", (640, 480), (255, 255, 255))
    frame.paste(face, (80, 0))
    make_video(
        photos / "party.mp4",
        [(3.0, Image.new("RGB", (640, 480), (240, 240, 250))), (3.0, frame)],
        size=(640, 480),
    )
    library = tmp_path / "lib"
    index_with_demo(photos, library, env=FACES_ON)
    persons = cli_json("people", "--library", str(library))
    biden = next(p for p in persons if p["photos"] == 4)
    listed = cli_json("search", "--person", str(biden["id"]), "--library", str(library))
    video = next(r for r in listed if r["path"].endswith("party.mp4"))
    # The moment the face is in, not the video's start.
    assert 3.0 <= video["t"] <= 6.0
    text = run_cli("search", "--person", str(biden["id"]), "--library", str(library))
    assert "party.mp4 @ 0:0" in text.stdout


@cli
def test_faces_off_finds_none_and_forget_erases_them(tmp_path: Path) -> None:
    photos = two_people(tmp_path / "photos")
    library = tmp_path / "lib"
    index_with_demo(photos, library, env={"PHOTOSEARCH_FACES": "0"})
    assert cli_json("people", "--library", str(library)) == []
    index_with_demo(photos, library, "--no-faces", env=FACES_ON)
    assert cli_json("people", "--library", str(library)) == []

    index_with_demo(photos, library, env=FACES_ON)
    assert len(cli_json("people", "--library", str(library))) == 2
    done = run_cli("people", "--forget", "--library", str(library))
    assert done.returncode == 0 and "forgot 7 faces" in done.stdout
    assert cli_json("people", "--library", str(library)) == []
    faces = cli_json("faces", str(photos / "biden1.jpg"), "--library", str(library))
    assert all(f["person"] is None for f in faces)


def test_clustering_joins_groups_waits_and_respects_rejections() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 128)).astype(np.float32)
    centres *= 2 / np.linalg.norm(centres, axis=1, keepdims=True)

    def near(c: int) -> np.ndarray:
        return centres[c] + rng.normal(scale=0.01, size=128).astype(np.float32)

    # Faces 0-1: person 7 already; 2: someone new alone; 3-4: two of a third; 5: a
    # face like person 7's but rejected from them; 6: too small to tell.
    vectors = np.stack([near(0), near(0), near(1), near(2), near(2), near(0), near(0)])
    ids = np.arange(10, 17, dtype=np.int64)
    persons = np.array([7, 7, -1, -1, -1, -1, -1], dtype=np.int64)
    usable = np.array([True] * 6 + [False])
    outcome = cluster(ids, persons, usable, vectors, frozenset({(15, 7)}))
    assert outcome.joins == {}  # 15 may not join 7; nothing else is like 7
    assert outcome.groups == [[13, 14]]  # 12 waits alone; 16 never seeds
    persons[5] = -1
    outcome = cluster(ids, persons, usable, vectors)
    assert outcome.joins == {15: 7}


@cli
@pytest.mark.parametrize("value", ["2", "yes please"])
def test_a_bad_faces_setting_is_one_line(tmp_path: Path, value: str) -> None:
    done = run_cli(
        "index",
        str(tmp_path),
        "--library",
        str(tmp_path / "lib"),
        env={"PHOTOSEARCH_FACES": value},
    )
    assert done.returncode == 2
    assert "PHOTOSEARCH_FACES" in done.stderr and done.stderr.count("\n") == 1


def test_persons_update_as_photos_arrive(fake_library: Library, tmp_path: Path) -> None:
    photos = two_people(tmp_path / "photos", without="obama3.jpg")
    index_folders(fake_library, [str(photos)], analyzers=faces_on(fake_library))
    before = persons_by_photos(fake_library)
    obama = before[frozenset(OBAMA - {"obama3.jpg"})]
    shutil.copy(PHOTOS / "obama3.jpg", photos / "obama3.jpg")
    index_folders(fake_library, [str(photos)], analyzers=faces_on(fake_library))
    assert persons_by_photos(fake_library)[frozenset(OBAMA)] == obama
    assert update_persons(fake_library.store).joins == {}


def test_the_api_names_merges_corrects_and_filters_by_person(
    fake_library: Library, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from photosearch.web.app import create_app

    photos = two_people(tmp_path / "photos")
    index_folders(fake_library, [str(photos)], analyzers=faces_on(fake_library))
    client = TestClient(create_app(fake_library), base_url="http://127.0.0.1")
    persons = client.get("/api/people").json()
    assert [p["photos"] for p in persons] == [4, 3]
    obama, biden = persons[0]["id"], persons[1]["id"]

    named = client.put(f"/api/people/{obama}/name", json={"name": "Barack"})
    assert named.status_code == 200 and named.json()["name"] == "Barack"
    listed = client.get("/api/images", params={"person": "barack"}).json()["results"]
    assert {r["name"] for r in listed} == OBAMA
    both = client.get(
        "/api/search", params={"q": "a photo", "person": ["Barack", str(biden)]}
    ).json()["results"]
    assert [r["name"] for r in both] == ["obama_and_biden.jpg"]
    assert {p["name"] for p in both[0]["people"]} == {"Barack", None}
    assert client.get("/api/images", params={"person": "Anna"}).status_code == 404

    thumb = client.get(f"/api/faces/{persons[0]['cover_face']}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (160, 160)

    # A photo taken out of a person: its face leaves them for good.
    pair = next(r for r in listed if r["name"] == "obama_and_biden.jpg")
    faces = client.post(f"/api/people/{obama}/remove", json={"image_id": pair["id"]})
    assert faces.status_code == 200
    assert obama not in {f["person"] for f in faces.json()}
    # Named from the large view: the face is Barack again.
    face = next(f for f in faces.json() if f["person"] is None)
    again = client.put(f"/api/faces/{face['id']}/person", json={"name": "Barack"})
    assert again.json()["person"] == obama
    assert client.get(f"/api/images/{pair['id']}/faces").status_code == 200

    merged = client.post(f"/api/people/{obama}/merge", json={"others": [biden]})
    assert merged.json()["photos"] == 6
    assert client.get(f"/api/people/{biden}").status_code == 404
    hidden = client.put(f"/api/people/{obama}/hidden", json={"hidden": True})
    assert hidden.json()["hidden"] is True
    assert client.get("/api/people").json() == []
    bad = client.post(f"/api/people/{obama}/merge", json={"others": [obama]})
    assert bad.status_code == 400 and "error" in bad.json()


def test_the_daemon_gives_new_arrivals_their_person(
    tmp_path: Path, test_database: str | None
) -> None:
    import threading

    from indexer.watch import Watcher, WatchOptions
    from tests.helpers import open_library, wait_for

    library = open_library(tmp_path, faces=True, database=test_database)
    photos = tmp_path / "photos"
    photos.mkdir()
    watcher = Watcher(library, [str(photos)], WatchOptions(debounce=0.2))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: watcher.batches >= 1)
        for name in ("biden1.jpg", "biden2.jpg"):
            shutil.copy(PHOTOS / name, photos / name)
        wait_for(lambda: len(library.store.persons()) == 1, timeout=60)
        shutil.copy(PHOTOS / "obama_and_biden.jpg", photos / "obama_and_biden.jpg")
        wait_for(lambda: library.store.persons()[0].photos == 3, timeout=60)
    finally:
        watcher.stop()
        thread.join(timeout=10)
        library.close()
