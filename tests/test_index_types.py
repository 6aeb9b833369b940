"""The index type follows the library's size; the approximate one is tuned to its recall."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from indexer.pipeline import index_folders
from retrieval.index.sync import (
    RERANKS,
    IndexPolicy,
    exact_top,
    rebuild,
    recall_at,
    stored_vectors,
)
from retrieval.index.vector_index import INDEX_NAME, VectorIndex, read_header
from retrieval.library import Library
from retrieval.records import EncodedFile, FileStamp, ModelInfo
from retrieval.store import Store
from retrieval.vectors import l2_normalize
from tests.conftest import random_color
from tests.helpers import DIM, clustered, draw


@pytest.fixture
def big_store(tmp_path: Path):
    store = Store.open(tmp_path / "lib", create=True)
    store.set_model(ModelInfo("m", "w", DIM))
    vectors = clustered(4000, seed=1)
    store.write_batch(
        [
            EncodedFile(FileStamp(f"/p/{i}.jpg", 1, 1, f"h{i}"), 1, 1, None, v)
            for i, v in enumerate(vectors)
        ]
    )
    yield store
    store.close()


def test_policy_picks_flat_while_small_and_within_memory() -> None:
    policy = IndexPolicy(flat_max_vectors=1000, index_memory_mb=1)
    assert policy.kind_for(999, 128) == "flat"
    assert policy.kind_for(1001, 128) == "ivf"
    assert policy.kind_for(400, 512) == "flat"  # 0.8 MB of float32
    assert policy.kind_for(600, 512) == "ivf"  # 1.2 MB: over the memory budget
    # 8-bit codes: a byte per dimension, 5 MB for 10,000 vectors of 512.
    assert (
        IndexPolicy(flat_max_vectors=10**9, index_memory_mb=8).kind_for(10**4, 512)
        == "ivf"
    )
    # Over the budget even at a byte per dimension: 4-bit product codes.
    assert (
        IndexPolicy(flat_max_vectors=10**9, index_memory_mb=4).kind_for(10**4, 512)
        == "pq"
    )
    assert IndexPolicy(index_type="flat").kind_for(10**9, 512) == "flat"


def test_ivf_reaches_its_recall_target_on_unseen_queries(big_store: Store) -> None:
    index = rebuild(
        big_store, DIM, IndexPolicy(flat_max_vectors=1000, index_recall=0.95)
    )
    assert index.kind == "ivf" and index.nprobe >= 1 and len(index) == 4000
    queries = clustered(200, seed=7)
    exact = exact_top(big_store, DIM, queries, 10)
    assert recall_at(index, queries, exact) >= 0.9
    flat = rebuild(big_store, DIM, IndexPolicy())
    assert flat.kind == "flat" and recall_at(flat, queries, exact) == 1.0


@pytest.mark.parametrize("kind", ["ivf", "pq"])
def test_ivf_filters_removes_and_survives_save_and_load(
    big_store: Store, tmp_path: Path, kind: str
) -> None:
    index = rebuild(big_store, DIM, IndexPolicy(index_type=kind))
    query = clustered(1, seed=3)[0]
    allowed = np.arange(1, 4001, 7, dtype=np.int64)
    _, ids = index.search(query, 10, allowed)
    assert set(ids[0][ids[0] >= 0].tolist()) <= set(allowed.tolist())
    _, before = index.search(query, 1)
    index.remove([int(before[0][0])])
    _, after = index.search(query, 1)
    assert after[0][0] != before[0][0]
    path = tmp_path / INDEX_NAME
    index.save(path)
    assert read_header(path) == (index.generation, index.nprobe)
    loaded = VectorIndex.load(path, DIM, index.generation)
    assert loaded.kind == kind and loaded.nprobe == index.nprobe and len(loaded) == 3999
    assert loaded.rerank == index.rerank and (kind == "pq") == (loaded.rerank > 0)
    loaded.exact = stored_vectors(big_store, DIM)
    assert loaded.search(query, 1)[1][0][0] == after[0][0]


def test_pq_reranks_to_exact_scores_and_reaches_its_recall_target(
    big_store: Store,
) -> None:
    index = rebuild(big_store, DIM, IndexPolicy(index_type="pq", index_recall=0.95))
    assert index.kind == "pq" and index.rerank in RERANKS and len(index) == 4000
    queries = clustered(200, seed=7)
    exact = exact_top(big_store, DIM, queries, 10)
    assert recall_at(index, queries, exact) >= 0.9
    # The scores are the stored vectors' own, not the 4-bit codes' estimates.
    scores, ids = index.search(queries[:5], 10)
    for query, row_scores, row_ids in zip(queries[:5], scores, ids, strict=True):
        stored = big_store.vectors(row_ids.tolist(), DIM) @ query
        np.testing.assert_allclose(row_scores, stored, rtol=0, atol=1e-5)
        assert list(row_scores) == sorted(row_scores, reverse=True)


def test_pq_range_search_finds_what_flat_finds(big_store: Store) -> None:
    pq = rebuild(big_store, DIM, IndexPolicy(index_type="pq"))
    flat = rebuild(big_store, DIM, IndexPolicy(index_type="flat"))
    queries = clustered(20, seed=5)
    want = flat.range_search(queries, 0.9)
    # Within the buckets it visits, nothing is wrongly in or out: scores are exact.
    for (_, want_ids), (got_scores, got) in zip(
        want, pq.range_search(queries, 0.9), strict=True
    ):
        assert set(got.tolist()) <= set(want_ids.tolist())
        assert (got_scores >= 0.9).all()
    # Every bucket visited: what exact search finds, though the codes' estimates of
    # many of these scores fall below the threshold.
    pq.nprobe = int(pq.index.nlist)  # type: ignore[attr-defined]
    everywhere = pq.range_search(queries, 0.9)
    assert sum(len(ids) for _, ids in want) > 100
    for (_, want_ids), (_, got_ids) in zip(want, everywhere, strict=True):
        assert set(got_ids.tolist()) == set(want_ids.tolist())


def test_vectors_without_cluster_structure_get_a_pq_index(tmp_path: Path) -> None:
    # Uniform on the sphere: an IVF index would have to visit most of its buckets.
    dim = 64
    rng = np.random.default_rng(4)
    store = Store.open(tmp_path / "uniform", create=True)
    store.set_model(ModelInfo("m", "w", dim))
    vectors = l2_normalize(rng.standard_normal((6000, dim)).astype(np.float32))
    store.write_batch(
        [
            EncodedFile(FileStamp(f"/u/{i}.jpg", 1, 1, f"h{i}"), 1, 1, None, v)
            for i, v in enumerate(vectors)
        ]
    )
    policy = IndexPolicy(flat_max_vectors=1000)
    index = rebuild(store, dim, policy)
    assert index.kind == "pq" and not policy.needs_rebuild(index)
    queries = l2_normalize(rng.standard_normal((100, dim)).astype(np.float32))
    assert recall_at(index, queries, exact_top(store, dim, queries, 10)) >= 0.9
    # Forced, IVF stays IVF however many buckets it must visit.
    assert rebuild(store, dim, IndexPolicy(index_type="ivf")).kind == "ivf"
    store.close()


def test_an_index_run_switches_type_when_the_library_outgrows_flat(
    fake_library: Library, tmp_path: Path
) -> None:
    import random

    rng = random.Random(0)
    for i in range(60):
        draw(tmp_path / "p" / f"{i}.png", random_color(rng), fmt="PNG")
    fake_library.settings = replace(fake_library.settings, flat_max_vectors=50)
    index_folders(fake_library, [str(tmp_path / "p")])
    assert fake_library.index.kind == "ivf"
    header = read_header(fake_library.store.root / INDEX_NAME)
    assert header is not None and header[1] >= 1


def test_an_ivf_index_is_retrained_once_the_library_quadruples(
    big_store: Store,
) -> None:
    policy = IndexPolicy(index_type="ivf")
    index = rebuild(big_store, DIM, policy)
    assert index.trained_for == 4000 and not policy.needs_rebuild(index)
    index.trained_for = 900
    assert policy.needs_rebuild(index)
    assert IndexPolicy(flat_max_vectors=10**6).needs_rebuild(
        rebuild(big_store, DIM, policy)
    )
