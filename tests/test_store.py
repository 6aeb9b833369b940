from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval.errors import LibraryError, NotFoundError
from retrieval.records import EncodedFile, FailedFile, FileStamp, ModelInfo, TagScores
from retrieval.store import Store
from retrieval.vectors import l2_normalize

MODEL = ModelInfo("m", "w", 4)


def write(store: Store, *args: Any) -> tuple[list[int], list[int]]:
    """write_batch's ids of the encoded and of the failed files."""
    written = store.write_batch(*args)
    return written.ids, written.failed_ids


def vec(*values: float) -> np.ndarray:
    return l2_normalize(np.asarray([values], dtype=np.float32))[0]


def encoded(path: str, v: np.ndarray, digest: str = "h") -> EncodedFile:
    return EncodedFile(FileStamp(path, 10, 20, digest), 3, 2, None, v)


@pytest.fixture
def store(tmp_path: Path, test_database: str | None):
    s = Store.open(tmp_path / "lib", create=True, database=test_database)
    s.set_model(MODEL)
    yield s
    s.close()


def test_open_missing_library_without_create_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="photosearch index"):
        Store.open(tmp_path / "nowhere", create=False)


def test_connection_pragmas(store: Store) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's own settings")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_write_batch_replaces_by_path_keeping_the_id(store: Store) -> None:
    (first,), _ = write(store, [encoded("/a.jpg", vec(1, 0, 0, 0), "h1")])
    generation = store.generation()
    (again,), _ = write(store, [encoded("/a.jpg", vec(0, 1, 0, 0), "h2")])
    assert again == first
    assert store.generation() == generation + 1
    np.testing.assert_allclose(store.vectors([first], 4)[0], vec(0, 1, 0, 0))
    assert store.meta([first])[first].content_hash == "h2"


def test_failure_drops_the_vector_and_keeps_the_reason(store: Store) -> None:
    (image_id,), _ = write(store, [encoded("/a.jpg", vec(1, 0, 0, 0))])
    _, (failed_id,) = write(
        store, [], [FailedFile(FileStamp("/a.jpg", 1, 2, None), "truncated")]
    )
    assert failed_id == image_id
    assert store.counts() == {
        "images": 0,
        "videos": 0,
        "video_seconds": 0,
        "failed": 1,
        "vectors": 0,
        "label_sets": 0,
        "trashed": 0,
    }
    assert store.failures()[0].error == "truncated"


def test_one_large_mixed_batch_writes_what_file_by_file_writes_would(
    store: Store,
) -> None:
    """1,200 files (more than one `IN (...)` chunk): replacements keep their ids and lose
    their tags, new files get vectors, failures lose vectors and tags, and nothing else
    in the library is touched."""
    rng = np.random.default_rng(0)
    old = [encoded(f"/old/{i}.jpg", vec(*rng.standard_normal(4))) for i in range(900)]
    old_ids, _ = write(store, old)
    store.save_label_set("s", ["x", "y"], 0.5, 1)
    scores = np.full((len(old_ids), 2), 0.5)
    store.write_tags(
        old_ids, TagScores(store.label_set("s"), scores, np.ones_like(scores, bool))
    )
    replaced = [
        encoded(f"/old/{i}.jpg", vec(*rng.standard_normal(4)), "new")
        for i in range(600)
    ]
    added = [encoded(f"/new/{i}.jpg", vec(*rng.standard_normal(4))) for i in range(500)]
    failed = [
        FailedFile(FileStamp(f"/old/{i}.jpg", 1, 2, None), "broken")
        for i in range(600, 700)
    ]
    failed += [FailedFile(FileStamp("/new/broken.jpg", 1, 2, None), "empty")]
    ids, failed_ids = write(store, [*replaced, *added], failed)

    assert ids[:600] == old_ids[:600]
    assert failed_ids[:100] == old_ids[600:700]
    assert len(set(ids[600:]) | {failed_ids[-1]} | set(old_ids)) == 900 + 501
    assert store.counts() == {
        "images": 900 - 100 + 500,
        "videos": 0,
        "video_seconds": 0,
        "failed": 101,
        "vectors": 900 - 100 + 500,
        "label_sets": 1,
        "trashed": 0,
    }
    written = store.vectors(ids, 4)
    expected = np.stack([item.vector for item in [*replaced, *added]])
    np.testing.assert_allclose(written, expected, atol=1e-3)
    untouched = old_ids[700:]
    np.testing.assert_allclose(
        store.vectors(untouched, 4),
        np.stack([item.vector for item in old[700:]]),
        atol=1e-3,
    )
    tagged = {t.path for t in store.tags(assigned_only=False)}
    assert tagged == {item.path for item in old[700:]}
    meta = store.meta(ids[:600])
    assert all(m.content_hash == "new" for m in meta.values())
    assert {f.error for f in store.failures()} == {"broken", "empty"}


def test_move_swaps_paths_without_tripping_uniqueness(store: Store) -> None:
    (a, b), _ = write(
        store, [encoded("/a.jpg", vec(1, 0, 0, 0)), encoded("/b.jpg", vec(0, 1, 0, 0))]
    )
    store.move([(a, "/b.jpg", 10, 20), (b, "/a.jpg", 10, 20)])
    meta = store.meta([a, b])
    assert meta[a].path == "/b.jpg" and meta[b].path == "/a.jpg"


def test_remove_cascades_to_vectors_and_tags(store: Store) -> None:
    (a,), _ = write(store, [encoded("/a.jpg", vec(1, 0, 0, 0))])
    store.save_label_set("s", ["x", "y"], 0.5, 1)
    label_set = store.label_set("s")
    store.write_tags(
        [a], TagScores(label_set, np.array([[0.9, 0.1]]), np.array([[True, False]]))
    )
    store.remove([a])
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from embeddings").scalar() == 0
        assert conn.exec_driver_sql("select count(*) from image_tags").scalar() == 0


def test_model_change_drops_old_vectors(store: Store) -> None:
    store.write_batch([encoded("/a.jpg", vec(1, 0, 0, 0))])
    store.set_model(ModelInfo("other", "w", 4))
    assert store.model_info() == ModelInfo("other", "w", 4)
    assert store.counts()["vectors"] == 0
    assert len(store.ids_without_vector()) == 1


def test_paths_under_a_folder_do_not_match_siblings(store: Store) -> None:
    ids, _ = write(
        store,
        [
            encoded("/photos/a.jpg", vec(1, 0, 0, 0)),
            encoded("/photos2/b.jpg", vec(0, 1, 0, 0)),
            encoded("/photos/sub/c.jpg", vec(0, 0, 1, 0)),
            encoded("/pho%os/d.jpg", vec(0, 0, 0, 1)),
        ],
    )
    assert sorted(store.ids_under("/photos").tolist()) == [ids[0], ids[2]]
    assert store.ids_under("/pho%").tolist() == []


def test_label_sets_and_tags(store: Store) -> None:
    (a, b), _ = write(
        store, [encoded("/a.jpg", vec(1, 0, 0, 0)), encoded("/b.jpg", vec(0, 1, 0, 0))]
    )
    store.save_label_set("pets", ["cat", "dog"], 0.5, 1)
    pets = store.label_set("pets")
    store.write_tags(
        [a, b],
        TagScores(
            pets,
            np.array([[0.8, 0.2], [0.3, 0.7]]),
            np.array([[True, False], [False, True]]),
        ),
    )
    assert [(t.path, t.label) for t in store.tags()] == [
        ("/a.jpg", "cat"),
        ("/b.jpg", "dog"),
    ]
    assert store.ids_tagged("dog").tolist() == [b]
    assert len(store.tags(assigned_only=False)) == 4
    # Saving the set again with one label changed keeps the other label's tags.
    store.save_label_set("pets", ["cat", "bird"], 0.4, 2)
    assert [t.label for t in store.tags()] == ["cat"]
    assert store.label_set("pets").labels == ("cat", "bird")
    with pytest.raises(NotFoundError, match="known labels: bird, cat"):
        store.ids_tagged("horse")
    store.delete_label_set("pets")
    with pytest.raises(NotFoundError, match="no label set 'pets'"):
        store.label_set("pets")


def test_restore_swaps_paths_and_displaces_an_older_trashed_image(store: Store) -> None:
    a, b, c = write(
        store,
        [
            encoded("/a.jpg", vec(1, 0, 0, 0), "ha"),
            encoded("/b.jpg", vec(0, 1, 0, 0), "hb"),
            encoded("/c.jpg", vec(0, 0, 1, 0), "hc"),
        ],
    )[0]
    generation = store.trash([a, b, c])
    assert generation is not None and store.counts()["trashed"] == 3
    # a and b come back under each other's names; c stays in the trash.
    after = store.restore([(a, "/b.jpg", 10, 20), (b, "/a.jpg", 10, 20)])
    assert after == generation + 1
    assert store.meta_by_path("/b.jpg").image_id == a  # type: ignore[union-attr]
    assert store.meta_by_path("/a.jpg").image_id == b  # type: ignore[union-attr]
    assert [m.image_id for m in store.trashed()] == [c]
    store.restore([(a, "/c.jpg", 10, 20)])  # a moves onto trashed c's path: c gives way
    assert store.trashed() == []
    assert store.meta_by_path("/c.jpg").image_id == a  # type: ignore[union-attr]
    changes = store.changes_since(generation, 4)
    assert changes is not None and set(changes.removed) == {a, b}  # c was out already
    assert set(changes.added) == {a, b}


def test_roots_are_written_only_when_their_state_changes(store: Store) -> None:
    """The watch daemon looks at its roots every few seconds: an idle library must not
    be written each time."""
    from sqlalchemy import event

    writes: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    assert store.record_roots(["/a"], {"/b": "missing"}) == {"/b"}
    assert len(writes) > 0
    writes.clear()
    assert store.record_roots(["/a"], {"/b": "missing"}) == set()
    assert writes == []
    assert store.record_roots(["/a", "/b"], {}) == set()  # /b is back
    b = store.roots()[1]
    assert b.offline_since is None and b.online_since is not None
    assert store.record_roots([], {"/a": "empty"}) == {"/a"}
    assert store.roots()[0].offline_reason == "empty"
