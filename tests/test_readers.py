"""Readers keep up with a writer in O(changes), through the change log; filtered search on
an approximate index is exact."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photosearch.library_status import collect
from retrieval.index.vector_index import INDEX_NAME
from retrieval.library import Library
from retrieval.records import EncodedFile, FileStamp, ModelInfo
from retrieval.search.filters import Filters
from retrieval.search.search import SearchOptions, search
from retrieval.settings import Settings
from retrieval.store import Store
from retrieval.store import generation as generation_module
from tests.fakes import FakeEncoder
from tests.helpers import DIM, clustered

MODEL = ModelInfo("fake", "fake-weights", DIM)


def encoded(path: str, vector: np.ndarray) -> EncodedFile:
    return EncodedFile(FileStamp(path, 1, 1, f"h-{path}"), 1, 1, None, vector)


def open_library(root: Path, *, writer: bool, **settings: object) -> Library:
    config = Settings(faces=False, text=False, library=root).with_options(**settings)
    encoder = FakeEncoder(MODEL)
    library = Library(
        Store.open(root, create=True), config, MODEL, encoder, writer=writer
    )
    library.store.set_model(MODEL)
    return library


def write(library: Library, paths: list[str], vectors: np.ndarray) -> None:
    """What the indexer does with a batch: commit, then mirror in its own index."""
    written = library.store.write_batch(
        [encoded(p, v) for p, v in zip(paths, vectors, strict=True)]
    )
    library.apply(written.ids, written.ids, vectors, written.generation)


def same_index(reader: Library, writer: Library) -> None:
    queries = clustered(20, seed=7)
    for query in queries:
        a = reader.search_index(query, 10)
        b = writer.search_index(query, 10)
        np.testing.assert_array_equal(a[1], b[1])
    assert len(reader.index) == len(writer.index)
    assert reader.index.generation == writer.store.generation()


def test_a_reader_catches_up_from_the_log_without_reading_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "lib"
    writer = open_library(root, writer=True)
    write(writer, [f"/p/{i}.jpg" for i in range(3000)], clustered(3000, seed=1))
    writer.save_index()
    reader = open_library(root, writer=False)
    assert len(reader.index) == 3000

    # The writer adds, replaces, trashes and restores.
    write(writer, [f"/new/{i}.jpg" for i in range(100)], clustered(100, seed=2))
    write(writer, [f"/p/{i}.jpg" for i in range(10)], clustered(10, seed=3))
    ids = [writer.store.meta_by_path(f"/p/{i}.jpg").image_id for i in range(20, 30)]  # type: ignore[union-attr]
    writer.apply(ids, [], np.zeros((0, DIM), np.float32), writer.store.trash(ids))
    back = ids[:3]
    generation = writer.store.restore([(i, f"/back/{i}.jpg", 1, 1) for i in back])
    found, vectors = writer.store.vectors_found(back, DIM)
    writer.apply(back, found.tolist(), vectors, generation)

    def no_full_read(*_: object, **__: object) -> None:
        raise AssertionError("a reader read every vector to catch up")

    monkeypatch.setattr(reader.store, "iter_vectors", no_full_read)
    reader.reload_if_stale()
    same_index(reader, writer)
    assert len(reader.index) == 3000 + 100 - 7
    assert (root / INDEX_NAME).stat().st_mtime_ns  # the writer's file, untouched below
    writer.close()
    reader.close()


def test_a_reader_too_far_behind_the_log_reloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generation_module, "PRUNE_EVERY", 2)
    monkeypatch.setattr(generation_module, "KEEP_GENERATIONS", 2)
    root = tmp_path / "lib"
    writer = open_library(root, writer=True)
    write(writer, ["/a.jpg"], clustered(1, seed=1))
    reader = open_library(root, writer=False)
    assert len(reader.index) == 1
    for i in range(6):
        write(writer, [f"/b{i}.jpg"], clustered(1, seed=10 + i))
    assert writer.store.changes_since(reader.index.generation, DIM) is None
    reader.reload_if_stale()
    same_index(reader, writer)
    writer.close()
    reader.close()


def test_a_model_change_is_not_followed_from_the_log(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    writer = open_library(root, writer=True)
    write(writer, ["/a.jpg"], clustered(1, seed=1))
    before = writer.store.generation()
    writer.store.set_model(ModelInfo("other", "w", DIM))
    assert writer.store.changes_since(before, DIM) is None
    writer.close()


def test_readers_never_write_the_index_file_nor_touch_temp_files(
    tmp_path: Path,
) -> None:
    root = tmp_path / "lib"
    writer = open_library(root, writer=True)
    write(writer, ["/a.jpg", "/b.jpg"], clustered(2, seed=1))
    live = root / f".index-{os.getpid()}-saving.tmp"
    dead = root / ".index-999999999-crashed.tmp"
    live.write_bytes(b"a save in progress")
    dead.write_bytes(b"left by a crash")
    (root / INDEX_NAME).write_bytes(b"garbage")
    reader = open_library(root, writer=False)
    assert len(reader.index) == 2  # rebuilt in memory
    assert (root / INDEX_NAME).read_bytes() == b"garbage"
    assert live.exists() and dead.exists()
    writer._index = None
    assert len(writer.index) == 2  # the writer repairs the file...
    assert (root / INDEX_NAME).read_bytes() != b"garbage"
    assert live.exists() and not dead.exists()  # ...and clears only a dead one's file
    writer.close()
    reader.close()


@pytest.fixture(scope="module")
def large_ivf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """200,000 clustered vectors in an IVF index; 50 of them under /few/, 2,000 under
    /many/."""
    root = tmp_path_factory.mktemp("large") / "lib"
    library = open_library(root, writer=True, index_type="ivf")
    vectors = clustered(200_000, seed=5)
    paths = [
        "/few/" if i % 4000 == 0 else "/many/" if i % 100 == 1 else "/rest/"
        for i in range(len(vectors))
    ]
    step = 20_000
    for start in range(0, len(vectors), step):
        library.store.write_batch(
            [
                encoded(f"{paths[i]}{i}.jpg", vectors[i])
                for i in range(start, start + step)
            ]
        )
    assert library.index.kind == "ivf"
    yield library
    library.close()


def brute_force(library: Library, query: np.ndarray, folder: str, k: int) -> list[int]:
    ids = library.store.ids_under(folder)
    found, vectors = library.store.vectors_found(ids.tolist(), DIM)
    order = np.argsort(-(vectors @ query), kind="stable")[:k]
    return found[order].tolist()


def test_a_small_filtered_subset_is_searched_exactly(large_ivf: Library) -> None:
    allowed = large_ivf.store.ids_under("/few")
    assert len(allowed) == 50
    # What the index alone does with a filter: it searches the few buckets tuned for the
    # whole library, and most of the subset is never seen.
    plain = [large_ivf.index.search(q, 60, allowed)[1] for q in clustered(10, seed=11)]
    assert min(int((ids >= 0).sum()) for ids in plain) < 50
    for query in clustered(10, seed=11):
        hits = search(
            large_ivf, query, SearchOptions(top=10, filters=Filters(folder="/few"))
        )
        assert [h.image_id for h in hits] == brute_force(large_ivf, query, "/few", 10)
        everything = search(
            large_ivf, query, SearchOptions(top=60, filters=Filters(folder="/few"))
        )
        assert len(everything) == 50


def test_a_larger_filtered_subset_widens_the_search(large_ivf: Library) -> None:
    object.__setattr__(large_ivf.settings, "exact_filter_max", 100)
    try:
        recall = []
        for query in clustered(20, seed=12):
            hits = search(
                large_ivf, query, SearchOptions(top=10, filters=Filters(folder="/many"))
            )
            exact = brute_force(large_ivf, query, "/many", 10)
            assert len(hits) == 10
            recall.append(len({h.image_id for h in hits} & set(exact)) / 10)
        assert np.mean(recall) >= 0.95, recall
    finally:
        object.__setattr__(large_ivf.settings, "exact_filter_max", 20_000)


def test_catching_up_is_fast_on_a_large_index(large_ivf: Library) -> None:
    """Not a timing test: the catch-up reads only the changed rows (counted)."""
    root = large_ivf.store.root
    large_ivf.save_index()
    reader = open_library(root, writer=False, index_type="ivf")
    assert len(reader.index) == 200_000
    write(large_ivf, [f"/late/{i}.jpg" for i in range(100)], clustered(100, seed=9))
    started = time.perf_counter()
    reader.reload_if_stale()
    print(f"caught up with 100 photos in {time.perf_counter() - started:.3f} s")
    assert len(reader.index) == 200_100
    hits = search(
        reader,
        clustered(1, seed=9)[0],
        SearchOptions(top=1, filters=Filters(folder="/late")),
    )
    assert hits and hits[0].path.startswith("/late/")
    reader.close()


def test_a_pq_library_searches_exactly_scored_and_readers_follow_it(
    tmp_path: Path,
) -> None:
    root = tmp_path / "lib"
    writer = open_library(root, writer=True, index_type="pq")
    vectors = clustered(10_000, seed=6)
    paths = [f"/{'few' if i % 200 == 0 else 'rest'}/{i}.jpg" for i in range(10_000)]
    writer.store.write_batch(
        [encoded(p, v) for p, v in zip(paths, vectors, strict=True)]
    )
    assert writer.index.kind == "pq" and writer.index.rerank > 0
    queries = clustered(20, seed=13)
    recall = []
    for query in queries:
        hits = search(writer, query, SearchOptions(top=10))
        exact = brute_force(writer, query, "/", 10)
        recall.append(len({h.image_id for h in hits} & set(exact)) / 10)
        # Scores are the stored vectors' own.
        stored = writer.store.vectors([h.image_id for h in hits], DIM) @ query
        np.testing.assert_allclose([h.score for h in hits], stored, atol=1e-5)
        few = search(
            writer, query, SearchOptions(top=5, filters=Filters(folder="/few"))
        )
        assert [h.image_id for h in few] == brute_force(writer, query, "/few", 5)
    assert np.mean(recall) >= 0.9, recall
    writer.save_index()
    status = collect(root)
    assert status["index_type"] == f"pq, nprobe {writer.index.nprobe}, " + (
        f"{writer.index.rerank} re-ranked"
    )
    reader = open_library(root, writer=False, index_type="pq")
    assert reader.index.kind == "pq"
    same_index(reader, writer)
    write(writer, ["/late/0.jpg"], clustered(1, seed=21))
    reader.reload_if_stale()
    same_index(reader, writer)
    hits = search(reader, clustered(1, seed=21)[0], SearchOptions(top=1))
    assert hits[0].path == "/late/0.jpg"
    writer.close()
    reader.close()
