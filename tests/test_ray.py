"""`index --ray` on a real Ray cluster started here: a head node and a second node, one
worker on each; the vectors are those of a local run, whatever happens to a worker or
the driver."""

from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from retrieval.store import Store
from tests.conftest import random_color, run_demo_index
from tests.helpers import draw
from tests.videos import shapes_video

RAY = str(Path(sys.executable).with_name("ray"))
PHOTOS = 48
BATCH = "4"


def ray_env(token: Path) -> dict[str, str]:
    # Ray 2.59 and later start local clusters with token authentication: every node and
    # the driver must then agree on the mode and the token.
    return {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "RAY_USAGE_STATS_ENABLED": "0",
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """(address, environment) of a two-node cluster of one CPU per node."""
    folder = tmp_path_factory.mktemp("ray")
    token = folder / "token"
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, **ray_env(token)}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus=1", "--disable-usage-stats"]
    try:
        subprocess.run(
            [RAY, "start", "--head", f"--port={port}", "--include-dashboard=false"]
            + common,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [RAY, "start", f"--address={address}", *common],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield address, ray_env(token)
    finally:
        subprocess.run(
            [RAY, "stop", "--force"], env=env, capture_output=True, check=False
        )


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    rng = random.Random(3)
    for i in range(PHOTOS):
        draw(folder / f"{i:02d}.png", random_color(rng), size=96)
    # A wide photo: its views come in the second pass, on the workers too.
    wide = Image.new("RGB", (320, 160), (20, 60, 200))
    wide.paste((230, 40, 40), (0, 0, 80, 160))
    wide.save(folder / "wide.png")
    shapes_video(folder / "clip.mp4")
    return folder


def index(
    photos: Path, library: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The demo model, small batches, one CPU per Ray worker (one per node)."""
    return run_demo_index(
        photos,
        library,
        "--batch-size",
        BATCH,
        *extra,
        env={"PHOTOSEARCH_RAY_WORKER_CPUS": "1", **(env or {})},
    )


def contents(library: Path) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Each path's vector and its other views or moments, from the library."""
    store = Store.open(library, create=False)
    info = store.model_info()
    assert info is not None
    found: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for ids, vectors in store.iter_vectors(info.dim):
        meta = store.meta(ids.tolist())
        views = store.views_of(ids.tolist(), info.dim)
        for i, vector, extra in zip(ids.tolist(), vectors, views, strict=True):
            found[meta[i].path] = (vector, extra)
    store.close()
    return found


def same_contents(a: Path, b: Path) -> None:
    left, right = contents(a), contents(b)
    assert sorted(left) == sorted(right) and len(left) == PHOTOS + 2
    for path, (vector, extra) in left.items():
        np.testing.assert_array_equal(vector, right[path][0], err_msg=path)
        if extra is None:
            assert right[path][1] is None
        else:
            np.testing.assert_array_equal(extra, right[path][1], err_msg=path)


@pytest.fixture(scope="module")
def local(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    library = tmp_path_factory.mktemp("local") / "library"
    done = index(photos, library)
    assert done.returncode == 0, done.stderr
    return library


def test_a_two_node_cluster_encodes_what_a_local_run_does(
    cluster: tuple[str, dict], photos: Path, local: Path, tmp_path: Path
) -> None:
    address, env = cluster
    done = index(photos, tmp_path / "ray", "--ray", address, env=env)
    assert done.returncode == 0, done.stderr
    assert f"added {PHOTOS + 2}," in done.stdout
    same_contents(local, tmp_path / "ray")
    # Run again: nothing to encode, nothing doubled.
    again = index(photos, tmp_path / "ray", "--ray", address, env=env)
    assert again.returncode == 0 and f"unchanged {PHOTOS + 2}" in again.stdout


def test_a_worker_killed_mid_run_hands_its_batches_to_the_other(
    cluster: tuple[str, dict], photos: Path, local: Path, tmp_path: Path
) -> None:
    address, env = cluster
    done = index(
        photos,
        tmp_path / "ray",
        "--ray",
        address,
        env={**env, "PHOTOSEARCH_KILL_RAY_WORKER_AT": "2"},
    )
    assert done.returncode == 0, done.stderr
    # Two workers, one per node (a CPU each): the killed one's batches went to the
    # worker on the other node.
    assert "killing Ray worker" in done.stderr
    assert "its batches go to the 1 others" in done.stderr
    assert f"added {PHOTOS + 2}," in done.stdout
    same_contents(local, tmp_path / "ray")


def test_a_driver_killed_mid_run_resumes_without_loss_or_doubles(
    cluster: tuple[str, dict], photos: Path, local: Path, tmp_path: Path
) -> None:
    address, env = cluster
    crashed = index(
        photos,
        tmp_path / "ray",
        "--ray",
        address,
        env={**env, "PHOTOSEARCH_CRASH_AT": "batch-committed:3"},
    )
    assert crashed.returncode == -9
    written = contents(tmp_path / "ray")
    assert 0 < len(written) < PHOTOS
    resumed = index(photos, tmp_path / "ray", "--ray", address, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"added {PHOTOS + 2 - len(written)}," in resumed.stdout
    same_contents(local, tmp_path / "ray")


def test_an_unreachable_cluster_is_one_line(tmp_path: Path, photos: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = index(photos, tmp_path / "lib", "--ray", f"127.0.0.1:{port}")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in lines[-1]
    assert "Traceback" not in done.stderr
