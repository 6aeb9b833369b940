from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from indexer.watch import Watcher, WatchOptions
from retrieval.library import Library
from retrieval.settings import Settings
from retrieval.store import Store
from tests.fakes import FakeEncoder
from tests.helpers import demo_index_args, wait_for

REPO = Path(__file__).resolve().parents[1]
# Which database the libraries of the in-process fixtures keep their tables in: SQLite,
# or (PHOTOSEARCH_TEST_BACKEND=postgres) a fresh database per test on a throwaway
# PostgreSQL server. Read once, before each test clears PHOTOSEARCH_* variables.
TEST_BACKEND = os.environ.get("PHOTOSEARCH_TEST_BACKEND", "sqlite")


def pytest_configure(config: pytest.Config) -> None:
    """Outside any test (module fixtures run there), the machine cache is the run's own,
    never the user's: an `index` with the default engine exports the towers into it."""
    import tempfile

    os.environ["PHOTOSEARCH_CACHE"] = tempfile.mkdtemp(prefix="photosearch-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    shutil.rmtree(os.environ.pop("PHOTOSEARCH_CACHE", ""), ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> list[str]:
    import sqlite3

    import faiss
    import open_clip
    import torch

    return [
        (
            f"torch {torch.__version__}, open_clip {open_clip.__version__}, "
            f"faiss {faiss.__version__}, SQLite {sqlite3.sqlite_version}"
        )
    ]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own library and model cache, and no network."""
    for name in list(os.environ):
        if name.startswith("PHOTOSEARCH_"):
            monkeypatch.delenv(name)
    library = tmp_path / "library"
    monkeypatch.setenv("PHOTOSEARCH_LIBRARY", str(library))
    # Exporting the towers to ONNX takes seconds per library; tests/test_onnx.py turns
    # it on and checks that path.
    monkeypatch.setenv("PHOTOSEARCH_ENGINE", "torch")
    # Finding faces costs a twentieth of a second a photo, the demo model far less:
    # tests/test_faces.py turns it on and checks that path.
    monkeypatch.setenv("PHOTOSEARCH_FACES", "0")
    # Reading text costs a tenth of a second a photo and more: tests/test_text.py turns
    # it on and checks that path.
    monkeypatch.setenv("PHOTOSEARCH_TEXT", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    # The machine cache (the ONNX towers) too: retrieval.choices.cache_location.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return library


@pytest.fixture(scope="session")
def database_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """The PostgreSQL server of this run's tests, if they use one."""
    if TEST_BACKEND != "postgres":
        yield None
        return
    from tests.postgres import postgres_server

    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture
def test_database(database_server: str | None) -> str | None:
    """The database URL a test's library keeps its tables in (None: SQLite)."""
    if database_server is None:
        return None
    from tests.postgres import fresh_database

    return fresh_database(database_server)


@pytest.fixture
def fake_library(tmp_path: Path, test_database: str | None) -> Iterator[Library]:
    settings = Settings(
        library=tmp_path / "library",
        batch_size=4,
        database=test_database,
        faces=False,
        text=False,
    )
    store = Store.open(settings.library, create=True, database=test_database)
    encoder = FakeEncoder()
    library = Library(store, settings, encoder.info, encoder)
    yield library
    library.close()


def random_color(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real `photosearch` program; returns the CompletedProcess."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [str(Path(sys.executable).with_name("photosearch")), *args],
        check=False,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO,
    )


def run_demo_index(
    photos: Path, library: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`photosearch index PHOTOS` with the demo model, however it ends."""
    return run_cli(*demo_index_args(photos, library, *extra), env=env)


def index_with_demo(
    photos: Path, library: Path, *extra: str, env: dict[str, str] | None = None
) -> None:
    """`photosearch index PHOTOS` with the demo model; it must succeed."""
    done = run_demo_index(photos, library, *extra, env=env)
    assert done.returncode == 0, done.stderr


def main_in_fresh_process(*argv: str) -> tuple[str, bool]:
    """Run `photosearch ARGV` in a new interpreter: (its stdout, whether it imported torch)."""
    return run_in_fresh_process(
        "import sys\nfrom photosearch.cli import main\n"
        f"sys.argv = ['photosearch', *{list(argv)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )


def run_in_fresh_process(code: str) -> tuple[str, bool]:
    """Run Python `code` in a new interpreter: (its stdout, whether it imported torch)."""
    code += "\nimport sys\nprint('TORCH' if 'torch' in sys.modules else 'NO-TORCH')"
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    lines = out.stdout.rstrip().splitlines()
    assert lines and lines[-1] in ("TORCH", "NO-TORCH"), out.stdout + out.stderr
    return "\n".join(lines[:-1]), lines[-1] == "TORCH"


@contextmanager
def serving(
    library: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`photosearch serve --port 0` on `library`: (the URL it prints, the process), killed
    at the end if still running."""
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("photosearch")),
            "serve",
            "--library",
            str(library),
            "--port",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"at (http://\S+)", line)
    try:
        assert match, (line, process.stderr.read() if process.stderr else "")
        yield match.group(1), process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture(params=["native", "poll"])
def watching(
    request: pytest.FixtureRequest, fake_library: Library, tmp_path: Path
) -> Iterator[tuple[Watcher, Path]]:
    photos = tmp_path / "photos"
    photos.mkdir()
    options = WatchOptions(
        debounce=0.2, poll=request.param == "poll", poll_interval=0.2
    )
    watcher = Watcher(fake_library, [str(photos)], options)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    wait_for(lambda: watcher.batches >= 1)  # reconciled, observer running
    yield watcher, photos
    watcher.stop()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the daemon did not stop"
