"""Text in photos, read by the real models (rapidocr's PP-OCRv6) in small photos with
text drawn on them (data/text/photos: see its README): found by the words they show,
by substring, case and accents aside, by a two-character Chinese word, by a plain
sentence; a photo stored on its side read upright; a photo without text costing one
small look; an old library read without CLIP; a bad file failing alone; the API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from indexer.analyzers.base import Analyzer
from indexer.analyzers.exif import ExifAnalyzer
from indexer.analyzers.text import TextAnalyzer
from indexer.pipeline import index_folders
from retrieval.errors import UsageError
from retrieval.library import Library
from retrieval.search.search import SearchOptions, search
from retrieval.search.terms import QueryTerm
from retrieval.search.vectors import query_vector
from retrieval.text.fold import fold, parse_contains, sentence_words
from retrieval.text.rapid import RapidText
from tests.conftest import REPO, TEST_BACKEND, index_with_demo, run_cli

PHOTOS = REPO / "data" / "text" / "photos"
TEXT_ON = {"PHOTOSEARCH_TEXT": "1"}
cli = pytest.mark.skipif(
    TEST_BACKEND == "postgres", reason="the command line's libraries are SQLite's"
)


def photos_in(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for photo in PHOTOS.glob("*.jpg"):
        if not names or photo.name in names:
            shutil.copy(photo, folder / photo.name)
    return folder


def text_on(library: Library) -> list[Analyzer]:
    return [ExifAnalyzer(), TextAnalyzer(library.settings)]


def names(rows: list[dict[str, Any]]) -> list[str]:
    return [Path(r["path"]).name for r in rows]


@pytest.fixture(scope="module")
def read_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five photos indexed once with text on, through the real program."""
    root = tmp_path_factory.mktemp("text")
    photos = photos_in(root / "photos")
    library = root / "library"
    index_with_demo(photos, library, env={**TEXT_ON, "PHOTOSEARCH_FACES": "0"})
    return library


def found(library: Path, *args: str) -> list[dict[str, Any]]:
    done = run_cli("search", *args, "--json", "--library", str(library), env=TEXT_ON)
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


@cli
def test_photos_are_found_by_the_words_they_show(read_library: Path) -> None:
    hits = found(read_library, "--contains", "wifi password")
    assert names(hits) == ["wifi.jpg"]
    assert hits[0]["text"] == "WIFI PASSWORD"
    left, top, right, bottom = hits[0]["text_box"]
    assert 0 <= left < right <= 1 and 0 <= top < bottom <= 1
    # A substring, in another case; any order.
    assert names(found(read_library, "--contains", "PASSW wif")) == ["wifi.jpg"]
    # Accents aside, both ways.
    assert names(found(read_library, "--contains", "creme brulee")) == ["receipt.jpg"]
    assert names(found(read_library, "--contains", "CAFÉ")) == ["receipt.jpg"]
    # A phrase in quotes is in that order.
    assert names(found(read_library, "--contains", '"42.50 eur"')) == ["receipt.jpg"]
    assert found(read_library, "--contains", '"eur 42.50"') == []
    # A two-character Chinese word (trigrams alone would miss it), spaces aside.
    assert names(found(read_library, "--contains", "出口")) == ["chinese.jpg"]
    assert names(found(read_library, "--contains", "北京 出口")) == ["chinese.jpg"]
    # Stored on its side: read upright.
    assert names(found(read_library, "--contains", "platform nine")) == ["rotated.jpg"]
    # A word no photo shows finds nothing.
    assert found(read_library, "--contains", "zqxjkv") == []


@cli
def test_a_sentence_finds_the_words_and_contains_joins_other_filters(
    read_library: Path,
) -> None:
    # A plain sentence: CLIP's ranking fused with the photos whose text has its words.
    assert names(found(read_library, "wifi password"))[0] == "wifi.jpg"
    assert names(found(read_library, "the total of 42.50"))[0] == "receipt.jpg"
    # With a sentence and another filter (no photo here has a camera).
    hits = found(read_library, "a receipt", "--contains", "42.50", "-k", "3")
    assert names(hits) == ["receipt.jpg"]
    assert found(read_library, "--contains", "42.50", "--camera", "Canon") == []
    plain = run_cli(
        "search", "--contains", "hunter42", "--library", str(read_library), env=TEXT_ON
    )
    assert plain.returncode == 0 and '"hunter42"' in plain.stdout


@cli
def test_text_prints_a_photos_lines_and_bad_input_is_one_line(
    read_library: Path, tmp_path: Path
) -> None:
    done = run_cli(
        "text", str(PHOTOS / "receipt.jpg"), "--json", "--library", str(read_library)
    )
    assert done.returncode == 0, done.stderr
    lines = json.loads(done.stdout)
    assert [fold(line["text"]) for line in lines] == [
        fold("CAFÉ DU MONDE"),
        fold("Crème brûlée 6.50"),
        fold("TOTAL 42.50 EUR"),
    ]
    assert all(0.5 < line["confidence"] <= 1 for line in lines)
    # Any file, not in the library: read now.
    outside = photos_in(tmp_path / "elsewhere", "wifi.jpg") / "wifi.jpg"
    done = run_cli("text", str(outside), "--library", str(read_library))
    assert "WIFI PASSWORD" in done.stdout
    status = run_cli("status", "--library", str(read_library))
    assert "8 lines in 4 photos" in status.stdout, status.stdout
    for args, env in (
        (("search", "--contains", '""'), {}),
        (("text", str(tmp_path / "missing.jpg")), {}),
        (("index", str(tmp_path)), {"PHOTOSEARCH_TEXT_SIDE": "10"}),
        (("index", str(tmp_path)), {"PHOTOSEARCH_TEXT": "maybe"}),
    ):
        bad = run_cli(*args, "--library", str(read_library), env=env)
        assert bad.returncode == 2, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert "Traceback" not in bad.stderr


def test_a_photo_without_text_costs_one_small_look(
    fake_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bool, int]] = []
    run = RapidText._run

    def counted(self: RapidText, bgr: Any, *, detect_only: bool) -> Any:
        calls.append((detect_only, max(bgr.shape[:2])))
        return run(self, bgr, detect_only=detect_only)

    monkeypatch.setattr(RapidText, "_run", counted)
    photos = photos_in(tmp_path / "photos", "plain.jpg", "wifi.jpg")
    index_folders(fake_library, [str(photos)], analyzers=text_on(fake_library))
    # Each photo gets one look, on a small copy; only the one with text is read.
    looks = [side for detect_only, side in calls if detect_only]
    assert looks == [640, 640]
    assert [detect_only for detect_only, _ in calls].count(False) == 1
    assert fake_library.store.text_counts() == (1, 2)


def test_an_old_library_is_read_without_clip_and_a_bad_file_fails_alone(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = photos_in(tmp_path / "photos", "wifi.jpg", "plain.jpg")
    index_folders(fake_library, [str(photos)], analyzers=[ExifAnalyzer()])
    encoded = fake_library.encoder.images_encoded  # type: ignore[attr-defined]
    assert fake_library.store.text_counts() == (0, 0)

    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    summary = index_folders(
        fake_library, [str(photos)], analyzers=text_on(fake_library)
    )
    assert summary.failed == 1
    assert fake_library.encoder.images_encoded == encoded  # type: ignore[attr-defined]
    store = fake_library.store
    wifi = store.meta_by_path(str(photos / "wifi.jpg"))
    assert wifi is not None
    assert store.ids_containing(parse_contains("wifi")).tolist() == [wifi.image_id]
    assert store.ids_containing(parse_contains("zqxjkv")).tolist() == []
    # OCR's slips: a 0 read for an O, an l for a 1 or an I.
    assert store.ids_containing(parse_contains("hunter4Z")).tolist() == []
    assert store.ids_containing(parse_contains("HUNTER42")).tolist() == [wifi.image_id]
    assert store.ids_containing(parse_contains("wlfl")).tolist() == [wifi.image_id]
    # The photo changes: its old text goes with it.
    shutil.copy(PHOTOS / "plain.jpg", photos / "wifi.jpg")
    index_folders(fake_library, [str(photos)], analyzers=text_on(fake_library))
    assert store.ids_containing(parse_contains("wifi")).tolist() == []


def test_words_no_photo_shows_leave_the_clip_ranking_as_it_was(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = photos_in(tmp_path / "photos", "wifi.jpg", "plain.jpg", "receipt.jpg")
    index_folders(fake_library, [str(photos)], analyzers=text_on(fake_library))
    vector, _ = query_vector(fake_library, [QueryTerm(1.0, text="a dog on a beach")])
    plain = search(fake_library, vector, SearchOptions(top=3))
    words = sentence_words("a dog on a beach")
    assert words == ("dog", "beach")
    fused = search(fake_library, vector, SearchOptions(top=3, words=words))
    assert [(h.image_id, h.score) for h in fused] == [
        (h.image_id, h.score) for h in plain
    ]
    # Words a photo shows lift it to the top, with its own CLIP score.
    lifted = search(
        fake_library, vector, SearchOptions(top=3, words=sentence_words("wifi"))
    )
    assert Path(lifted[0].path).name == "wifi.jpg"
    assert lifted[0].score == pytest.approx(
        next(h.score for h in plain if h.image_id == lifted[0].image_id), abs=1e-5
    )


def test_folding_and_the_words_asked_for() -> None:
    assert fold("  Crème   BRÛLÉE ") == "creme brulee"
    assert (
        fold("ＷｉＦｉ")
        == fold("wifi")
        == fold("WIFI")
        == fold("Wl Fl".replace(" ", ""))
    )
    assert fold("TOTAL 42.50") == fold("T0TAL 42.5O")
    assert fold("北京 出口") == "北京出口"
    assert fold("が") != fold("か")  # a voiced mark is part of the letter
    assert parse_contains('wifi "total 42.50" wifi').terms == (
        fold("wifi"),
        fold("total 42.50"),
    )
    with pytest.raises(UsageError, match="--contains"):
        parse_contains('  ""  ')
    assert sentence_words("a photo of the router sticker") == (
        fold("router"),
        fold("sticker"),
    )
    assert sentence_words("出口 in 北京") == ("出口", "北京")


def test_the_api_filters_by_text_and_gives_a_photos_lines(
    fake_library: Library, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from photosearch.web.app import create_app

    photos = photos_in(tmp_path / "photos", "wifi.jpg", "plain.jpg", "chinese.jpg")
    index_folders(fake_library, [str(photos)], analyzers=text_on(fake_library))
    client = TestClient(create_app(fake_library), base_url="http://127.0.0.1")
    hits = client.get("/api/search", params={"q": "a sign", "contains": "password"})
    assert hits.status_code == 200
    results = hits.json()["results"]
    assert [r["name"] for r in results] == ["wifi.jpg"]
    assert results[0]["text"] == "WIFI PASSWORD" and len(results[0]["text_box"]) == 4
    listed = client.get("/api/images", params={"contains": "出口"}).json()["results"]
    assert [r["name"] for r in listed] == ["chinese.jpg"]
    # A sentence alone finds the words too.
    words = client.get("/api/search", params={"q": "hunter42"}).json()["results"]
    assert words[0]["name"] == "wifi.jpg" and words[0]["text"] == "hunter42"
    lines = client.get(f"/api/images/{results[0]['id']}/text").json()
    assert [line["text"] for line in lines] == ["WIFI PASSWORD", "hunter42"]
    assert all(len(line["quad"]) == 4 for line in lines)
    assert client.get("/api/images/999999/text").status_code == 404
    bad = client.get("/api/images", params={"contains": '""'})
    assert bad.status_code == 422 and "contains" in bad.json()["error"]
    assert client.get("/api/status").json()["text_lines"] == 4
