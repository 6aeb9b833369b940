"""The analyzer seam: an analyzer added to a populated library looks at every photo once
(CLIP is not run again), resumes after kill -9, and one that fails loses nothing else."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from indexer.analyzers.base import Analyzer, Photo
from indexer.analyzers.exif import ExifAnalyzer
from indexer.pipeline import index_changes, index_folders
from indexer.watch import Watcher, WatchOptions
from retrieval.library import Library
from retrieval.store import Store
from tests.conftest import REPO, random_color
from tests.helpers import CountingAnalyzer, draw, wait_for


def photos_in(folder: Path, count: int, seed: int = 0) -> list[Path]:
    rng = random.Random(seed)
    return [
        draw(folder / f"{n:03d}.png", random_color(rng), size=96, fmt="PNG")
        for n in range(count)
    ]


def test_a_new_analyzer_looks_at_every_photo_once_without_clip(
    fake_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    made = photos_in(folder, 10)
    index_folders(fake_library, [str(folder)])
    encoded = fake_library.encoder.images_encoded  # type: ignore[attr-defined]
    assert encoded == 10
    counting = CountingAnalyzer(picture_side=48)
    analyzers: list[Analyzer] = [ExifAnalyzer(), counting]

    summary = index_folders(fake_library, [str(folder)], analyzers=analyzers)
    assert summary.encoded == 0
    assert fake_library.encoder.images_encoded == encoded  # type: ignore[attr-defined]
    assert sorted(counting.seen) == sorted(str(p) for p in made)
    assert all(min(size) >= 48 for size in counting.sizes)
    store = fake_library.store
    assert store.analysis_counts()["counting"] == (10, 0)
    assert store.analysis_counts()["exif"] == (10, 0)
    # Nothing more to do. A photo arriving (the daemon's round of changes) gets the
    # first pass, searchable at once; the pixels' analyzers look at it in the second.
    index_folders(fake_library, [str(folder)], analyzers=analyzers)
    assert len(counting.seen) == 10
    new = draw(folder / "new.png", (10, 200, 30), size=96, fmt="PNG")
    index_changes(fake_library, [str(folder)], [str(new)], analyzers=analyzers)
    assert len(counting.seen) == 10
    assert store.analysis_counts()["exif"] == (11, 0)
    assert store.counts()["vectors"] == 11
    assert store.pending_count("counting", 1) == 1
    index_folders(fake_library, [str(folder)], analyzers=analyzers)
    assert counting.seen[-1] == str(new) and len(counting.seen) == 11
    assert store.analysis_counts()["counting"] == (11, 0)
    # A newer version looks at every photo again.
    newer = CountingAnalyzer(version=2)
    index_folders(fake_library, [str(folder)], analyzers=[newer])
    assert len(newer.seen) == 11
    assert store.pending_analyses("counting", 2, 100) == []


class Broken(CountingAnalyzer):
    """Fails on every batch, and in `prepare` on photos whose name says so."""

    name = "broken"

    def prepare(self, photo: Photo) -> Any:
        if "bad" in photo.path:
            raise ValueError("no good")
        return super().prepare(photo)

    def analyze(self, prepared: Sequence[Any]) -> list[Any]:
        raise RuntimeError("the model is not there")


def test_a_failing_analyzer_fails_its_analysis_only(
    fake_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    photos_in(folder, 5)
    draw(folder / "bad.png", (200, 200, 10), size=96, fmt="PNG")
    analyzers: list[Analyzer] = [ExifAnalyzer(), Broken()]
    summary = index_folders(fake_library, [str(folder)], analyzers=analyzers)
    assert summary.added == 6 and summary.failed == 0
    store = fake_library.store
    assert store.counts()["vectors"] == 6
    assert store.analysis_counts() == {"clip": (6, 0), "exif": (6, 0), "broken": (6, 6)}
    reasons = {Path(p).name: e for _, p, a, e in store.analysis_failures()}
    assert reasons["bad.png"] == "broken: no good"
    assert reasons["000.png"] == "broken: the model is not there"
    # A failure is not retried until the file changes.
    index_folders(fake_library, [str(folder)], analyzers=analyzers)
    assert store.analysis_counts()["broken"] == (6, 6)


# A run of `index` in its own process, with the counting analyzer logging what it saw.
SCRIPT = """
import sys
from pathlib import Path
from indexer.analyzers.exif import ExifAnalyzer
from indexer.pipeline import index_folders
from retrieval.library import Library
from retrieval.store import Store
from retrieval.settings import Settings
from retrieval.store import Store
from tests.fakes import FakeEncoder
from tests.helpers import CountingAnalyzer

root, folder, log = sys.argv[1:4]
settings = Settings(faces=False, text=False, library=Path(root), batch_size=3)
encoder = FakeEncoder()
library = Library(Store.open(settings.library, create=True), settings, encoder.info, encoder)
counting = CountingAnalyzer(log=Path(log))
index_folders(library, [folder], analyzers=[ExifAnalyzer(), counting])
print("encoded", encoder.images_encoded)
library.close()
"""


def test_the_catch_up_resumes_after_kill_9(
    fake_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    made = photos_in(folder, 10)
    index_folders(fake_library, [str(folder)])
    root = str(fake_library.store.root)
    fake_library.close()
    log = tmp_path / "seen.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", SCRIPT, root, str(folder), str(log)],
            check=False,
            capture_output=True,
            text=True,
            env={**env, **extra},
            timeout=300,
        )

    killed = run(PHOTOSEARCH_CRASH_AT="analyses-committed:2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # Two batches of three committed; the analyzer may have looked at the next ones
    # (it runs ahead of the writes), whose work the kill lost.
    store = Store.open(Path(root), create=False)
    committed = {
        path
        for path, state in store.file_states().items()
        if store.analysed(state.image_id, "counting")
    }
    store.close()
    assert len(committed) == 6
    before = log.read_text().split()
    finished = run()
    assert finished.returncode == 0, finished.stderr
    assert "encoded 0" in finished.stdout  # CLIP never ran again
    again = log.read_text().split()[len(before) :]
    # What was committed before the kill is not looked at again; the rest is, once.
    assert sorted(again) == sorted(str(p) for p in made if str(p) not in committed)
    store = Store.open(Path(root), create=False)
    assert store.analysis_counts()["counting"] == (10, 0)
    store.close()


def test_the_daemon_catches_up_between_rounds_of_changes(
    fake_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    photos_in(folder, 8)
    index_folders(fake_library, [str(folder)])
    watcher = Watcher(fake_library, [str(folder)], WatchOptions(debounce=0.2))
    counting = CountingAnalyzer()
    watcher.analyzers = [ExifAnalyzer(), counting]
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(counting.seen) == 8, timeout=60)
        time.sleep(0.5)
        new = draw(folder / "later.png", (250, 10, 10), size=96, fmt="PNG")
        wait_for(lambda: str(new) in counting.seen, timeout=60)
        assert len(counting.seen) == 9
    finally:
        watcher.stop()
        thread.join(timeout=30)
    assert fake_library.store.analysis_counts()["counting"] == (9, 0)
