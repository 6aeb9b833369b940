"""Videos end to end with the demo model through the real program: a sentence or a photo
finds the video and the second; tags carry their stretches; a kill -9 in the middle of a
long video leaves nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from retrieval.index.ids import image_ids
from retrieval.library import Library
from retrieval.settings import Settings
from retrieval.store import DATABASE_NAME
from tests.conftest import index_with_demo, run_cli
from tests.helpers import start_index
from tests.videos import (
    BLUE_STAR,
    GREEN_HEART,
    RED_CIRCLE,
    make_video,
    scene_frame,
    shapes_video,
)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("videos")
    photos = root / "photos"
    shapes_video(photos / "party.mp4")
    make_video(photos / "other.mov", [(3, RED_CIRCLE)])
    scene_frame(RED_CIRCLE, (240, 240)).save(photos / "circle.png")
    library = root / "lib"
    index_with_demo(photos, library, "--no-progress")
    return photos, library


def search_json(*args: str) -> list[dict[str, object]]:
    done = run_cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert isinstance(rows, list)
    return rows


def test_a_sentence_finds_the_video_and_the_second(indexed: tuple[Path, Path]) -> None:
    photos, library = indexed
    for sentence, low, high in (("a blue star", 4, 8), ("a green heart", 8, 12)):
        rows = search_json("search", sentence, "--library", str(library))
        best = rows[0]
        assert best["path"] == str(photos / "party.mp4"), rows
        assert best["kind"] == "video"
        t = best["t"]
        assert isinstance(t, float) and low <= t < high, (sentence, t)
        moments = best["moments"]
        assert isinstance(moments, list) and moments[0]["t"] == t
    paths = [
        r["path"]
        for r in search_json(
            "search", "a blue star", "--library", str(library), "-k", "10"
        )
    ]
    assert paths.count(str(photos / "party.mp4")) == 1
    table = run_cli("search", "a blue star", "--library", str(library))
    assert table.returncode == 0 and "party.mp4 @ 0:0" in table.stdout


def test_a_photo_finds_the_moment_that_shows_it(
    indexed: tuple[Path, Path], tmp_path: Path
) -> None:
    photos, library = indexed
    heart = tmp_path / "heart.png"
    scene_frame(GREEN_HEART, (240, 240), seed=7).save(heart)
    rows = search_json("similar", str(heart), "--library", str(library))
    best = rows[0]
    assert best["path"] == str(photos / "party.mp4")
    t = best["t"]
    assert isinstance(t, float) and 8 <= t < 12, rows


def test_a_videos_tag_says_where_in_it_the_label_shows(
    indexed: tuple[Path, Path],
) -> None:
    photos, library = indexed
    done = run_cli(
        "tag",
        "--label",
        "a blue star",
        "--set",
        "stars",
        # Three items are too few for the open-world fit to be sure of anything.
        "--threshold",
        "0.3",
        "--library",
        str(library),
    )
    assert done.returncode == 0, done.stderr
    rows = search_json("tags", "--library", str(library))
    video_rows = [r for r in rows if r["path"] == str(photos / "party.mp4")]
    assert video_rows, rows
    ranges = video_rows[0]["ranges"]
    assert isinstance(ranges, list) and ranges
    # The star shows from 4 s to 8 s: the stretches lie there.
    assert all(4 <= start < end <= 8.0 + 1e-6 for start, end in ranges), ranges
    assert not any(r["path"] == str(photos / "other.mov") for r in rows)


def moment_rows(library: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(f"file:{library / DATABASE_NAME}?mode=ro", uri=True) as db:
        return db.execute(
            "select path, status, length(times) / 4 from images "
            "left join embeddings on image_id = images.id order by path"
        ).fetchall()


@pytest.mark.parametrize("point", ["encoded:3", "before-commit:1"])
def test_a_kill_in_the_middle_of_a_long_video_leaves_nothing_half_written(
    tmp_path: Path, point: str
) -> None:
    photos = tmp_path / "photos"
    # 60 s with a moment every half second: 120 frames, 15 batches of 8.
    make_video(
        photos / "long.mp4",
        [(20, RED_CIRCLE), (20, BLUE_STAR), (20, GREEN_HEART)],
        fps=4,
        gop=4,
    )
    library = tmp_path / "lib"
    env = {"PHOTOSEARCH_VIDEO_INTERVAL": "0.5", "PHOTOSEARCH_DEBOUNCE": "0"}
    os.environ.update(env)
    try:
        proc = start_index(photos, library, crash_at=point)
        proc.wait(timeout=300)
        assert proc.returncode == -signal.SIGKILL
        # Killed before the video's one transaction: nothing of it, no half.
        assert all(n is None for _, _, n in moment_rows(library))
        proc = start_index(photos, library)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    finally:
        for name in env:
            os.environ.pop(name, None)
    [(path, status, count)] = moment_rows(library)
    assert (path, status) == (str(photos / "long.mp4"), "ok")
    assert count == 120
    opened = Library.open(Settings(library=library))
    try:
        [video] = [s.image_id for s in opened.store.file_states().values()]
        times, _ = opened.store.moments(video, opened.model.dim)
        assert len(np.unique(times)) == len(times) == 120  # no moment twice
        ids = opened.index._all_ids()
        assert (image_ids(ids) == video).sum() == 120
        assert len(opened.index) == opened.store.entry_count(opened.model.dim)
    finally:
        opened.close()


def test_index_options_for_videos(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_video(photos / "v.mp4", [(6, RED_CIRCLE)], gop=10)
    library = tmp_path / "lib"
    env = {"PHOTOSEARCH_DEBOUNCE": "0"}
    index_with_demo(photos, library, "--video-interval", "1", env=env)
    [(_, _, count)] = moment_rows(library)
    assert count == 6
    status = run_cli("status", "--library", str(library))
    assert "videos      1 of them, 0:06 of video in all" in status.stdout
    bad = run_cli(
        "index", str(photos), "--library", str(library), "--video-interval", "0"
    )
    assert bad.returncode == 2 and "--video-interval" in bad.stderr
    assert "Traceback" not in bad.stderr
    wrong = run_cli(
        "index",
        str(photos),
        "--library",
        str(library),
        env={"PHOTOSEARCH_VIDEO_SCENE": "2"},
    )
    assert wrong.returncode == 2 and "video scene change 2.0" in wrong.stderr
