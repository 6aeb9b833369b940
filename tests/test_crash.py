"""Crash safety: `photosearch index` killed with SIGKILL at many points, by a seeded random
schedule and at the dangerous moments; after each restart the library must be consistent."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np

from indexer.pipeline import index_folders
from retrieval.index.sync import open_index
from retrieval.library import Library
from retrieval.search.search import SearchOptions, search
from retrieval.settings import Settings
from retrieval.store import DATABASE_NAME
from tests.conftest import random_color
from tests.helpers import draw, start_index

HOOKS = ["encoded", "before-commit", "batch-committed", "index-written"]


def indexed_count(library: Path) -> int:
    try:
        with sqlite3.connect(
            f"file:{library / DATABASE_NAME}?mode=ro", uri=True
        ) as conn:
            return int(conn.execute("select count(*) from embeddings").fetchone()[0])
    except sqlite3.Error:
        return 0


def kill_when(
    proc: subprocess.Popen, library: Path, target: int, deadline: float
) -> None:
    """SIGKILL once `target` vectors are committed (or at `deadline`)."""
    while proc.poll() is None and time.monotonic() < deadline:
        if indexed_count(library) >= target:
            break
        time.sleep(0.01)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def mutate(photos: Path, rng: random.Random, step: int) -> None:
    files = sorted(photos.rglob("*.png"))
    for path in rng.sample(files, k=min(len(files), 4)):
        path.unlink()
    for path in rng.sample(sorted(photos.rglob("*.png")), k=3):
        path.rename(path.with_name(f"renamed-{step}-{path.name}"))
    for i in range(12):
        draw(
            photos / f"s{step % 3}" / f"new-{step}-{i}.png",
            random_color(rng),
            fmt="PNG",
        )


def fresh_vectors(photos: Path, library_dir: Path) -> dict[str, np.ndarray]:
    """What a fresh full index of the folder holds: path to vector."""
    fresh = Library.open(
        Settings(faces=False, text=False, library=library_dir, model="demo"),
        create=True,
    )
    try:
        index_folders(fresh, [str(photos)])
        states = {
            p: s for p, s in fresh.store.file_states().items() if s.status == "ok"
        }
        vectors = fresh.store.vectors(
            [s.image_id for s in states.values()], fresh.model.dim
        )
        return dict(zip(states, vectors, strict=True))
    finally:
        fresh.close()


def check_invariants(
    library_dir: Path, photos: Path, expected: dict[str, np.ndarray]
) -> None:
    library = Library.open(Settings(faces=False, text=False, library=library_dir))
    try:
        index_folders(library, [str(photos)])  # the restart
        states = library.store.file_states()
        ok = {p: s for p, s in states.items() if s.status == "ok"}
        assert set(ok) == set(expected), "library paths differ from a fresh index"
        vectors = library.store.vectors(
            [s.image_id for s in ok.values()], library.model.dim
        )
        for path, vector in zip(ok, vectors, strict=True):
            np.testing.assert_allclose(vector, expected[path], atol=1e-4, err_msg=path)
        with sqlite3.connect(library_dir / DATABASE_NAME) as conn:
            (count,) = conn.execute(
                "select count(*) from embeddings join images on images.id = image_id "
                "where images.trashed_at is null"
            ).fetchone()
        assert count == len(ok), "a vector is searchable for a file that is gone"
        assert len(library.index) == len(ok)
        index = open_index(library.store, library.model.dim)
        assert len(index) == len(ok)
        query = library.encoder.encode_texts(["a red circle"])[0]
        hits = search(library, query, SearchOptions(top=len(ok) + 5))
        assert {h.path for h in hits} == set(expected)
    finally:
        library.close()


def test_kill_at_random_moments_and_dangerous_points(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    photos = tmp_path / "photos"
    for i in range(60):
        draw(photos / f"s{i % 3}" / f"img{i}.png", random_color(rng), fmt="PNG")
    library_dir = tmp_path / "lib"

    # Each run has at least 12 files to encode, in batches of 8: every hook is reached.
    schedule: list[tuple[str, str | float]] = [
        ("hook", f"{hook}:{nth}") for hook, nth in zip(HOOKS, (2, 2, 1, 1), strict=True)
    ]
    schedule += [("progress", rng.randint(1, 8)) for _ in range(12)]
    schedule += [("time", rng.uniform(0.5, 4.0)) for _ in range(4)]
    rng.shuffle(schedule)
    killed = 0
    for step, (kind, value) in enumerate(schedule):
        if kind == "hook":
            proc = start_index(photos, library_dir, crash_at=str(value))
            proc.wait(timeout=120)
        elif kind == "progress":
            proc = start_index(photos, library_dir)
            kill_when(
                proc,
                library_dir,
                indexed_count(library_dir) + int(value),
                time.monotonic() + 60,
            )
        else:
            proc = start_index(photos, library_dir)
            time.sleep(float(value))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        killed += proc.returncode == -signal.SIGKILL
        check_invariants(
            library_dir, photos, fresh_vectors(photos, tmp_path / f"fresh{step}")
        )
        mutate(photos, rng, step)
    assert killed >= len(schedule) // 2, (
        f"only {killed} of {len(schedule)} runs were killed"
    )
