from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.index.sync import open_index
from retrieval.index.vector_index import INDEX_NAME, IndexFileError, VectorIndex
from retrieval.records import EncodedFile, FileStamp, ModelInfo
from retrieval.store import Store
from retrieval.vectors import l2_normalize


def unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Unit vectors as the store keeps them: float16 values (the flat index's codes)."""
    vectors = l2_normalize(
        np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    )
    return vectors.astype(np.float16).astype(np.float32)


def brute_force(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int):
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return ids[order], scores[order]


def test_search_is_exact_against_numpy_brute_force() -> None:
    dim, n = 32, 500
    vectors = unit_vectors(n, dim)
    ids = np.arange(1000, 1000 + n, dtype=np.int64)
    index = VectorIndex(dim)
    index.add(ids, vectors)
    for seed in range(5):
        query = unit_vectors(1, dim, seed=100 + seed)[0]
        scores, found = index.search(query, 10)
        want_ids, want_scores = brute_force(vectors, ids, query, 10)
        np.testing.assert_array_equal(found[0], want_ids)
        np.testing.assert_allclose(scores[0], want_scores, rtol=1e-5, atol=1e-6)


def test_search_with_allowed_ids_is_exact_within_them() -> None:
    dim = 16
    vectors = unit_vectors(200, dim, seed=3)
    ids = np.arange(200, dtype=np.int64)
    index = VectorIndex(dim)
    index.add(ids, vectors)
    allowed = ids[::3]
    query = unit_vectors(1, dim, seed=9)[0]
    _, found = index.search(query, 5, allowed)
    want, _ = brute_force(vectors[allowed], allowed, query, 5)
    np.testing.assert_array_equal(found[0], want)


def test_k_larger_than_index_returns_everything() -> None:
    index = VectorIndex(8)
    index.add(np.array([5, 6, 7]), unit_vectors(3, 8))
    _, found = index.search(unit_vectors(1, 8, seed=1)[0], 50)
    assert sorted(i for i in found[0] if i >= 0) == [5, 6, 7]


def test_remove_drops_vectors() -> None:
    index = VectorIndex(8)
    index.add(np.array([1, 2, 3]), unit_vectors(3, 8))
    index.remove([2])
    _, found = index.search(unit_vectors(1, 8, seed=1)[0], 3)
    assert 2 not in found[0] and len(index) == 2


def test_add_rejects_wrong_dimension() -> None:
    with pytest.raises(ValueError, match="dimension 8"):
        VectorIndex(8).add(np.array([1]), unit_vectors(1, 4))


def test_save_load_round_trip_and_generation_check(tmp_path: Path) -> None:
    index = VectorIndex(8)
    vectors = unit_vectors(10, 8)
    index.add(np.arange(10), vectors)
    path = tmp_path / INDEX_NAME
    index.generation = 7
    index.save(path)
    loaded = VectorIndex.load(path, 8, generation=7)
    assert len(loaded) == 10
    np.testing.assert_array_equal(loaded.search(vectors[3], 1)[1][0], [3])
    with pytest.raises(IndexFileError, match="stale"):
        VectorIndex.load(path, 8, generation=8)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_file_is_refused(tmp_path: Path, damage: str) -> None:
    index = VectorIndex(8)
    index.add(np.arange(4), unit_vectors(4, 8))
    path = tmp_path / INDEX_NAME
    index.generation = 1
    index.save(path)
    data = path.read_bytes()
    path.write_bytes(
        {"truncate": data[: len(data) // 2], "garbage": b"x" * 100, "empty": b""}[
            damage
        ]
    )
    with pytest.raises(IndexFileError):
        VectorIndex.load(path, 8, generation=1)


def _store_with_vectors(root: Path, n: int) -> tuple[Store, np.ndarray]:
    store = Store.open(root, create=True)
    store.set_model(ModelInfo("m", "w", 8))
    vectors = unit_vectors(n, 8, seed=4)
    store.write_batch(
        [
            EncodedFile(FileStamp(f"/p/{i}.jpg", 1, 1, f"h{i}"), 1, 1, None, vectors[i])
            for i in range(n)
        ]
    )
    return store, vectors


def test_open_index_rebuilds_missing_or_corrupt_file_from_store(tmp_path: Path) -> None:
    store, vectors = _store_with_vectors(tmp_path / "lib", 6)
    path = tmp_path / "lib" / INDEX_NAME
    assert not path.exists()
    index = open_index(store, 8)
    assert len(index) == 6 and path.exists()
    path.write_bytes(b"not faiss at all")
    rebuilt = open_index(store, 8)
    assert len(rebuilt) == 6
    _scores, ids = rebuilt.search(vectors[2], 1)
    assert store.meta([int(ids[0][0])])[int(ids[0][0])].path == "/p/2.jpg"
    store.close()


def test_open_index_rebuilds_stale_file(tmp_path: Path) -> None:
    store, _ = _store_with_vectors(tmp_path / "lib", 3)
    open_index(store, 8)  # saved at the current generation
    store.write_batch(
        [
            EncodedFile(
                FileStamp("/p/new.jpg", 1, 1, "hn"),
                1,
                1,
                None,
                unit_vectors(1, 8, seed=5)[0],
            )
        ]
    )
    assert len(open_index(store, 8)) == 4
    store.close()


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_mapped_index_answers_as_the_loaded_one_and_changes_safely(
    tmp_path: Path, kind: str
) -> None:
    vectors = unit_vectors(400, 8, seed=3)
    ids = np.arange(400) * 3 + 1
    if kind == "ivf":
        index = VectorIndex.ivf(8, 4, vectors)
        index.nprobe = 2
    else:
        index = VectorIndex(8)
    index.add(ids, vectors)
    index.generation = 5
    path = tmp_path / INDEX_NAME
    index.save(path)
    loaded = VectorIndex.load(path, 8)
    mapped = VectorIndex.load(path, 8, mapped=True)
    assert mapped.mapped and not loaded.mapped
    assert (mapped.kind, mapped.nprobe, mapped.generation) == (kind, index.nprobe, 5)
    queries = unit_vectors(20, 8, seed=9)
    pairs = zip(mapped.search(queries, 10), loaded.search(queries, 10), strict=True)
    for got, want in pairs:
        np.testing.assert_array_equal(got, want)
    # A change to a mapped index (a reader catching up) must not write to the file:
    # FAISS would abort the process on a mapped flat index.
    before = path.read_bytes()
    mapped.remove([int(ids[0])])
    mapped.add(np.array([9999]), unit_vectors(1, 8, seed=11))
    assert not mapped.mapped and len(mapped) == 400
    assert path.read_bytes() == before
    assert 9999 in mapped.search(unit_vectors(1, 8, seed=11)[0], 1)[1][0]


def test_index_saved_before_the_trailer_format_still_loads(tmp_path: Path) -> None:
    import struct

    import faiss

    vectors = unit_vectors(6, 8)
    index = VectorIndex(8)
    index.add(np.arange(6), vectors)
    path = tmp_path / INDEX_NAME
    old_header = struct.Struct("<8sQIQ").pack(b"PSFAISS2", 4, 0, 0)
    path.write_bytes(old_header + faiss.serialize_index(index.index).tobytes())
    for mapped in (False, True):
        loaded = VectorIndex.load(path, 8, generation=4, mapped=mapped)
        assert not loaded.mapped and len(loaded) == 6
        assert loaded.search(vectors[2], 1)[1][0][0] == 2
