"""The cold query's sqlite3 reader answers as the full store does, hands anything else to
it, and keeps SQLAlchemy out of a plain search."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from retrieval.faces.model import Box, Face
from retrieval.media.exif import PhotoInfo
from retrieval.records import (
    Analyzed,
    EncodedFile,
    FailedFile,
    FileStamp,
    ModelInfo,
    PhotoDetails,
)
from retrieval.store import Store
from retrieval.store import engine as db
from retrieval.store.details import replace_details
from retrieval.store.faces import replace_faces
from retrieval.store.quick import QuickStore
from retrieval.store.schema import DATABASE_NAME
from tests.conftest import index_with_demo, run_cli, run_in_fresh_process
from tests.helpers import draw


def _library(root: Path) -> Store:
    store = Store.open(root, create=True)
    store.set_model(ModelInfo("m", "/weights/ü.safetensors", 4))
    rng = np.random.default_rng(0)
    files = []
    for i in range(1200):  # more than one chunk of bound parameters
        vector = rng.standard_normal(4).astype(np.float32)
        taken = datetime(2020, 1 + i % 12, 1 + i % 28, 10, i % 60, 5, 123456 * (i % 2))
        files.append(
            EncodedFile(
                FileStamp(f"/photos/été {i}.jpg", 1000 + i, 17 * i, f"h{i}"),
                640,
                480,
                taken if i % 3 else None,
                vector / np.linalg.norm(vector),
            )
        )
    store.write_batch(
        files, [FailedFile(FileStamp("/photos/broken.jpg", 3, 4, None), "bad")]
    )
    ids = sorted(store.meta_by_path(f.path).image_id for f in files[:10])  # type: ignore[union-attr]
    store.trash(ids[:3])
    return store


def test_quick_reads_equal_the_full_store(tmp_path: Path) -> None:
    store = _library(tmp_path)
    quick = QuickStore.open(tmp_path)
    assert quick is not None
    assert quick.model_info() == store.model_info()
    assert quick.generation() == store.generation()
    every = list(range(1300))
    assert quick.meta(every) == store.meta(every)
    assert len(quick.meta(every)) == 1201
    for path in ("/photos/été 5.jpg", "/photos/été 1.jpg", "/photos/broken.jpg", "/x"):
        assert quick.meta_by_path(path) == store.meta_by_path(path)
    assert quick.meta_by_path("/photos/été 0.jpg") is None  # in the trash
    unit = np.full(4, 0.5, dtype=np.float32)
    names = ("pair.JPG", "pair.CR2", "pair.x/deeper.jpg", "pair.edited.jpg", "pai.jpg")
    store.write_batch(
        [
            EncodedFile(FileStamp(f"/shots/{n}", 1, 1, n), 8, 8, None, unit)
            for n in names
        ]
    )
    written = store.write_batch(
        [
            EncodedFile(
                FileStamp("/shots/live.HEIC", 1, 1, "live"),
                8,
                8,
                None,
                unit,
                analyses=(
                    Analyzed("exif", 1, PhotoDetails(PhotoInfo(content_id="ABC-1"))),
                ),
            )
        ],
        writers={"exif": replace_details},
    )
    asked = [*written.ids, 1, 2, 10_000]
    assert (
        quick.content_ids(asked)
        == store.content_ids(asked)
        == {written.ids[0]: "ABC-1"}
    )
    prefixes = ["/shots/pair.", "/shots/pai.", "/photos/été 5.", "/none."]
    assert quick.siblings(prefixes) == store.siblings(prefixes)
    assert [p for _, p in store.siblings(["/shots/pair."])["/shots/pair."]] == [
        "/shots/pair.CR2",
        "/shots/pair.JPG",
        "/shots/pair.edited.jpg",
    ]
    # Who is in the hits: two faces of one named person, one of a hidden one.
    face = Face(Box(0.1, 0.2, 0.3, 0.4), 1.0, (), 80, 200.0, np.ones(128, np.float32))
    shots = [store.meta_by_path(f"/shots/{n}").image_id for n in names[:2]]  # type: ignore[union-attr]
    store.write_analyses(
        [(i, Analyzed("faces", 1, [face])) for i in shots],
        {"faces": replace_faces},
    )
    vectors = store.face_vectors(face.model)
    ids = vectors.face_ids.tolist()
    anna, hidden = store.assign_faces({}, [ids[:1], ids[1:]])
    store.name_person(anna, "Anna")
    store.hide_person(hidden)
    asked = [*shots, 1, 10_000]
    assert quick.people_of(asked) == store.people_of(asked)
    assert store.people_of(asked) == {
        shots[0]: [
            {"person": anna, "name": "Anna", "box": [0.1, 0.2, 0.3, 0.4], "t": None}
        ]
    }
    # Anything else is the full store's answer.
    assert quick.counts() == store.counts()
    quick.close()
    store.close()


def test_quick_store_leaves_odd_libraries_to_the_full_store(tmp_path: Path) -> None:
    assert QuickStore.open(tmp_path / "none") is None
    engine = db.make_engine(tmp_path / DATABASE_NAME)
    db.upgrade(engine, "0004")  # an older schema: the full store migrates it
    engine.dispose()
    assert QuickStore.open(tmp_path) is None
    Store.open(tmp_path, create=False).close()
    quick = QuickStore.open(tmp_path)
    assert quick is not None
    quick.close()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / DATABASE_NAME).write_bytes(b"not a database at all" * 100)
    assert QuickStore.open(tmp_path / "junk") is None


def test_a_plain_cold_search_imports_neither_torch_nor_sqlalchemy(
    tmp_path: Path,
) -> None:
    for i in range(6):
        draw(tmp_path / "photos" / f"{i}.png", (40 * i, 200 - 30 * i, 90))
    library = tmp_path / "library"
    # The towers exported before index returns, so that the search runs on them.
    env = {"PHOTOSEARCH_ENGINE": "auto", "PHOTOSEARCH_EXPORT": "wait"}
    index_with_demo(tmp_path / "photos", library, env=env)
    code = (
        "import os, sys\n"
        "os.environ['PHOTOSEARCH_ENGINE'] = 'auto'\n"
        "from photosearch.cli import main\n"
        f"sys.argv = ['photosearch', 'search', 'a red square', '--library', {str(library)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('SQLALCHEMY' if 'sqlalchemy' in sys.modules else 'NO-SQLALCHEMY')\n"
    )
    output, imported_torch = run_in_fresh_process(code)
    assert not imported_torch
    lines = output.splitlines()
    assert lines[-1] == "NO-SQLALCHEMY", output
    assert len(lines) == 7 and all(".png" in line for line in lines[:-1])


def test_a_damaged_database_is_one_line_for_every_way_in(tmp_path: Path) -> None:
    """The quick reader and the full store's schema check both meet the damaged file
    first: it must still be the store's one-line message, not a traceback."""
    library = tmp_path / "library"
    library.mkdir()
    (library / DATABASE_NAME).write_bytes(bytes(range(256)) * 40)
    for command, engine in (
        (["status"], "torch"),
        (["search", "a red square"], "torch"),
        (["search", "a red square"], "auto"),
    ):
        done = run_cli(
            *command, "--library", str(library), env={"PHOTOSEARCH_ENGINE": engine}
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        expected = (
            "photosearch: error: cannot open the library database "
            f"{library / DATABASE_NAME}: file is not a database; if it is damaged, "
            "move it away and index again"
        )
        assert done.stderr.strip().splitlines() == [expected]
