"""Results taken elsewhere (`search --copy-to`, `--link-to`): names that collide get a
suffix and nothing there is overwritten, a second run adds nothing, links point at the
library's files, and what cannot be done is one line."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from indexer.pipeline import index_folders
from retrieval.errors import UsageError
from retrieval.library import Library
from retrieval.search.collect import take
from tests.conftest import TEST_BACKEND, index_with_demo, run_cli
from tests.helpers import draw


def two_namesakes(tmp_path: Path) -> list[str]:
    """Two different photos named alike, in two folders."""
    first = draw(tmp_path / "2023" / "IMG_0001.jpg", (200, 30, 30))
    second = draw(tmp_path / "2024" / "IMG_0001.jpg", (30, 30, 200))
    return [str(first), str(second)]


def test_colliding_names_get_a_suffix_and_nothing_is_overwritten(
    tmp_path: Path,
) -> None:
    sources = two_namesakes(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "IMG_0001.jpg").write_bytes(b"the user's own file")
    taken = take(sources, out, "copy")
    assert [t.target.name for t in taken] == ["IMG_0001 (1).jpg", "IMG_0001 (2).jpg"]
    assert (out / "IMG_0001.jpg").read_bytes() == b"the user's own file"
    for source, done in zip(sources, taken, strict=True):
        assert done.target.read_bytes() == Path(source).read_bytes()
    # A second run finds them there and adds nothing.
    again = take(sources, out, "copy")
    assert [t.target for t in again] == [t.target for t in taken]
    assert not any(t.fresh for t in again)
    assert len(list(out.iterdir())) == 3


def test_links_point_at_the_library_files(tmp_path: Path) -> None:
    sources = two_namesakes(tmp_path)
    linked = take(sources, tmp_path / "links", "symlink")
    assert [os.readlink(t.target) for t in linked] == sources
    hard = take(sources, tmp_path / "hard", "hardlink")
    assert all(os.path.samefile(t.target, t.source) for t in hard)
    assert [t.target.name for t in hard] == ["IMG_0001.jpg", "IMG_0001 (1).jpg"]


def test_what_cannot_be_done_is_a_usage_error(tmp_path: Path) -> None:
    sources = two_namesakes(tmp_path)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        take(sources, tmp_path / "a-file", "copy")
    with pytest.raises(UsageError, match="not there any more"):
        take([str(tmp_path / "gone.jpg")], tmp_path / "out", "copy")


@pytest.mark.skipif(
    TEST_BACKEND == "postgres", reason="the command line's libraries are SQLite's"
)
def test_search_copies_its_results(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    two_namesakes(photos)
    library = tmp_path / "library"
    index_with_demo(photos, library)
    out = tmp_path / "picked"
    done = run_cli(
        "search", "--library", str(library), "a photo", "--copy-to", str(out), "--json"
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert sorted(Path(r["taken_to"]).name for r in rows) == [
        "IMG_0001 (1).jpg",
        "IMG_0001.jpg",
    ]
    assert "copied 2 files" in done.stderr
    bad = run_cli("search", "--library", str(library), "a photo", "--hard")
    assert bad.returncode == 2 and "--link-to" in bad.stderr


def test_the_api_downloads_picked_results_as_one_zip(
    fake_library: Library, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from photosearch.web.app import create_app

    sources = two_namesakes(tmp_path / "photos")
    index_folders(fake_library, [str(tmp_path / "photos")], analyzers=[])
    ids = [fake_library.store.meta_by_path(p).image_id for p in sources]  # type: ignore[union-attr]
    client = TestClient(create_app(fake_library), base_url="http://127.0.0.1")
    answer = client.post("/api/download", json={"ids": ids})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as zf:
        assert zf.namelist() == ["IMG_0001.jpg", "IMG_0001 (1).jpg"]
        assert zf.read("IMG_0001 (1).jpg") == Path(sources[1]).read_bytes()
    missing = client.post("/api/download", json={"ids": [*ids, 999999]})
    assert missing.status_code == 404 and "999999" in missing.json()["error"]
    assert client.post("/api/download", json={"ids": []}).status_code == 422
    # As every request body: numbers must be numbers, and no field unknown.
    assert client.post("/api/download", json={"ids": [str(ids[0])]}).status_code == 422
    extra = client.post("/api/download", json={"ids": ids, "all": True})
    assert extra.status_code == 422
