"""Indexing runs with a fake encoder: what is encoded, when, and what the library holds."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from indexer.pipeline import index_folders
from retrieval.index.vector_index import INDEX_NAME, VectorIndex
from retrieval.library import Library
from retrieval.vectors import stored_precision
from tests.conftest import random_color
from tests.fakes import FakeEncoder
from tests.helpers import draw, encoder_of


def make_photos(folder: Path, n: int, seed: int = 0) -> list[Path]:
    rng = random.Random(seed)
    return [
        draw(folder / f"img{i:03d}.png", random_color(rng), fmt="PNG") for i in range(n)
    ]


def stored_vector(library: Library, path: Path) -> np.ndarray:
    meta = library.store.meta_by_path(str(path))
    assert meta is not None
    return library.store.vectors([meta.image_id], library.model.dim)[0]


def assert_vectors_are_their_files(library: Library, paths: list[Path]) -> None:
    """Each stored vector is the one of its own file, as stored."""
    fake = encoder_of(library)
    for path in paths:
        with Image.open(path) as image:
            want = fake.encode_images([image.convert("RGB")])[0]
        np.testing.assert_array_equal(
            stored_vector(library, path), stored_precision(want)
        )


def test_first_run_adds_everything_and_second_run_encodes_nothing(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = make_photos(tmp_path / "photos", 10)
    summary = index_folders(fake_library, [str(tmp_path / "photos")])
    assert (summary.added, summary.failed, summary.encoded) == (10, 0, 10)
    assert encoder_of(fake_library).images_encoded == 10
    again = index_folders(fake_library, [str(tmp_path / "photos")])
    assert (again.added, again.unchanged, again.encoded) == (0, 10, 0)
    assert encoder_of(fake_library).images_encoded == 10
    assert len(fake_library.index) == 10
    assert_vectors_are_their_files(fake_library, photos)


def test_bad_file_in_the_middle_of_a_batch_keeps_the_others_aligned(
    fake_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    good = make_photos(folder, 3)
    (folder / "img001b.png").write_bytes(b"this is not a png")
    summary = index_folders(fake_library, [str(folder)])
    assert (summary.added, summary.failed) == (3, 1)
    failures = fake_library.store.failures()
    assert [Path(f.path).name for f in failures] == ["img001b.png"]
    assert "not an image" in (failures[0].error or "")
    assert_vectors_are_their_files(fake_library, good)
    fake = encoder_of(fake_library)
    # Not retried while unchanged; retried once it changes.
    encoded_before = fake.images_encoded
    assert index_folders(fake_library, [str(folder)]).failed == 0
    draw(folder / "img001b.png", (9, 9, 9), fmt="PNG")
    summary = index_folders(fake_library, [str(folder)])
    assert summary.updated == 1 and fake_library.store.failures() == []
    assert fake.images_encoded == encoded_before + 1


def test_changed_moved_copied_and_deleted_files(
    fake_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    a, b, c, d = make_photos(folder, 4)
    index_folders(fake_library, [str(folder)])
    fake = encoder_of(fake_library)
    before = fake.images_encoded
    moved_id = fake_library.store.meta_by_path(str(b))
    assert moved_id is not None

    draw(a, (1, 250, 3), fmt="PNG")  # changed content
    (folder / "sub").mkdir()
    shutil.move(b, folder / "sub" / "moved.png")  # moved
    shutil.copy(c, folder / "copy.png")  # a copy of known content
    d.unlink()  # deleted

    summary = index_folders(fake_library, [str(folder)])
    assert (summary.updated, summary.moved, summary.added, summary.removed) == (
        1,
        1,
        1,
        1,
    )
    assert (
        fake.images_encoded == before + 1
    )  # only the changed file went through the model
    after_move = fake_library.store.meta_by_path(str(folder / "sub" / "moved.png"))
    assert after_move is not None and after_move.image_id == moved_id.image_id
    assert fake_library.store.meta_by_path(str(d)) is None
    assert len(fake_library.index) == 4
    np.testing.assert_allclose(
        stored_vector(fake_library, folder / "copy.png"), stored_vector(fake_library, c)
    )


def test_touched_file_with_same_content_is_not_reencoded(
    fake_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    (a,) = make_photos(folder, 1)
    index_folders(fake_library, [str(folder)])
    a.touch()
    summary = index_folders(fake_library, [str(folder)])
    assert summary.encoded == 0 and summary.unchanged == 1


def test_saved_index_matches_store_after_a_run(
    fake_library: Library, tmp_path: Path
) -> None:
    make_photos(tmp_path / "photos", 6)
    index_folders(fake_library, [str(tmp_path / "photos")])
    saved = VectorIndex.load(
        fake_library.store.root / INDEX_NAME, 16, fake_library.store.generation()
    )
    assert len(saved) == 6


def test_reencode_runs_every_image_through_the_model_again(
    fake_library: Library, tmp_path: Path
) -> None:
    make_photos(tmp_path / "photos", 5)
    index_folders(fake_library, [str(tmp_path / "photos")])
    fake = encoder_of(fake_library)
    summary = index_folders(fake_library, [str(tmp_path / "photos")], reencode=True)
    assert summary.encoded == 5 and fake.images_encoded == 10


def test_saved_label_sets_tag_new_images(fake_library: Library, tmp_path: Path) -> None:
    make_photos(tmp_path / "photos", 2)
    index_folders(fake_library, [str(tmp_path / "photos")])
    fake_library.store.save_label_set("things", ["alpha", "beta"], 0.0, 1)
    make_photos(tmp_path / "photos" / "more", 3, seed=5)
    index_folders(fake_library, [str(tmp_path / "photos")])
    tagged = {Path(t.path).parent.name for t in fake_library.store.tags()}
    assert len(fake_library.store.tags()) == 3 and tagged == {"more"}


def test_two_writers_never_save_an_index_that_misses_the_others_vectors(
    fake_library: Library, tmp_path: Path
) -> None:
    from retrieval.index.sync import open_index
    from retrieval.store import Store

    make_photos(tmp_path / "a", 3)
    make_photos(tmp_path / "b", 4, seed=1)
    other_store = Store.open(
        fake_library.store.root,
        create=False,
        database=fake_library.settings.database,
    )
    other = Library(
        other_store, fake_library.settings, fake_library.model, FakeEncoder()
    )
    _ = fake_library.index  # loaded before the other process writes
    index_folders(other, [str(tmp_path / "b")])
    index_folders(fake_library, [str(tmp_path / "a")])
    reopened = open_index(fake_library.store, fake_library.model.dim)
    assert len(reopened) == 7
    other.close()
