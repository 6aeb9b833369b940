"""Drives that come and go: an offline root keeps its photos; files gone for real go to the
trash and come back from it with their ids, vectors and tags, never re-encoded."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.pipeline import index_folders
from indexer.watch import Watcher, WatchOptions
from photosearch.web.app import create_app
from retrieval.errors import UsageError
from retrieval.library import Library
from retrieval.search.search import SearchOptions, search
from retrieval.tagging.scoring import tag_images
from tests.conftest import run_cli
from tests.helpers import draw, encoder_of, wait_for

COLOURS = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0)]


def make_photos(root: Path) -> list[Path]:
    return [
        draw(root / ("sub" if i % 2 else "") / f"p{i}.png", c, fmt="PNG")
        for i, c in enumerate(COLOURS)
    ]


def ids_by_path(library: Library) -> dict[str, int]:
    return {p: s.image_id for p, s in library.store.file_states().items()}


def searchable(library: Library) -> set[int]:
    vector = library.store.vectors([next(iter(ids_by_path(library).values()))], 16)
    hits = search(library, vector[0], SearchOptions(top=100))
    return {h.image_id for h in hits}


def offline(library: Library) -> bool:
    return any(r.offline_since is not None for r in library.store.roots())


def unplug_and_check(library: Library, photos: Path, unplug: str) -> None:
    before = ids_by_path(library)
    encoded = encoder_of(library).images_encoded
    away = photos.with_name("away")
    photos.rename(away)
    if unplug == "empty":
        photos.mkdir()  # an empty mount point
    summary = index_folders(library, [str(photos)])
    assert summary.removed == 0
    assert ids_by_path(library) == before
    assert searchable(library) == set(before.values())
    (root,) = library.store.roots()
    assert root.offline_since is not None
    assert root.offline_reason == ("empty" if unplug == "empty" else "missing")
    # Back: nothing encoded, same ids.
    if unplug == "empty":
        photos.rmdir()
    away.rename(photos)
    summary = index_folders(library, [str(photos)])
    assert summary.line().startswith("added 0, updated 0, moved 0, removed 0")
    assert ids_by_path(library) == before
    assert encoder_of(library).images_encoded == encoded
    assert library.store.roots()[0].offline_since is None


@pytest.mark.parametrize("unplug", ["missing", "empty"])
def test_an_offline_root_keeps_its_photos(
    fake_library: Library, tmp_path: Path, unplug: str
) -> None:
    photos = tmp_path / "photos"
    make_photos(photos)
    index_folders(fake_library, [str(photos)])
    unplug_and_check(fake_library, photos, unplug)


def test_a_missing_folder_the_library_never_had_is_an_error(
    fake_library: Library, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        index_folders(fake_library, [str(tmp_path / "never")])
    # An empty folder that never had photos is just empty.
    (tmp_path / "empty").mkdir()
    assert index_folders(fake_library, [str(tmp_path / "empty")]).added == 0


def test_deleted_files_go_to_the_trash_and_come_back_whole(
    fake_library: Library, tmp_path: Path
) -> None:
    library = fake_library
    photos = tmp_path / "photos"
    files = make_photos(photos)
    index_folders(library, [str(photos)])
    library.store.save_label_set("colours", ["red", "green"], 0.0, 2)
    tag_images(library.store, library.encoder, library.store.label_set("colours"))
    before = ids_by_path(library)
    gone = files[0]
    gone_id = before[str(gone)]
    tags_before = library.store.tags(image_id=gone_id)
    kept = tmp_path / "kept.png"
    shutil.move(gone, kept)

    summary = index_folders(library, [str(photos)])
    assert summary.removed == 1
    assert gone_id not in searchable(library)
    assert str(gone) not in ids_by_path(library)
    assert [m.image_id for m in library.store.trashed()] == [gone_id]
    assert library.store.counts()["trashed"] == 1
    assert library.store.tags(image_id=gone_id) == []  # out of every result
    client = TestClient(create_app(library), base_url="http://127.0.0.1")
    for path in ("", "/similar", "/thumbnail", "/tags"):
        answer = client.get(f"/api/images/{gone_id}{path}")
        assert answer.status_code == 404, (path, answer.text)
    encoded = encoder_of(library).images_encoded

    # The same content comes back, under another name: restored, not encoded.
    back = photos / "sub" / "renamed.png"
    shutil.move(kept, back)
    summary = index_folders(library, [str(photos)])
    assert summary.restored == 1 and summary.added == 0
    assert ids_by_path(library)[str(back)] == gone_id
    assert encoder_of(library).images_encoded == encoded
    assert gone_id in searchable(library)
    restored_tags = library.store.tags(image_id=gone_id)
    assert [(t.label, t.score) for t in restored_tags] == [
        (t.label, t.score) for t in tags_before
    ]
    assert library.store.trashed() == []


def test_the_trash_empties_itself_after_its_days(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    files = make_photos(photos)
    index_folders(fake_library, [str(photos)])
    files[1].unlink()
    index_folders(fake_library, [str(photos)])
    assert len(fake_library.store.trashed()) == 1
    object.__setattr__(fake_library.settings, "trash_days", 0.0)
    index_folders(fake_library, [str(photos)])
    assert fake_library.store.trashed() == []
    assert fake_library.store.counts()["images"] == 3


@pytest.mark.parametrize("unplug", ["missing", "empty"])
def test_watch_survives_a_drive_going_and_coming_back(
    fake_library: Library, tmp_path: Path, unplug: str
) -> None:
    photos = tmp_path / "photos"
    make_photos(photos)
    options = WatchOptions(debounce=0.2, root_check_interval=0.2)
    watcher = Watcher(fake_library, [str(photos)], options)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(ids_by_path(fake_library)) == 4)
        before = ids_by_path(fake_library)
        encoded = encoder_of(fake_library).images_encoded
        away = tmp_path / "away"
        photos.rename(away)
        if unplug == "empty":
            photos.mkdir()
        wait_for(lambda: offline(fake_library))
        time.sleep(1.0)  # the deletions' events, if any, have been handled by now
        assert thread.is_alive(), "the daemon died"
        assert ids_by_path(fake_library) == before
        if unplug == "empty":
            photos.rmdir()
        away.rename(photos)
        wait_for(lambda: not offline(fake_library))
        # Watched again: a new photo is indexed.
        new = draw(photos / "new.png", (10, 200, 200), fmt="PNG")
        wait_for(lambda: str(new) in ids_by_path(fake_library))
        after = ids_by_path(fake_library)
        assert {p: after[p] for p in before} == before
        assert encoder_of(fake_library).images_encoded == encoded + 1
    finally:
        watcher.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_status_and_trash_commands(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    files = make_photos(photos)
    lib = str(tmp_path / "lib")
    args = ("--library", lib, "--model", "demo")
    assert run_cli("index", str(photos), *args).returncode == 0
    os.unlink(files[2])
    assert "removed 1" in run_cli("index", str(photos), *args).stdout
    listed = run_cli("trash", "--library", lib)
    assert listed.returncode == 0 and str(files[2]) in listed.stdout
    photos.rename(tmp_path / "unplugged")
    indexed = run_cli("index", str(photos), "--library", lib)
    assert indexed.returncode == 0, indexed.stderr
    assert "offline" in indexed.stderr
    status = run_cli("status", "--library", lib)
    assert f"{photos}: OFFLINE (missing)" in status.stdout, status.stdout
    assert "1 in the trash" in status.stdout
    emptied = run_cli("trash", "--empty", "--library", lib)
    assert "deleted 1" in emptied.stdout
    assert "the trash is empty" in run_cli("trash", "--library", lib).stdout
