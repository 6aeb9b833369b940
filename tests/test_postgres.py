"""The library's tables in PostgreSQL (`--database URL`): the same migrations and the same
promises as SQLite, against a real server the tests start (tests/postgres.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from indexer.daemon_lock import DaemonLock
from indexer.pipeline import index_folders
from retrieval.errors import LibraryError
from retrieval.library import Library
from retrieval.search.search import SearchOptions, search
from retrieval.settings import Settings
from retrieval.store import Store
from retrieval.store import engine as db
from retrieval.store.models import Base, modelled
from tests.conftest import index_with_demo, run_cli
from tests.fakes import FakeEncoder
from tests.helpers import draw
from tests.postgres import fresh_database, postgres_server
from tests.videos import BLUE_STAR, scene_frame, shapes_video


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture
def database(server: str) -> str:
    return fresh_database(server)


def open_library(root: Path, database: str) -> Library:
    settings = Settings(
        faces=False, text=False, library=root, batch_size=4, database=database
    )
    store = Store.open(root, create=True, database=database)
    encoder = FakeEncoder()
    return Library(store, settings, encoder.info, encoder)


def test_a_blank_database_upgraded_is_the_models_schema(database: str) -> None:
    engine = db.make_engine(database)
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"include_object": modelled}),
            Base.metadata,
        )
        # Text is matched through pg_trgm's index (Debian's server ships the extension).
        trigram = connection.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_image_texts_folded_trgm'"
        ).scalar()
    assert diff == []
    assert trigram is not None and "gin_trgm_ops" in trigram
    from alembic import command

    config = db.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


def test_a_populated_older_library_upgrades_and_then_holds_big_files(
    database: str, tmp_path: Path
) -> None:
    engine = db.make_engine(database)
    db.upgrade(engine, "0006")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO library_info (id, model_name, pretrained, dim, created_at, "
                "vectors_generation, changes_from) VALUES "
                "(1, 'fake', 'fake-weights', 16, '2026-01-01', 1, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO images (id, path, size, mtime_ns, status, indexed_at) "
                "VALUES (1, '/p/a.jpg', 10, 5, 'ok', '2026-01-01')"
            )
        )
    engine.dispose()
    store = Store.open(tmp_path / "lib", create=False, database=database)
    try:
        assert store.meta([1])[1].path == "/p/a.jpg"
        with store.session() as s:
            # A 5 GB video modified in 2026: sizes and nanosecond times over 2**31.
            s.execute(
                text("UPDATE images SET size = :size, mtime_ns = :t WHERE id = 1"),
                {"size": 5 * 2**30, "t": 1_780_000_000_123_456_789},
            )
        meta = store.meta([1])[1]
        assert (meta.size, meta.mtime_ns) == (5 * 2**30, 1_780_000_000_123_456_789)
    finally:
        store.close()


def test_index_search_move_and_delete_as_on_sqlite(
    database: str, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    red = draw(photos / "red.png", (250, 0, 0), fmt="PNG")
    draw(photos / "Sub" / "green.png", (0, 250, 0), fmt="PNG")
    draw(photos / "sub.d" / "blue.png", (0, 0, 250), fmt="PNG")
    shapes_video(photos / "party.mp4")
    library = open_library(tmp_path / "lib", database)
    try:
        summary = index_folders(library, [str(photos)])
        assert summary.added == 4 and summary.failed == 0
        store, dim = library.store, library.model.dim
        encoder = library.encoder
        # A folder's files are one range of paths (byte order, not the locale's).
        assert len(store.ids_under(str(photos / "Sub"))) == 1
        assert len(store.ids_under(str(photos / "sub.d"))) == 1
        query = encoder.encode_images([scene_frame(BLUE_STAR, (320, 240))])[0]
        hits = search(library, query, SearchOptions(top=2))
        assert hits[0].path.endswith("party.mp4") and hits[0].kind == "video"
        assert hits[0].t is not None and 4 <= hits[0].t < 8
        red.rename(photos / "Sub" / "red-moved.png")
        (photos / "sub.d" / "blue.png").unlink()
        again = index_folders(library, [str(photos)])
        assert (again.moved, again.removed) == (1, 1)
        assert len(library.index) == store.entry_count(dim)
        assert {Path(p).name for p in store.file_states()} >= {"red-moved.png"}
    finally:
        library.close()
    # Another machine's reader: its own folder, the same database, an index built from it.
    reader = Library.open(
        Settings(
            faces=False, text=False, library=tmp_path / "reader", database=database
        ),
        create=True,
    )
    try:
        assert len(reader.index) == reader.store.entry_count(reader.model.dim)
        hits = search(reader, query, SearchOptions(top=1))
        assert hits[0].path.endswith("party.mp4")
    finally:
        reader.close()


def test_one_daemon_per_library_across_machines(database: str, tmp_path: Path) -> None:
    first = Store.open(tmp_path / "machine-a", create=True, database=database)
    second = Store.open(tmp_path / "machine-b", create=True, database=database)
    try:
        lock = DaemonLock(first.root, first.engine)
        lock.acquire()
        other = DaemonLock(second.root, second.engine)
        with pytest.raises(LibraryError, match="already running for the library in"):
            other.acquire()
        lock.release()
        other.acquire()  # the first one gone: the lock is free again
        other.release()
    finally:
        first.close()
        second.close()


def test_bad_database_urls_say_what_to_fix(server: str, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    unreachable = server.rsplit(":", 1)[0] + ":1/postgres"
    with pytest.raises(LibraryError, match="cannot reach the library database"):
        Store.open(root, create=True, database=unreachable)
    with pytest.raises(LibraryError, match="not a database URL photosearch can use"):
        Store.open(root, create=True, database="nosuchdb://x/y")
    secret = server.replace("postgres@", "postgres:hunter2@").rsplit(":", 1)[0] + ":1/x"
    with pytest.raises(LibraryError) as caught:
        Store.open(root, create=True, database=secret)
    assert "hunter2" not in str(caught.value)

    other_project = fresh_database(server)
    engine = create_engine(other_project)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id integer)"))
    engine.dispose()
    with pytest.raises(
        LibraryError, match="not a photosearch library's \\(invoices\\)"
    ):
        Store.open(root, create=True, database=other_project)

    newer = fresh_database(server)
    Store.open(root, create=True, database=newer).close()
    engine = create_engine(newer)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(LibraryError, match="made by a newer photosearch"):
        Store.open(root, create=False, database=newer)

    empty = fresh_database(server)
    with pytest.raises(LibraryError, match="no photosearch library in the database"):
        Store.open(root, create=False, database=empty)


def test_the_command_line_takes_the_database_url(database: str, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    draw(photos / "a.png", (250, 0, 0), fmt="PNG")
    draw(photos / "b.png", (0, 0, 250), fmt="PNG")
    library = tmp_path / "lib"
    index_with_demo(photos, library, "--database", database)
    assert not (library / "library.db").exists()  # the tables are in the server
    env = {"PHOTOSEARCH_DATABASE": database}
    found = run_cli("search", "a red square", "--library", str(library), env=env)
    assert found.returncode == 0 and "a.png" in found.stdout, found.stderr
    status = run_cli("status", "--library", str(library), env=env)
    assert status.returncode == 0 and "2 indexed" in status.stdout
    bad = run_cli(
        "status",
        "--library",
        str(library),
        "--database",
        "postgresql+psycopg://x@127.0.0.1:1/y",
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "cannot reach" in bad.stderr


def test_vectors_round_trip_exactly(database: str, tmp_path: Path) -> None:
    from retrieval.records import EncodedFile, FileStamp

    store = Store.open(tmp_path / "lib", create=True, database=database)
    try:
        store.set_model(FakeEncoder().info)
        vector = np.linspace(-1, 1, 16, dtype=np.float32)
        vector /= np.linalg.norm(vector)
        written = store.write_batch(
            [EncodedFile(FileStamp("/p/x.jpg", 2**33, 2**62, "h"), 4, 3, None, vector)]
        )
        [back] = store.vectors(written.ids, 16)
        assert np.array_equal(back, vector.astype(np.float16).astype(np.float32))
    finally:
        store.close()


@pytest.mark.parametrize("point", ["encoded:2", "before-commit:2", "batch-committed:1"])
def test_a_kill_during_a_batch_leaves_a_consistent_library(
    server: str, tmp_path: Path, point: str
) -> None:
    import random
    import signal

    from tests.conftest import random_color
    from tests.helpers import start_index

    database = fresh_database(server)
    photos = tmp_path / "photos"
    rng = random.Random(7)
    for i in range(30):
        draw(photos / f"p{i}.png", random_color(rng), fmt="PNG")
    library = tmp_path / "lib"
    env = {"PHOTOSEARCH_DATABASE": database}
    os.environ.update(env)
    try:
        proc = start_index(photos, library, crash_at=point)
        proc.wait(timeout=300)
        assert proc.returncode == -signal.SIGKILL
        proc = start_index(photos, library)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    finally:
        os.environ.pop("PHOTOSEARCH_DATABASE", None)
    opened = Library.open(
        Settings(faces=False, text=False, library=library, database=database)
    )
    try:
        states = opened.store.file_states()
        assert {Path(p).name for p in states} == {f"p{i}.png" for i in range(30)}
        assert all(s.status == "ok" for s in states.values())
        dim = opened.model.dim
        assert opened.store.entry_count(dim) == 30 == len(opened.index)
        assert (
            len(opened.store.vectors([s.image_id for s in states.values()], dim)) == 30
        )
    finally:
        opened.close()


def test_the_daemon_follows_a_folder_into_the_server(
    database: str, tmp_path: Path
) -> None:
    import threading

    from indexer.watch import Watcher, WatchOptions
    from tests.helpers import paths_in, wait_for

    photos = tmp_path / "photos"
    photos.mkdir()
    library = open_library(tmp_path / "lib", database)
    watcher = Watcher(library, [str(photos)], WatchOptions(debounce=0.2))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: watcher.batches >= 1)
        # One photo stays: a folder left empty looks like a drive unplugged.
        keep = draw(photos / "keep.png", (0, 0, 250), fmt="PNG")
        a = draw(photos / "a.png", (250, 0, 0), fmt="PNG")
        wait_for(lambda: paths_in(library) == {str(a), str(keep)})
        a.rename(photos / "b.png")
        wait_for(lambda: paths_in(library) == {str(photos / "b.png"), str(keep)})
        (photos / "b.png").unlink()
        wait_for(lambda: paths_in(library) == {str(keep)})
        assert len(library.index) == library.store.entry_count(library.model.dim)
    finally:
        watcher.stop()
        thread.join(timeout=10)
        library.close()
