"""The watch daemon, in process with the fake encoder: events, moves, settle, churn."""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from indexer.daemon_lock import DaemonLock
from indexer.pipeline import index_folders
from indexer.watch import Watcher, WatchOptions
from retrieval.errors import LibraryError
from retrieval.library import Library
from retrieval.settings import Settings
from retrieval.store import Store
from tests.conftest import random_color
from tests.fakes import FakeEncoder
from tests.helpers import draw, encoder_of, paths_in, wait_for


def test_new_moved_renamed_and_deleted_files_follow_the_folder(
    watching: tuple[Watcher, Path],
) -> None:
    watcher, photos = watching
    library = watcher.library
    fake = encoder_of(library)
    a = draw(photos / "a.png", (250, 0, 0), fmt="PNG")
    draw(photos / "trip" / "b.png", (0, 250, 0), fmt="PNG")
    wait_for(lambda: paths_in(library) == {str(a), str(photos / "trip" / "b.png")})
    encoded = fake.images_encoded
    os.rename(photos / "trip", photos / "holiday")
    shutil.move(str(a), photos / "holiday" / "a-moved.png")
    wait_for(
        lambda: (
            paths_in(library)
            == {
                str(photos / "holiday" / "b.png"),
                str(photos / "holiday" / "a-moved.png"),
            }
        )
    )
    assert fake.images_encoded == encoded  # moves keep their vectors
    (photos / "holiday" / "b.png").unlink()
    wait_for(lambda: paths_in(library) == {str(photos / "holiday" / "a-moved.png")})
    wait_for(lambda: len(library.index) == 1)


def test_a_file_still_being_written_waits_until_it_settles(
    watching: tuple[Watcher, Path],
) -> None:
    watcher, photos = watching
    store = watcher.library.store
    written: list[tuple[str, int]] = []  # (path, size) of every file the daemon wrote
    write_batch = store.write_batch

    def spy(encoded, failed=(), tags=(), writers=None):
        written.extend((f.path, f.size) for f in [*encoded, *failed])
        return write_batch(encoded, failed, tags, writers)

    store.write_batch = spy  # type: ignore[method-assign]
    target = photos / "slow.png"
    whole = draw(photos.parent / "whole.png", (10, 20, 200), fmt="PNG").read_bytes()
    with open(target, "wb") as f:
        for i in range(0, len(whole), 40):
            f.write(whole[i : i + 40])
            f.flush()
            os.utime(target)
            time.sleep(0.03)
    wait_for(lambda: paths_in(watcher.library) == {str(target)})
    # Indexed once, whole: never a half-written version, not even one that failed and
    # was replaced later.
    assert written == [(str(target), len(whole))]
    assert store.failures() == []


def test_second_daemon_on_the_same_library_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    first = DaemonLock(root)
    first.acquire()
    with pytest.raises(LibraryError, match=f"pid {os.getpid()}"):
        DaemonLock(root).acquire()
    first.release()
    again = DaemonLock(root)
    again.acquire()
    again.release()


def churn(photos: Path, rng: random.Random, operations: int) -> int:
    """Create, modify, rename, move and delete files in bursts; returns operations done."""
    done = 0
    folders = [photos / f"f{i}" for i in range(5)]
    for folder in folders:
        folder.mkdir(exist_ok=True)
    counter = 0
    while done < operations:
        for _ in range(rng.randint(20, 80)):
            files = [p for folder in folders for p in folder.glob("*.png")]
            action = rng.random()
            if action < 0.45 or len(files) < 10:
                counter += 1
                draw(
                    rng.choice(folders) / f"n{counter}.png",
                    random_color(rng),
                    size=16,
                    fmt="PNG",
                )
            elif action < 0.6:
                draw(rng.choice(files), random_color(rng), size=16, fmt="PNG")
            elif action < 0.75:
                src = rng.choice(files)
                counter += 1
                src.rename(src.with_name(f"r{counter}.png"))
            elif action < 0.87:
                src = rng.choice(files)
                counter += 1
                shutil.move(str(src), rng.choice(folders) / f"m{counter}.png")
            else:
                rng.choice(files).unlink()
            done += 1
        if rng.random() < 0.2:  # now and then a whole folder is renamed
            i = rng.randrange(len(folders))
            counter += 1
            renamed = photos / f"f{i}-{counter}"
            folders[i].rename(renamed)
            folders[i] = renamed
            done += 1
        time.sleep(rng.uniform(0.0, 0.3))
    return done


def test_churn_ends_equal_to_a_fresh_full_index(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    # Exclusive: each photo's tag follows from its own vector. An open-world set's
    # calibration follows the library's history (refitted as it doubles), which the
    # daemon's batches and a fresh index do not share: under load, a photo on the edge
    # of light and dark once came out the other side.
    fake_library.store.save_label_set(
        "tones", ["light", "dark"], 0.0, 1, exclusive=True
    )
    watcher = Watcher(fake_library, [str(photos)], WatchOptions(debounce=0.3))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    wait_for(lambda: watcher.batches >= 1)
    done = churn(photos, random.Random(1234), 1000)
    assert done >= 1000
    on_disk = {str(p) for p in photos.rglob("*.png")}
    wait_for(lambda: paths_in(fake_library) == on_disk, timeout=60)
    watcher.stop()
    thread.join(timeout=10)

    fresh_settings = Settings(
        faces=False, text=False, library=tmp_path / "fresh", batch_size=4
    )
    fresh_store = Store.open(fresh_settings.library, create=True)
    fresh = Library(fresh_store, fresh_settings, fake_library.model, FakeEncoder())
    fresh_store.save_label_set("tones", ["light", "dark"], 0.0, 1, exclusive=True)
    index_folders(fresh, [str(photos)])

    def snapshot(library: Library) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
        states = {
            p: s for p, s in library.store.file_states().items() if s.status == "ok"
        }
        vectors = library.store.vectors([s.image_id for s in states.values()], 16)
        tags: dict[str, list[str]] = {}
        for tag in library.store.tags():
            tags.setdefault(tag.path, []).append(tag.label)
        return {
            path: (vector, tuple(sorted(tags.get(path, []))))
            for path, vector in zip(states, vectors, strict=True)
        }

    watched, expected = snapshot(fake_library), snapshot(fresh)
    assert set(watched) == set(expected)
    for path, (vector, tags) in expected.items():
        np.testing.assert_allclose(watched[path][0], vector, atol=1e-6)
        assert watched[path][1] == tags, path
    from retrieval.index.sync import open_index

    assert len(open_index(fake_library.store, 16)) == len(expected)
    fresh.close()
