"""Indexing in two passes: every photo searchable after the first (CLIP, EXIF, metadata),
views, faces and text following in the second, newest first; status and searches saying
what is still pending; Ctrl-C and kill -9 in either pass losing and doubling nothing; the
daemon's arrivals before its backlog; an analyzer's records going with the content it
was made of; one vector per photo whoever makes it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from indexer.analyzers.base import Analyzer, finish_order
from indexer.analyzers.exif import ExifAnalyzer
from indexer.pipeline import index_changes, index_folders
from indexer.watch import Watcher, WatchOptions
from retrieval.library import Library
from retrieval.search.filters import Filters
from retrieval.search.pending import pending_notes
from retrieval.settings import Settings
from retrieval.text.fold import parse_contains
from tests.conftest import (
    REPO,
    TEST_BACKEND,
    main_in_fresh_process,
    run_cli,
    run_demo_index,
)
from tests.helpers import (
    PHOTOSEARCH,
    CountingAnalyzer,
    demo_index_args,
    draw,
    wait_for,
)

TEXT_PHOTOS = REPO / "data" / "text" / "photos"
ALL_ON = {"PHOTOSEARCH_FACES": "1", "PHOTOSEARCH_TEXT": "1"}
cli = pytest.mark.skipif(
    TEST_BACKEND == "postgres", reason="the command line's libraries are SQLite's"
)


def copies(folder: Path, sources: Sequence[Path], times: int = 1) -> Path:
    """Each source copied `times` times into `folder` (copies re-encoded with a mark in
    a corner, so that none shares another's content)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(times):
        for source in sources:
            target = folder / f"{source.stem}-{n}{source.suffix}"
            if n == 0:
                shutil.copy(source, target)
                continue
            with Image.open(source) as opened:
                picture = opened.convert("RGB")
            picture.putpixel((0, 0), (n * 40 % 256, 7, 7))
            picture.save(target, quality=95)
    return folder


def library_db(library: Path) -> sqlite3.Connection:
    return sqlite3.connect(library / "library.db")


def analysed_at(library: Path, analyzer: str) -> dict[str, str]:
    """When `analyzer` looked at each photo, by file name."""
    with library_db(library) as db:
        rows = db.execute(
            "SELECT i.path, a.analyzed_at FROM analyses a JOIN images i "
            "ON i.id = a.image_id WHERE a.analyzer = ?",
            (analyzer,),
        ).fetchall()
    return {Path(p).name: str(t) for p, t in rows}


def status_of(library: Path) -> dict[str, Any]:
    done = run_cli("status", "--json", "--library", str(library), env=ALL_ON)
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


@cli
def test_searchable_after_the_first_pass_then_understood_after_the_second(
    tmp_path: Path,
) -> None:
    photos = copies(tmp_path / "photos", sorted(TEXT_PHOTOS.glob("*.jpg")))
    count = len(list(photos.iterdir()))
    library = tmp_path / "library"
    quick = run_demo_index(photos, library, "--quick", env=ALL_ON)
    assert quick.returncode == 0, quick.stderr
    assert "searchable:" in quick.stderr and "every photo can be found" in quick.stderr
    analyses = status_of(library)["analyses"]
    assert analyses["clip"]["done"] == count and analyses["clip"]["pending"] == 0
    for name in ("faces", "text"):
        assert analyses[name]["pending"] == count and analyses[name]["done"] == 0
    shown = run_cli("status", "--library", str(library), env=ALL_ON)
    assert f"text: 0 done, {count} to look at" in shown.stdout
    # Searchable: a sentence finds every photo, and a search by words says what it
    # may miss.
    hits = run_cli("search", "a photo", "-k", "50", "--json", "--library", str(library))
    assert len(json.loads(hits.stdout)) == count
    words = run_cli(
        "search", "--contains", "wifi", "--library", str(library), env=ALL_ON
    )
    assert words.returncode == 0
    assert f"{count} of {count} photos have not been looked at for text" in (
        words.stderr
    )
    # The second pass: every photo understood, the search whole, the note gone.
    full = run_demo_index(photos, library, env=ALL_ON)
    assert full.returncode == 0, full.stderr
    assert "looking closer:" in full.stderr
    analyses = status_of(library)["analyses"]
    assert all(c["pending"] == 0 for c in analyses.values()), analyses
    words = run_cli(
        "search", "--contains", "wifi", "--json", "--library", str(library), env=ALL_ON
    )
    assert [Path(r["path"]).name for r in json.loads(words.stdout)] == ["wifi-0.jpg"]
    assert "not been looked at" not in words.stderr


@cli
def test_ctrl_c_in_the_second_pass_keeps_what_is_done_and_index_finishes_it(
    tmp_path: Path,
) -> None:
    photos = copies(tmp_path / "photos", sorted(TEXT_PHOTOS.glob("*.jpg")), times=2)
    count = len(list(photos.iterdir()))
    library = tmp_path / "library"
    env = {**os.environ, **ALL_ON, "PHOTOSEARCH_FACES": "0"}
    process = subprocess.Popen(
        [PHOTOSEARCH, *demo_index_args(photos, library, "--no-progress")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    said = []
    for line in process.stderr:
        said.append(line)
        if line.startswith("looking closer:"):
            process.send_signal(signal.SIGINT)
            break
    _, rest = process.communicate(timeout=300)
    said.append(rest)
    assert process.returncode == 130, said
    assert "stopped; what was done is kept" in "".join(said)
    before = analysed_at(library, "text")
    assert 0 < len(before) < count  # the photos in hand were written, the rest not
    again = run_demo_index(photos, library, env=env)
    assert again.returncode == 0, again.stderr
    after = analysed_at(library, "text")
    assert len(after) == count
    # Nothing looked at twice: what was written before is as it was.
    assert {name: after[name] for name in before} == before


TEXT_ONLY = {**ALL_ON, "PHOTOSEARCH_FACES": "0"}


@pytest.fixture(scope="module")
def read_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The text photos, and a library of them indexed whole without a crash."""
    root = tmp_path_factory.mktemp("read-once")
    photos = copies(root / "photos", sorted(TEXT_PHOTOS.glob("*.jpg")))
    done = run_demo_index(photos, root / "clean", "--batch-size", "2", env=TEXT_ONLY)
    assert done.returncode == 0, done.stderr
    return photos, root / "clean"


@cli
@pytest.mark.parametrize("crash", ["batch-committed:2", "analyses-committed:2"])
def test_kill_9_in_either_pass_loses_and_doubles_nothing(
    tmp_path: Path, crash: str, read_once: tuple[Path, Path]
) -> None:
    photos, clean = read_once
    env = TEXT_ONLY
    library = tmp_path / "library"
    killed = run_demo_index(
        photos,
        library,
        "--batch-size",
        "2",
        env={**env, "PHOTOSEARCH_CRASH_AT": crash},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    done = run_demo_index(photos, library, "--batch-size", "2", env=env)
    assert done.returncode == 0, done.stderr

    def held(root: Path) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
        with library_db(root) as db:
            vectors = db.execute(
                "SELECT i.path, count(e.image_id) FROM images i "
                "LEFT JOIN embeddings e ON e.image_id = i.id GROUP BY i.path"
            ).fetchall()
            lines = db.execute(
                "SELECT i.path, t.text FROM text_lines t JOIN images i "
                "ON i.id = t.image_id ORDER BY i.path, t.text"
            ).fetchall()
        return sorted(vectors), lines

    assert held(library) == held(clean)
    assert analysed_at(library, "text").keys() == analysed_at(clean, "text").keys()


class Slow(CountingAnalyzer):
    """A second-pass analyzer that takes its time over each photo."""

    name = "slow"

    def analyze(self, prepared: Sequence[Any]) -> list[Any]:
        time.sleep(0.3 * len(prepared))
        return super().analyze(prepared)


def test_the_daemon_gives_arrivals_their_first_pass_before_its_backlog(
    fake_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    for n in range(24):
        draw(folder / f"old{n:02d}.png", (10 * n, 90, 200 - 5 * n), size=64)
    index_folders(fake_library, [str(folder)], analyzers=[ExifAnalyzer()])
    slow = Slow()
    watcher = Watcher(fake_library, [str(folder)], WatchOptions(debounce=0.2))
    watcher.analyzers = [ExifAnalyzer(), slow]
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(slow.seen) >= 2, timeout=60)
        new = draw(folder / "new.png", (250, 250, 10), size=64)
        store = fake_library.store
        wait_for(lambda: store.meta_by_path(str(new)) is not None, timeout=30)
        arrived = len(slow.seen)
        # Searchable while the backlog is still being worked through...
        assert arrived < 24
        wait_for(lambda: str(new) in slow.seen, timeout=60)
        # ... and, the newest photo, looked at before the rest of the backlog.
        assert len(set(slow.seen[: slow.seen.index(str(new))])) < 24
        wait_for(lambda: store.pending_count("slow", 1) == 0, timeout=60)
    finally:
        watcher.stop()
        thread.join(timeout=30)
    assert set(slow.seen) == {str(p) for p in folder.iterdir()}
    assert fake_library.store.analysis_counts()["slow"] == (25, 0)


@cli
def test_new_content_loses_the_old_contents_text_even_with_text_off(
    tmp_path: Path,
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shot = photos / "shot.jpg"
    shutil.copy(TEXT_PHOTOS / "wifi.jpg", shot)
    library = tmp_path / "library"
    env = {"PHOTOSEARCH_TEXT": "1"}
    assert run_demo_index(photos, library, env=env).returncode == 0
    lib = ["--library", str(library)]
    found = run_cli("search", "--contains", "password", "--json", *lib, env=env)
    assert [Path(r["path"]).name for r in json.loads(found.stdout)] == ["shot.jpg"]
    # The sign replaced by a landscape, indexed with text off.
    Image.new("RGB", (480, 320), (40, 120, 60)).save(shot, quality=90)
    os.utime(shot, (time.time() + 5, time.time() + 5))
    off = run_demo_index(photos, library, "--no-text")
    assert off.returncode == 0 and "updated 1" in off.stdout, off.stdout + off.stderr
    found = run_cli("search", "--contains", "password", "--json", *lib)
    assert found.returncode == 0 and json.loads(found.stdout) == [], found.stdout
    said = run_cli("text", str(shot), "--json", *lib)
    assert said.returncode == 0 and json.loads(said.stdout) == [], said.stdout
    # Not looked at: a text search says so, rather than an empty answer that looks
    # like the truth.
    noted = run_cli("search", "--contains", "password", *lib, env=env)
    assert "1 of 1 photos have not been looked at for text" in noted.stderr


def test_a_missing_writer_fails_the_batch(
    fake_library: Library, tmp_path: Path
) -> None:
    """An analyzer whose records have no writer is an error: recorded as done, its
    records would never be written."""
    from retrieval.records import Analyzed

    folder = tmp_path / "photos"
    draw(folder / "a.png", (200, 10, 10))
    index_folders(fake_library, [str(folder)])
    image_id = next(iter(fake_library.store.file_states().values())).image_id
    with pytest.raises(LookupError, match="no writer"):
        fake_library.store.write_analyses(
            [(image_id, Analyzed("nameless", 1, [1]))], {}
        )
    assert not fake_library.store.analysed(image_id, "nameless")


def jpeg(path: Path, size: tuple[int, int], seed: int) -> Path:
    """A large photo-like JPEG (noise over gradients), where decoding at one size or
    another changes the pixels the model sees."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    pixels = base + rng.normal(0, 40, (height, width, 3)).astype(np.float32)
    pixels[: height // 2] = 255 - pixels[: height // 2]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=92)
    return path


def test_one_vector_per_photo_whoever_makes_it(tmp_path: Path) -> None:
    """The same photos' vectors from a run with nothing but CLIP, from one where an
    analyzer asks for a larger picture (the defaults' faces and text do), from the
    daemon's round of changes, and from a run with the views of wide photos off: bit
    for bit the same."""
    photos = tmp_path / "photos"
    jpeg(photos / "wide.jpg", (2400, 1200), 1)
    jpeg(photos / "large.jpg", (2000, 1500), 2)
    draw(photos / "small.png", (30, 160, 90), size=200)

    def vectors(
        name: str, analyzers: list[Analyzer], daemon: bool = False, **settings: Any
    ) -> dict[str, np.ndarray]:
        config = Settings(
            library=tmp_path / name, model="demo", faces=False, text=False
        ).with_options(**settings)
        with Library.open(config, create=True) as library:
            if daemon:
                paths = [str(p) for p in photos.iterdir()]
                index_changes(library, [str(photos)], paths, analyzers=analyzers)
            else:
                index_folders(library, [str(photos)], analyzers=analyzers)
            ids = {
                Path(p).name: s.image_id for p, s in library.store.file_states().items()
            }
            found = library.store.vectors(list(ids.values()), library.model.dim)
            return dict(zip(ids, found, strict=True))

    plain = vectors("plain", [ExifAnalyzer()])
    larger = vectors("larger", [ExifAnalyzer(), CountingAnalyzer(picture_side=768)])
    daemon = vectors("daemon", [ExifAnalyzer()], daemon=True)
    no_views = vectors("no-views", [ExifAnalyzer()], views_aspect=0.0)
    for name, vector in plain.items():
        for other in (larger, daemon, no_views):
            assert np.array_equal(vector, other[name]), name


def test_finish_steps_run_in_their_declared_order() -> None:
    class Step(CountingAnalyzer):
        def __init__(self, name: str, after: tuple[str, ...] = ()) -> None:
            super().__init__()
            self.name = name
            self.finish_after = after

    metadata, faces, exif = Step("metadata", ("faces",)), Step("faces"), Step("exif")
    ordered = finish_order([metadata, exif, faces])
    assert [a.name for a in ordered] == ["exif", "faces", "metadata"]
    # Without the faces analyzer, the metadata analyzer's step needs nothing first.
    assert [a.name for a in finish_order([metadata, exif])] == ["metadata", "exif"]


def test_the_second_pass_beside_the_first_on_a_gpu(
    fake_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the model on a GPU the second pass runs while the first does (tried here on
    the CPU): every photo searchable and analysed once, none left pending."""
    import indexer.pipeline

    # On a CPU it does not (the first pass is what makes the library searchable).
    assert not indexer.pipeline.overlaps(fake_library)
    monkeypatch.setattr(indexer.pipeline, "overlaps", lambda library: True)
    folder = tmp_path / "photos"
    made = [draw(folder / f"{n:02d}.png", (9 * n, 200, 40), size=64) for n in range(30)]
    slow = Slow()
    index_folders(fake_library, [str(folder)], analyzers=[ExifAnalyzer(), slow])
    assert sorted(slow.seen) == sorted(str(p) for p in made)
    store = fake_library.store
    assert store.counts()["vectors"] == 30
    assert store.analysis_counts()["slow"] == (30, 0)
    assert store.pending_count("slow", 1) == 0


def test_a_search_by_person_or_words_says_what_it_may_miss(
    fake_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    for n in range(4):
        draw(folder / f"{n}.png", (60 * n, 30, 30))
    index_folders(fake_library, [str(folder)])
    settings = fake_library.settings.with_options(faces=True, text=True)
    library = Library(
        fake_library.store, settings, fake_library.model, fake_library.encoder
    )
    by_words = Filters(contains=parse_contains("wifi", "--contains"))
    notes = pending_notes(library, by_words)
    assert [(n.analysis, n.pending, n.of) for n in notes] == [("text", 4, 4)]
    assert "4 of 4 photos have not been looked at for text yet" in notes[0].message
    by_person = Filters(persons=("Anna",))
    assert [n.analysis for n in pending_notes(library, by_person)] == ["faces"]
    # A library whose settings do not read text is not nagged about it.
    assert pending_notes(fake_library, by_words) == []


def test_the_first_query_after_a_first_index_needs_no_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text tower is exported while the first pass runs: a query right after
    `index --quick` (and while a background export may still run) imports no torch."""
    monkeypatch.setenv("PHOTOSEARCH_ENGINE", "auto")
    monkeypatch.setenv("PHOTOSEARCH_CACHE", str(tmp_path / "cache"))
    photos = tmp_path / "photos"
    for n in range(6):
        draw(photos / f"{n}.png", (40 * n, 200, 30))
    library = tmp_path / "library"
    done = run_demo_index(photos, library, "--quick")
    assert done.returncode == 0, done.stderr
    output, imported_torch = main_in_fresh_process(
        "search", "a green square", "--library", str(library), "--json"
    )
    assert output.startswith("[") and not imported_torch, output


def test_ray_workers_run_exactly_the_drivers_analyzers() -> None:
    """A worker builds the analyzers by the names the driver sends, and refuses a name
    it does not know, with the fix."""
    from indexer.analyzers.registry import by_name
    from retrieval.errors import UsageError
    from tests.fakes import FakeEncoder

    settings = Settings(faces=False, text=False, metadata=False)
    made = by_name(["exif", "metadata"], settings, FakeEncoder())
    assert [a.name for a in made] == ["exif", "metadata"]
    with pytest.raises(UsageError, match="unknown analyzer telepathy"):
        by_name(["telepathy"], settings, FakeEncoder())
