"""What phones and cameras write: HEIC, AVIF, MPO and RAW decode upright with their EXIF
facts; places come from GPS offline; search filters by place, position, camera and date;
a library from before details were kept gets them on its next index."""

from __future__ import annotations

import io
import json
import os
import struct
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosearch.warm.answer import run_request
from retrieval.library import Library
from retrieval.media.decode import decode, read_photo_info
from retrieval.media.exif import PhotoInfo
from retrieval.media.formats import register_heif
from retrieval.media.places import places_of
from retrieval.settings import Settings
from retrieval.store import engine as db
from tests.conftest import index_with_demo, run_cli
from tests.dng import write_dng
from tests.helpers import (
    LISBON,
    TOKYO,
    exif_of,
    query_request,
    two_halves,
)


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    red, green, blue = (int(v) for v in np.asarray(image.convert("RGB"))[y, x])
    return red, green, blue


def test_heic_is_upright_with_its_exif_and_thumbnail(tmp_path: Path) -> None:
    register_heif()
    path = tmp_path / "phone.heic"
    exif = exif_of(
        position=LISBON,
        make="Apple",
        model="iPhone 12",
        taken="2023:06:10 18:30:00",
        offset="+01:00",
        orientation=6,
        iso=50,
    )
    two_halves((1200, 900)).save(path, exif=exif.tobytes(), thumbnails=[400])
    full = decode(path, max_pixels=10**8)
    # Turned a quarter clockwise: red on top, blue below; the size is the upright one.
    assert (full.width, full.height) == (900, 1200)
    assert full.image.size == (900, 1200)
    top, bottom = pixel(full.image, 450, 100), pixel(full.image, 450, 1100)
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]
    info = full.info
    assert info.camera == "Apple iPhone 12" and info.iso == 50
    assert info.taken_at == datetime(2023, 6, 10, 18, 30)
    assert info.utc_offset_min == 60
    assert info.latitude == pytest.approx(LISBON[0], abs=1e-3)
    assert info.longitude == pytest.approx(LISBON[1], abs=1e-3)
    assert info.altitude_m == pytest.approx(12.5)
    # Asked for no more than 224 pixels: the embedded thumbnail (300x400) stands in.
    fast = decode(path, max_pixels=10**8, draft_size=224)
    assert fast.image.size == (300, 400) and (fast.width, fast.height) == (900, 1200)
    assert fast.info == info
    small = np.asarray(full.image.resize((300, 400)), dtype=np.float32)
    assert np.abs(np.asarray(fast.image, dtype=np.float32) - small).mean() < 8
    # Larger than any thumbnail: the full picture.
    assert decode(path, max_pixels=10**8, draft_size=600).image.size == (900, 1200)


def test_avif_and_mpo(tmp_path: Path) -> None:
    exif = exif_of(position=TOKYO, make="Google", model="Pixel 8")
    two_halves().save(tmp_path / "a.avif", exif=exif.tobytes())
    avif = decode(tmp_path / "a.avif", max_pixels=10**8)
    assert avif.image.size == (400, 300) and avif.info.camera == "Google Pixel 8"
    assert avif.info.latitude == pytest.approx(TOKYO[0], abs=1e-3)
    second = Image.new("RGB", (400, 300), (0, 255, 0))
    two_halves().save(
        tmp_path / "s.mpo", format="MPO", save_all=True, append_images=[second]
    )
    mpo = decode(tmp_path / "s.mpo", max_pixels=10**8)
    left = pixel(mpo.image, 10, 150)
    assert left[0] > 150 and left[1] < 100  # the first picture, not the green second


def test_raw_preview_demosaic_and_orientation(tmp_path: Path) -> None:
    picture = two_halves((800, 600))
    with_preview = write_dng(tmp_path / "a.dng", picture, orientation=6)
    without = write_dng(tmp_path / "b.dng", picture, with_preview=False)
    # The preview (512x384) serves a model of 224; upright: red on top.
    fast = decode(with_preview, max_pixels=10**8, draft_size=224)
    assert (fast.width, fast.height) == (600, 800)
    assert fast.image.size == (384, 512)
    top, bottom = pixel(fast.image, 192, 50), pixel(fast.image, 192, 460)
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]
    assert fast.info.camera == "Testcam DNG-1"
    # Too small a preview for what is asked: the raw data is developed instead.
    developed = decode(with_preview, max_pixels=10**8, draft_size=450)
    assert developed.image.size[1] > developed.image.size[0]
    assert min(developed.image.size) >= 450 or developed.image.size == (600, 800)
    # No preview at all: developed, and the left half still reads red, the right blue.
    plain = decode(without, max_pixels=10**8, draft_size=224)
    assert plain.image.size == (800, 600)
    left, right = pixel(plain.image, 100, 300), pixel(plain.image, 700, 300)
    assert left[0] > left[2] and right[2] > right[0]
    # A JPEG with a RAW's name is read for what it is.
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG")
    (tmp_path / "c.nef").write_bytes(buffer.getvalue())
    assert decode(tmp_path / "c.nef", max_pixels=10**8).image.size == (800, 600)


def test_exif_fields_that_do_not_parse_are_dropped() -> None:
    exif = Image.Exif()
    exif[0x0110] = "  Model\x00\x00 "
    exif[0x8769] = {0x9003: "not a date", 0x9011: "+25:00", 0x8827: -3}
    exif[0x8825] = {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)}
    info = read_info_of(exif)
    assert info == PhotoInfo(camera_model="Model")
    out_of_range = Image.Exif()
    out_of_range[0x8825] = {1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)}
    assert read_info_of(out_of_range).latitude is None


def read_info_of(exif: Image.Exif) -> PhotoInfo:
    from retrieval.media.exif import read_info

    return read_info(exif)


def test_places_offline() -> None:
    lisbon, tokyo, ocean = places_of([LISBON, TOKYO, (0.0, -30.0)])
    assert lisbon is not None and lisbon.city == "Lisbon"
    assert lisbon.country == "Portugal" and lisbon.country_code == "PT"
    assert tokyo is not None and tokyo.country == "Japan"
    assert ocean is None  # mid-Atlantic: no town within reach


def test_unreadable_file_has_no_facts(tmp_path: Path) -> None:
    (tmp_path / "x.heic").write_bytes(b"nothing")
    assert read_photo_info(tmp_path / "x.heic") == PhotoInfo()


@pytest.fixture
def located_library(tmp_path: Path) -> tuple[Path, Path]:
    register_heif()
    photos = tmp_path / "photos"
    photos.mkdir()
    lisbon = exif_of(
        position=LISBON, make="Apple", model="iPhone 12", taken="2023:06:10 18:30:00"
    )
    two_halves().save(photos / "lisbon.heic", exif=lisbon.tobytes())
    tokyo = exif_of(
        position=TOKYO, make="Canon", model="Canon EOS R6", taken="2021:03:01 09:00:00"
    )
    two_halves().save(photos / "tokyo.jpg", exif=tokyo.tobytes())
    write_dng(photos / "camera.dng", two_halves((800, 600)))
    two_halves().save(photos / "plain.png")
    library = tmp_path / "library"
    index_with_demo(photos, library)
    return photos, library


def _found(library: Path, *options: str) -> set[str]:
    """The names `photosearch search red OPTIONS` finds, through the program itself."""
    done = run_cli("search", "red", "--library", str(library), "--json", *options)
    assert done.returncode == 0, done.stderr
    return {Path(hit["path"]).name for hit in json.loads(done.stdout)}


def test_search_by_place_position_camera_and_date(
    located_library: tuple[Path, Path],
) -> None:
    _, library = located_library
    assert _found(library, "--place", "portugal") == {"lisbon.heic"}
    # The other filters in one process: the same request a command line sends.
    with Library.open(Settings(library=library), writer=False) as opened:

        def found(**filters: str) -> set[str]:
            request = query_request("search", "red", str(library), **filters)
            return {Path(row["path"]).name for row in run_request(opened, request)}

        assert found() == {"lisbon.heic", "tokyo.jpg", "camera.dng", "plain.png"}
        for place in ("Lisbon", "PT", "pt", " LISBON "):
            assert found(place=place) == {"lisbon.heic"}
        assert found(place="Japan") == {"tokyo.jpg"}
        assert found(place="Tokyo") == {"tokyo.jpg"}
        assert found(place="Atlantis") == set()
        assert found(place="%") == set()  # a LIKE wildcard is a plain character
        assert found(near="38.70,-9.15,5") == {"lisbon.heic"}
        assert found(near="38.70, -9.15") == {"lisbon.heic"}  # 10 km by default
        assert found(near="40.0,-9.15,5") == set()
        assert found(camera="canon") == {"tokyo.jpg"}
        assert found(camera="Canon EOS") == {"tokyo.jpg"}
        assert found(camera="Apple iPhone") == {"lisbon.heic"}
        assert found(camera="testcam") == {"camera.dng"}
        assert found(date_from="2022") == {"lisbon.heic"}
        assert found(date_to="2022-01-01") == {"tokyo.jpg"}
        assert found(date_from="2021-03", date_to="2021-04") == {"tokyo.jpg"}
        assert found(place="Portugal", camera="canon") == set()
        details = opened.store.details(list(opened.store.ids_in_place("PT")))
        (lisbon,) = details.values()
        assert lisbon.place is not None and lisbon.place.region == "Lisbon"
        assert lisbon.info.taken_at == datetime(2023, 6, 10, 18, 30)
    for option, value in (("--near", "north"), ("--after", "2022-13-01")):
        bad = run_cli("search", "red", "--library", str(library), option, value)
        assert bad.returncode == 2, bad.stderr
        assert value in bad.stderr and "Traceback" not in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1


def test_older_library_gets_its_details_on_the_next_index(
    located_library: tuple[Path, Path],
) -> None:
    photos, library = located_library
    from alembic import command

    engine = db.make_engine(library / "library.db")
    config = db.alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
    engine.dispose()
    index_with_demo(photos, library)
    assert _found(library, "--place", "Lisbon", "--camera", "iphone") == {"lisbon.heic"}


def test_filters_alone_list_photos_by_date(located_library: tuple[Path, Path]) -> None:
    _, library = located_library
    newest = run_cli("search", "--library", str(library), "--after", "2000", "--json")
    assert newest.returncode == 0, newest.stderr
    rows = json.loads(newest.stdout)
    assert [Path(r["path"]).name for r in rows] == ["lisbon.heic", "tokyo.jpg"]
    assert all(r["score"] is None for r in rows)
    oldest = run_cli(
        "search", "--library", str(library), "--camera", "e", "--sort", "oldest"
    )
    assert oldest.returncode == 0, oldest.stderr
    names = [Path(line.split()[-1]).name for line in oldest.stdout.splitlines()]
    # Dated first, oldest first; then the undated (the DNG has no date) by path.
    assert names == ["tokyo.jpg", "lisbon.heic", "camera.dng"]
    assert all(line.split()[0] == "-" for line in oldest.stdout.splitlines())
    nothing = run_cli("search", "--library", str(library))
    assert nothing.returncode == 2 and "empty query" in nothing.stderr


def test_the_page_api_shows_and_filters_by_place_camera_and_day(
    located_library: tuple[Path, Path],
) -> None:
    from fastapi.testclient import TestClient

    from photosearch.web.app import create_app

    _, library = located_library
    with Library.open(Settings(library=library), writer=False) as opened:
        client = TestClient(create_app(opened), base_url="http://127.0.0.1")

        def names(response: object) -> list[str]:
            assert response.status_code == 200, response.text  # type: ignore[attr-defined]
            body = response.json()  # type: ignore[attr-defined]
            return [hit["name"] for hit in body["results"]]

        assert names(client.get("/api/images", params={"place": "Lisbon"})) == [
            "lisbon.heic"
        ]
        assert names(client.get("/api/images", params={"camera": "canon"})) == [
            "tokyo.jpg"
        ]
        assert names(client.get("/api/images", params={"month_day": "3-1"})) == [
            "tokyo.jpg"
        ]
        assert names(client.get("/api/images", params={"month_day": "3-2"})) == []
        searched = client.get("/api/search", params={"q": "red", "near": "35.7,139.7"})
        assert names(searched) == ["tokyo.jpg"]
        # Out of range: the schema's pattern says so, and the error names the field.
        bad = client.get("/api/images", params={"near": "95,0"})
        assert bad.status_code == 422 and "'near'" in bad.json()["error"]
        assert client.get("/api/images", params={"month_day": "13-1"}).status_code in (
            400,
            422,
        )
        lisbon_id = client.get("/api/images", params={"place": "PT"}).json()["results"][
            0
        ]["id"]
        detail = client.get(f"/api/images/{lisbon_id}").json()
        assert detail["place"] == "Lisbon, Portugal"
        assert detail["camera"] == "Apple iPhone 12"
        assert detail["latitude"] == pytest.approx(LISBON[0], abs=1e-3)


def test_a_raw_and_its_jpeg_are_one_result_and_live_photos_are_marked(
    fake_library: Library, tmp_path: Path
) -> None:
    from indexer.pipeline import index_folders

    register_heif()
    photos = tmp_path / "shots"
    photos.mkdir()
    two_halves().save(photos / "IMG_0001.JPG")
    write_dng(photos / "IMG_0001.DNG", two_halves((800, 600)))
    two_halves().save(photos / "IMG_0002.HEIC")
    (photos / "IMG_0002.MOV").write_bytes(b"\x00\x00\x00\x14ftypqt  ")  # its video
    two_halves().save(photos / "IMG_0003.png")
    write_dng(photos / "IMG_0004.DNG", two_halves((800, 600)))  # a RAW alone

    def results() -> dict[str, dict[str, object]]:
        index_folders(fake_library, [str(photos)])
        request = query_request("search", "red", str(tmp_path), top=10)
        rows = run_request(fake_library, request)
        names = [Path(str(r["path"])).name for r in rows]
        assert len(names) == len(set(names))
        return {Path(str(r["path"])).name: r for r in rows}

    found = results()
    assert set(found) == {
        "IMG_0001.JPG",
        "IMG_0002.HEIC",
        "IMG_0003.png",
        "IMG_0004.DNG",
    }
    assert found["IMG_0001.JPG"]["companions"] == [str(photos / "IMG_0001.DNG")]
    assert found["IMG_0002.HEIC"]["live"] == str(photos / "IMG_0002.MOV")
    assert (
        found["IMG_0003.png"]["companions"] == [] and not found["IMG_0003.png"]["live"]
    )
    assert found["IMG_0004.DNG"]["companions"] == []
    # The JPEG goes: the RAW is a result of its own again.
    (photos / "IMG_0001.JPG").unlink()
    assert results()["IMG_0001.DNG"]["companions"] == []
    # A RAW moves next to the PNG of the same name: those two pair up; the video goes.
    (photos / "IMG_0004.DNG").rename(photos / "IMG_0003.dng")
    (photos / "IMG_0002.MOV").unlink()
    found = results()
    assert set(found) == {"IMG_0001.DNG", "IMG_0002.HEIC", "IMG_0003.png"}
    assert found["IMG_0003.png"]["companions"] == [str(photos / "IMG_0003.dng")]
    assert found["IMG_0002.HEIC"]["live"] is None


def test_status_summarises_years_countries_and_cameras(
    located_library: tuple[Path, Path],
) -> None:
    _, library = located_library
    done = run_cli("status", "--library", str(library), "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["by_year"] == [["2021", 1], ["2023", 1]]
    assert status["by_country"] == [["Japan", 1], ["Portugal", 1]]
    assert status["by_camera"] == [
        ["Apple iPhone 12", 1],
        ["Canon EOS R6", 1],
        ["Testcam DNG-1", 1],
    ]
    text = run_cli("status", "--library", str(library))
    assert "countries   Japan 1, Portugal 1" in text.stdout


def apple_maker_note(content_id: str) -> bytes:
    """An Apple maker note as iPhones write it: header, byte order, one IFD whose
    offsets count from the note's start, with tag 0x11 (the content identifier)."""
    value = content_id.encode() + b"\x00"
    entries = struct.pack(">H", 2)
    entries += struct.pack(">HHII", 0x0001, 9, 1, 14)  # a version, as iPhones write
    entries += struct.pack(">HHII", 0x0011, 2, len(value), 14 + 2 + 2 * 12 + 4)
    return b"Apple iOS\x00\x00\x01MM" + entries + b"\x00\x00\x00\x00" + value


def quicktime_with_id(path: Path, content_id: str) -> Path:
    """A QuickTime file holding what a Live Photo's video carries: moov/meta with the
    content identifier among its keys (and no media: enough for its metadata)."""

    def atom(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    key = b"com.apple.quicktime.content.identifier"
    other = b"com.apple.quicktime.make"
    keys = atom(
        b"keys",
        b"\x00\x00\x00\x00"
        + struct.pack(">I", 2)
        + struct.pack(">I", 8 + len(other))
        + b"mdta"
        + other
        + struct.pack(">I", 8 + len(key))
        + b"mdta"
        + key,
    )
    items = atom(
        b"ilst",
        atom(
            struct.pack(">I", 1),
            atom(b"data", b"\x00\x00\x00\x01\x00\x00\x00\x00Apple"),
        )
        + atom(
            struct.pack(">I", 2),
            atom(b"data", b"\x00\x00\x00\x01\x00\x00\x00\x00" + content_id.encode()),
        ),
    )
    handler = atom(b"hdlr", b"\x00" * 8 + b"mdta" + b"\x00" * 13)
    movie = atom(
        b"moov", atom(b"mvhd", b"\x00" * 100) + atom(b"meta", handler + keys + items)
    )
    path.write_bytes(
        atom(b"ftyp", b"qt  \x00\x00\x00\x00qt  ") + atom(b"free", b"") + movie
    )
    return path


def test_live_photo_content_identifiers(fake_library: Library, tmp_path: Path) -> None:
    from indexer.pipeline import index_folders
    from retrieval.media.live_photos import still_content_id, video_content_id

    register_heif()
    photos = tmp_path / "live"
    photos.mkdir()
    exif = Image.Exif()
    exif[0x8769] = {0x927C: apple_maker_note("A1B2-C3D4")}
    as_read = Image.Exif()
    as_read.load(exif.tobytes())  # as a file gives it
    assert still_content_id(as_read) == "A1B2-C3D4"
    assert still_content_id(Image.Exif()) is None
    two_halves().save(photos / "IMG_0005.HEIC", exif=exif.tobytes())
    quicktime_with_id(photos / "IMG_0005.MOV", "A1B2-C3D4")
    two_halves().save(photos / "IMG_0006.HEIC", exif=exif.tobytes())
    quicktime_with_id(photos / "IMG_0006.MOV", "FFFF-0000")  # another shot's video
    assert video_content_id(str(photos / "IMG_0005.MOV")) == "A1B2-C3D4"
    movie = (photos / "IMG_0005.MOV").read_bytes()
    (tmp_path / "cut.mov").write_bytes(movie[: len(movie) // 2])
    (tmp_path / "noise.mov").write_bytes(os.urandom(500))
    assert video_content_id(str(tmp_path / "cut.mov")) is None
    assert video_content_id(str(tmp_path / "noise.mov")) is None
    assert video_content_id(str(tmp_path / "missing.mov")) is None

    index_folders(fake_library, [str(photos)])
    rows = run_request(fake_library, query_request("search", "red", str(tmp_path)))
    live = {Path(str(r["path"])).name: r["live"] for r in rows}
    assert live == {
        "IMG_0005.HEIC": str(photos / "IMG_0005.MOV"),
        "IMG_0006.HEIC": None,
    }
    details = fake_library.store.details(
        [int(str(r["id"])) for r in rows]  # the identifier is kept with the photo
    )
    assert {d.info.content_id for d in details.values()} == {"A1B2-C3D4"}


def test_similar_to_a_jpeg_does_not_answer_with_its_own_raw(
    fake_library: Library, tmp_path: Path
) -> None:
    from indexer.pipeline import index_folders

    photos = tmp_path / "shots"
    photos.mkdir()
    two_halves().save(photos / "IMG_0001.JPG")
    write_dng(photos / "IMG_0001.DNG", two_halves((800, 600)))
    two_halves().save(photos / "IMG_0002.png")
    index_folders(fake_library, [str(photos)])
    request = query_request("similar", str(photos / "IMG_0001.JPG"), str(tmp_path))
    names = [Path(str(r["path"])).name for r in run_request(fake_library, request)]
    assert names == ["IMG_0002.png"]


def test_two_stills_of_one_name_are_two_photos(
    fake_library: Library, tmp_path: Path
) -> None:
    """`shot.jpg` and `shot.png` are different photos: search, similar and the listing
    show both; only a RAW (with the still a camera writes) and a Live Photo's video are
    one shot with a still."""
    from fastapi.testclient import TestClient

    from indexer.pipeline import index_folders
    from photosearch.web.app import create_app

    photos = tmp_path / "shots"
    photos.mkdir()
    Image.new("RGB", (64, 64), (220, 30, 30)).save(photos / "shot.jpg")
    Image.new("RGB", (64, 64), (30, 30, 220)).save(photos / "shot.png")
    Image.new("RGB", (64, 64), (30, 200, 30)).save(photos / "flower.jpg")
    Image.new("RGB", (64, 64), (200, 200, 30)).save(photos / "flower.webp")
    two_halves().save(photos / "IMG_0001.JPG")
    write_dng(photos / "IMG_0001.DNG", two_halves((800, 600)))
    index_folders(fake_library, [str(photos)])
    stills = {"shot.jpg", "shot.png", "flower.jpg", "flower.webp", "IMG_0001.JPG"}

    rows = run_request(fake_library, query_request("search", "x", "/", top=20))
    names = [Path(str(r["path"])).name for r in rows]
    assert sorted(names) == sorted(stills)  # the RAW is the JPEG's companion
    by_name = {Path(str(r["path"])).name: r for r in rows}
    assert by_name["IMG_0001.JPG"]["companions"] == [str(photos / "IMG_0001.DNG")]
    assert by_name["shot.jpg"]["companions"] == by_name["shot.png"]["companions"] == []

    for query in ("shot.jpg", "shot.png", "flower.webp"):
        similar = query_request("similar", str(photos / query), "/", top=20)
        found = {Path(str(r["path"])).name for r in run_request(fake_library, similar)}
        assert found == stills - {query}, query

    client = TestClient(create_app(fake_library, loopback_only=False))
    listed = client.get("/api/images", params={"limit": 50}).json()["results"]
    assert {r["name"] for r in listed} >= stills
    red = by_name["shot.jpg"]["id"]
    near = client.get(f"/api/images/{red}/similar", params={"limit": 50}).json()
    assert "shot.png" in {r["name"] for r in near["results"]}
