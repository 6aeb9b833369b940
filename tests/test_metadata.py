"""What other photo programs wrote, read here: keywords, ratings, labels, titles and
descriptions from embedded XMP and IPTC, from both sidecar namings and from Google
Takeout's JSON, found by search; named regions turned upright; a sidecar edited later
read again without decoding, by `index` and by the daemon; hostile input recorded and
the rest still read.

The files are written by ExifTool (Debian's libimage-exiftool-perl), the reference
every photo manager is checked against, so that what is read is what other programs
write rather than what this code would write itself. Without exiftool these tests are
skipped, unless PHOTOSEARCH_REQUIRE_EXIFTOOL=1 (as in CI)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.analyzers.base import Analyzer
from indexer.analyzers.exif import ExifAnalyzer
from indexer.analyzers.faces import FaceAnalyzer
from indexer.analyzers.metadata import MetadataAnalyzer
from indexer.pipeline import IndexSummary, index_folders
from indexer.watch import Watcher
from retrieval.errors import NotFoundError
from retrieval.faces.model import Box
from retrieval.faces.regions import name_from_regions
from retrieval.library import Library
from retrieval.metadata.embedded import read_embedded
from retrieval.metadata.iptc import read_iptc
from retrieval.metadata.read import read_metadata
from retrieval.metadata.sidecars import takeout_json
from retrieval.metadata.takeout import TakeoutError, read_takeout
from retrieval.metadata.xmp import RDF, XmpError, parse_xml, read_packet
from retrieval.search.filters import CLI_NAMES, parse_filters
from retrieval.search.search import allowed_ids
from tests.conftest import REPO, TEST_BACKEND, index_with_demo, run_cli
from tests.helpers import exiftool, exiftool_json, photo, wait_for

cli = pytest.mark.skipif(
    TEST_BACKEND == "postgres", reason="the command line's libraries are SQLite's"
)


def analyzers() -> list[Analyzer]:
    return [ExifAnalyzer(), MetadataAnalyzer()]


def index(library: Library, folder: Path) -> IndexSummary:
    return index_folders(library, [str(folder)], analyzers=analyzers())


def found(library: Library, **raw: object) -> set[str]:
    """The names of the photos the filters (as the command line writes them) leave."""
    ids = allowed_ids(library, parse_filters(raw, CLI_NAMES))
    assert ids is not None
    metas = library.store.meta(ids.tolist()).values()
    return {Path(m.path).name for m in metas}


def found_or_none(library: Library, **raw: object) -> set[str]:
    """`found`, for a keyword that may not be there yet."""
    try:
        return found(library, **raw)
    except NotFoundError:
        return set()


def id_of(library: Library, path: Path) -> int:
    meta = library.store.meta_by_path(str(path))
    assert meta is not None
    return meta.image_id


LISBON = (
    "-XMP-dc:Subject=Lisbon",
    "-XMP-dc:Subject=tram",
    "-XMP-lr:HierarchicalSubject=Places|Portugal|Lisbon",
    "-XMP-digiKam:TagsList=Vehicles/Trams/Remodelado",
    "-XMP-xmp:Rating=4",
    "-XMP-xmp:Label=Red",
    "-XMP-dc:Title=Tram 28",
    "-XMP-dc:Description=The yellow tram climbing through Alfama",
)


def test_embedded_xmp_and_iptc_are_found_by_every_filter(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    lisbon = photo(photos, "lisbon.jpg")
    exiftool(*LISBON, lisbon)
    harbour = photo(photos, "harbour.jpg", (20, 60, 200))
    exiftool(
        "-IPTC:Keywords=harbour",
        "-IPTC:Keywords=Crème brûlée",
        "-IPTC:Caption-Abstract=Boats at dawn",
        "-IPTC:ObjectName=Porto",
        "-IPTC:CodedCharacterSet=UTF8",
        harbour,
    )
    photo(photos, "plain.jpg", (30, 200, 30))
    index(fake_library, photos)

    assert found(fake_library, keyword=["lisbon"]) == {"lisbon.jpg"}
    assert found(fake_library, keyword=["Places|Portugal"]) == {"lisbon.jpg"}
    assert found(fake_library, keyword=["portugal|lisbon"]) == {"lisbon.jpg"}
    assert found(fake_library, keyword=["remodelado"]) == {"lisbon.jpg"}  # digiKam
    with pytest.raises(NotFoundError, match="'Lis'"):  # a whole level, not a part
        found(fake_library, keyword=["Lis"])
    assert found(fake_library, keyword=["lisbon", "tram"]) == {"lisbon.jpg"}
    assert found(fake_library, keyword=["lisbon", "harbour"]) == set()
    assert found(fake_library, keyword=["HARBOUR"]) == {"harbour.jpg"}
    assert found(fake_library, keyword=["creme brulee"]) == {"harbour.jpg"}
    assert found(fake_library, rating="4") == {"lisbon.jpg"}
    assert found(fake_library, rating="5") == set()
    assert found(fake_library, label="red") == {"lisbon.jpg"}
    assert found(fake_library, label="green") == set()
    # Titles and descriptions are searched like the text read in photos.
    assert found(fake_library, contains="alfama") == {"lisbon.jpg"}
    assert found(fake_library, contains='"boats at dawn"') == {"harbour.jpg"}
    assert found(fake_library, contains="porto") == {"harbour.jpg"}
    assert found(fake_library, contains="dawn alfama") == set()

    stored = fake_library.store.metadata_of([id_of(fake_library, lisbon)])
    facts = stored[id_of(fake_library, lisbon)]
    assert facts.title == "Tram 28" and facts.rating == 4 and facts.label == "Red"
    assert "Places|Portugal|Lisbon" in facts.keywords
    assert "Vehicles|Trams|Remodelado" in facts.keywords
    assert fake_library.store.metadata_counts()[0] == 2


def test_both_sidecar_namings_are_read_and_the_full_name_wins(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    both = photo(photos, "IMG_0001.jpg")
    exiftool(
        "-XMP-xmp:Rating=2", "-XMP-dc:Subject=darktable", photos / "IMG_0001.jpg.xmp"
    )
    exiftool(
        "-XMP-xmp:Rating=5",
        "-XMP-dc:Subject=lightroom",
        "-XMP-dc:Title=From Lightroom",
        photos / "IMG_0001.xmp",
    )
    exiftool("-XMP-xmp:Rating=1", "-XMP-dc:Subject=embedded", both)
    read = read_metadata(both)
    assert read.rating == 2  # IMG_0001.jpg.xmp names this file alone
    assert read.title == "From Lightroom"  # what the winner lacks, the next gives
    # Keywords come whole from the first source with any: a keyword taken away in
    # darktable must not come back from the copy embedded in the file.
    assert read.keywords == ("darktable",)
    assert read.sources[:2] == (
        str(photos / "IMG_0001.jpg.xmp"),
        str(photos / "IMG_0001.xmp"),
    )
    # Lightroom's naming alone, in another case than the photo's.
    raw = photo(photos, "DSC_0002.JPG")
    exiftool("-XMP-dc:Subject=raw", photos / "DSC_0002.xmp")
    assert read_metadata(raw).keywords == ("raw",)
    # A sidecar without keywords leaves the file's own.
    rated = photo(photos, "rated.jpg")
    exiftool("-XMP-dc:Subject=embedded", rated)
    exiftool("-XMP-xmp:Rating=5", photos / "rated.jpg.xmp")
    assert read_metadata(rated).keywords == ("embedded",)
    assert read_metadata(rated).rating == 5
    assert read_metadata(photo(photos, "none.jpg")).empty


def test_takeout_json_is_found_under_every_name_takeout_writes(tmp_path: Path) -> None:
    folder = tmp_path / "Takeout" / "Google Photos" / "Photos from 2019"
    folder.mkdir(parents=True)
    pairs = {
        "IMG_0001.jpg": "IMG_0001.jpg.json",
        "IMG_0002.jpg": "IMG_0002.jpg.supplemental-metadata.json",
        "Screenshot 2025-06-20 at 2.35.23 PM.jpeg": (
            "Screenshot 2025-06-20 at 2.35.23 PM.jpeg.suppl.json"
        ),
        "IMG_0008.jpg": "IMG_0008.jpg..json",
        # Cut inside the photo's own name, its extension kept or gone.
        "averylongscreenshotname_something.jpg": (
            "averylongscreenshotname_somethi.jpg.supplemental-met.json"
        ),
        "verylongphotoname_that_is_quite_long_here.jpeg": (
            "verylongphotoname_that_is_quite_long_here.json"
        ),
        # A second photo of the same name: the counter moves after the extension.
        "IMG_0003.jpg": "IMG_0003.jpg.json",
        "IMG_0003(1).jpg": "IMG_0003.jpg(1).json",
        "IMG_0006(2).jpg": "IMG_0006.jpg.supplemental-metadata(2).json",
        # An edited copy has the original's; a Live Photo's video its photo's, in
        # whatever case Takeout wrote it.
        "IMG_0004-edited.jpg": "IMG_0004.jpg.json",
        "IMG_1000-bearbeitet.jpg": "IMG_1000.jpg.supplemental-metadata.json",
        "IMG_0005.HEIC": "img_0005.heic.supplemental-metadata.json",
        "IMG_0005.MOV": "img_0005.heic.supplemental-metadata.json",
        "photo..jpg": "photo..jpg.json",
        "IMG_10.jpg": None,  # IMG_1.jpg.json is another photo's
        "IMG_0007.jpg": None,  # its stem alone is not Takeout's
        "metadata.jpg": None,  # the album's own metadata.json is no photo's
    }
    for name, json_name in pairs.items():
        (folder / name).write_bytes(b"")
        if json_name:
            (folder / json_name).write_text("{}")
    for name in ("IMG_1.jpg.json", "IMG_0007.json", "IMG_0004.jpg", "metadata.json"):
        (folder / name).write_text("{}")
    for name, json_name in pairs.items():
        expected = str(folder / json_name) if json_name else None
        assert takeout_json(folder / name) == expected, name


def test_takeout_facts_are_searchable(fake_library: Library, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    taken = photo(photos, "IMG_2041.jpg")
    (photos / "IMG_2041.jpg.supplemental-metadata.json").write_text(
        json.dumps(
            {
                "title": "IMG_2041.jpg",
                "description": "Sunset over the Tagus",
                "photoTakenTime": {"timestamp": "1689445812", "formatted": "..."},
                "geoData": {"latitude": 38.6916, "longitude": -9.2160, "altitude": 0},
                "people": [{"name": "Ana Sousa"}, {"name": "Rui"}],
            }
        )
    )
    index(fake_library, photos)
    assert found(fake_library, contains="tagus") == {"IMG_2041.jpg"}
    assert found(fake_library, keyword=["Ana Sousa"]) == {"IMG_2041.jpg"}
    facts = fake_library.store.metadata_of([id_of(fake_library, taken)])
    record = next(iter(facts.values()))
    assert record.taken_at is not None and record.taken_at.isoformat() == (
        "2023-07-15T18:30:12"
    )
    assert record.latitude == pytest.approx(38.6916)
    assert "People|Rui" in record.keywords
    # The photo's EXIF has no date nor position: Takeout's stand in, for every filter.
    assert found(fake_library, date_from="2023-07-15", date_to="2023-07") == {
        "IMG_2041.jpg"
    }
    assert found(fake_library, place="Portugal") == {"IMG_2041.jpg"}
    assert found(fake_library, near="38.69,-9.21,5") == {"IMG_2041.jpg"}
    # Where the EXIF has a date, it wins.
    dated = photo(photos, "IMG_2042.jpg")
    exiftool("-EXIF:DateTimeOriginal=2020:01:02 03:04:05", dated)
    (photos / "IMG_2042.jpg.json").write_text(
        json.dumps({"photoTakenTime": {"timestamp": "1689445812"}})
    )
    index(fake_library, photos)
    assert found(fake_library, date_from="2020-01-02", date_to="2020-01-02") == {
        "IMG_2042.jpg"
    }
    # The JSON goes: the date and place it gave go with it.
    (photos / "IMG_2041.jpg.supplemental-metadata.json").unlink()
    index(fake_library, photos)
    assert found(fake_library, date_from="2023-07-15", date_to="2023-07") == set()
    assert found(fake_library, place="Portugal") == set()


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&lol3;</dc:title>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_hostile_input_is_recorded_and_the_rest_still_counts(
    fake_library: Library, tmp_path: Path
) -> None:
    with pytest.raises(XmpError, match="DTD"):
        parse_xml(BOMB)
    with pytest.raises(XmpError, match="malformed"):
        parse_xml(b"<x:xmpmeta><rdf:RDF>")
    deep = b"<rdf:RDF xmlns:rdf='%s'><rdf:Description>" % RDF.encode()
    deep += (
        b"<rdf:Description>" * 50_000 + b"</rdf:Description>" * 50_001 + b"</rdf:RDF>"
    )
    with pytest.raises(XmpError, match="nested too deeply"):
        read_packet(deep, "deep.xmp")
    photos = tmp_path / "photos"
    bombed = photo(photos, "bombed.jpg")
    exiftool("-XMP-dc:Subject=kept", bombed)
    (photos / "bombed.jpg.xmp").write_bytes(BOMB)
    (photos / "bombed.xmp").write_bytes(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf")
    huge = photo(photos, "huge.jpg")
    with open(photos / "huge.jpg.xmp", "wb") as f:
        f.truncate(300 * 1024 * 1024)  # sparse: nothing is written, nothing read
    takeout = photo(photos, "takeout.jpg")
    (photos / "takeout.jpg.json").write_text('{"description": "unterminated')
    nested = photo(photos, "nested.jpg")
    (photos / "nested.jpg.json").write_text("[" * 100_000)
    summary = index(fake_library, photos)

    assert summary.failed == 0 and summary.added == 4  # every photo indexed
    assert found(fake_library, keyword=["kept"]) == {"bombed.jpg"}
    records = fake_library.store.metadata_of(
        [id_of(fake_library, p) for p in (bombed, huge, takeout, nested)]
    )
    problems = {
        p.name: records[id_of(fake_library, p)].problems
        for p in (bombed, huge, takeout, nested)
    }
    assert any("bombed.jpg.xmp" in p and "DTD" in p for p in problems["bombed.jpg"])
    assert any("bombed.xmp" in p and "malformed" in p for p in problems["bombed.jpg"])
    assert any("over the limit" in p for p in problems["huge.jpg"])
    assert any("broken JSON" in p for p in problems["takeout.jpg"])
    assert any("nested.jpg.json" in p for p in problems["nested.jpg"])
    listed = fake_library.store.metadata_problems()
    assert {Path(path).name for _, path, _ in listed} == {
        "bombed.jpg",
        "huge.jpg",
        "takeout.jpg",
        "nested.jpg",
    }
    # A refused sidecar is not read again until it changes.
    encoded = fake_library.encoder.images_encoded  # type: ignore[attr-defined]
    index(fake_library, photos)
    assert fake_library.encoder.images_encoded == encoded  # type: ignore[attr-defined]


def test_an_edited_sidecar_is_read_again_without_decoding(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    edited = photo(photos, "edited.jpg")
    other = photo(photos, "other.jpg", (10, 10, 200))
    sidecar = photos / "edited.jpg.xmp"
    exiftool("-XMP-xmp:Rating=2", "-XMP-dc:Subject=before", sidecar)
    index(fake_library, photos)
    assert found(fake_library, keyword=["before"]) == {"edited.jpg"}
    encoded = fake_library.encoder.images_encoded  # type: ignore[attr-defined]

    exiftool("-XMP-xmp:Rating=5", "-XMP-dc:Subject=after", sidecar)
    exiftool("-XMP-dc:Subject=arrived", photos / "other.jpg.xmp")
    index(fake_library, photos)
    with pytest.raises(NotFoundError):
        found(fake_library, keyword=["before"])
    assert found(fake_library, keyword=["after"]) == {"edited.jpg"}
    assert found(fake_library, rating="5") == {"edited.jpg"}
    assert found(fake_library, keyword=["arrived"]) == {"other.jpg"}
    # A sidecar that goes takes its facts with it.
    sidecar.unlink()
    index(fake_library, photos)
    with pytest.raises(NotFoundError):
        found(fake_library, keyword=["after"])
    assert fake_library.store.metadata_of([id_of(fake_library, edited)]) == {}
    assert fake_library.encoder.images_encoded == encoded  # type: ignore[attr-defined]
    assert id_of(fake_library, other) > 0


@pytest.mark.parametrize("watching", ["native"], indirect=True)
def test_the_daemon_reads_an_edited_sidecar(watching: tuple[Watcher, Path]) -> None:
    watcher, photos = watching
    shot = photo(photos, "shot.jpg")
    library = watcher.library
    wait_for(lambda: library.store.meta_by_path(str(shot)) is not None)
    wait_for(lambda: library.store.analysed(id_of(library, shot), "metadata"))
    encoded = library.encoder.images_encoded  # type: ignore[attr-defined]
    exiftool("-XMP-dc:Subject=watched", photos / "shot.jpg.xmp")
    wait_for(lambda: found_or_none(library, keyword=["watched"]) == {"shot.jpg"})
    assert library.encoder.images_encoded == encoded  # type: ignore[attr-defined]


def test_named_regions_are_turned_upright(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    regions = (
        "-XMP-mwg-rs:RegionInfo={AppliedToDimensions={W=96,H=96,Unit=pixel},"
        "RegionList=[{Area={X=0.3,Y=0.2,W=0.2,H=0.1,Unit=normalized},"
        "Name=Marie,Type=Face}]}"
    )
    upright = photo(photos, "upright.jpg")
    exiftool(regions, upright)
    (region,) = read_metadata(upright).regions
    assert region.name == "Marie" and region.kind == "Face"
    assert region.box == pytest.approx((0.2, 0.15, 0.2, 0.1))
    # Stored on its side (orientation 6: turned a quarter clockwise to be seen): MWG's
    # regions are of the stored image, so the box turns with the picture.
    turned = photo(photos, "turned.jpg")
    exiftool("-IFD0:Orientation#=6", regions, turned)
    (region,) = read_metadata(turned).regions
    assert region.box == pytest.approx((0.75, 0.2, 0.1, 0.2))
    # Microsoft's People tags, where there are no MWG regions (top-left corners).
    people = photo(photos, "people.jpg")
    exiftool(
        "-XMP-MP:RegionInfoMP={Regions=[{PersonDisplayName=Pierre,"
        "Rectangle=0.1|, 0.2|, 0.3|, 0.4}]}",  # ExifTool escapes commas with |
        people,
    )
    (region,) = read_metadata(people).regions
    assert region.name == "Pierre"
    assert region.box == pytest.approx((0.1, 0.2, 0.3, 0.4))


@cli
def test_the_command_line_filters_and_describes(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    lisbon = photo(photos, "lisbon.jpg")
    exiftool(*LISBON, lisbon)
    photo(photos, "plain.jpg", (30, 200, 30))
    (photos / "plain.jpg.xmp").write_text("<x:xmpmeta>")
    library = tmp_path / "library"
    index_with_demo(photos, library)
    failures = run_cli("failures", "--library", str(library))
    assert "plain.jpg.xmp: malformed XML" in failures.stdout, failures.stdout
    done = run_cli(
        "search",
        "--library",
        str(library),
        "--keyword",
        "Lisbon",
        "--rating",
        "3",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert [Path(r["path"]).name for r in json.loads(done.stdout)] == ["lisbon.jpg"]
    # A hit found by its description shows it, as a photo's text would (no box).
    said = run_cli(
        "search", "--library", str(library), "--contains", "alfama", "--json"
    )
    assert said.returncode == 0, said.stderr
    (row,) = json.loads(said.stdout)
    assert row["text"] == "The yellow tram climbing through Alfama"
    assert row["text_box"] is None
    bad = run_cli("search", "--library", str(library), "--rating", "six")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "--rating 'six'" in bad.stderr
    described = run_cli("describe", "--library", str(library), str(lisbon), "--json")
    assert described.returncode == 0, described.stderr
    metadata = json.loads(described.stdout)["metadata"]
    assert metadata["title"] == "Tram 28" and metadata["label"] == "Red"
    shown = run_cli("describe", "--library", str(library), str(lisbon))
    assert "keywords: " in shown.stdout and "rating: ****" in shown.stdout
    off = run_cli(
        *["index", str(photos), "--library", str(tmp_path / "off")],
        "--model",
        "demo",
        "--no-metadata",
    )
    assert off.returncode == 0, off.stderr
    none = run_cli("search", "--library", str(tmp_path / "off"), "--keyword", "Lisbon")
    assert none.returncode == 2 and none.stderr.count("\n") == 1
    assert "no photo has the keyword 'Lisbon'" in none.stderr


def test_the_api_filters_by_metadata_and_gives_a_photos_facts(
    fake_library: Library, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from photosearch.web.app import create_app

    photos = tmp_path / "photos"
    exiftool(*LISBON, photo(photos, "lisbon.jpg"))
    photo(photos, "plain.jpg", (30, 200, 30))
    index(fake_library, photos)
    client = TestClient(create_app(fake_library), base_url="http://127.0.0.1")
    listed = client.get(
        "/api/images", params={"keyword": ["portugal", "tram"], "rating": 4}
    )
    assert listed.status_code == 200, listed.text
    results = listed.json()["results"]
    assert [r["name"] for r in results] == ["lisbon.jpg"]
    hits = client.get("/api/search", params={"q": "a tram", "label": "RED"}).json()
    assert [r["name"] for r in hits["results"]] == ["lisbon.jpg"]
    assert hits["results"][0]["text"] == "Tram 28"  # the title holds the word "tram"
    assert hits["results"][0]["text_box"] is None
    facts = client.get(f"/api/images/{results[0]['id']}/metadata").json()
    assert facts["title"] == "Tram 28" and facts["rating"] == 4
    assert client.get("/api/images", params={"rating": 9}).status_code == 422
    assert client.get("/api/images/999999/metadata").status_code == 404


FACES = REPO / "data" / "faces" / "photos"


def region_of(box: Box, name: str) -> str:
    """An ExifTool assignment of an MWG face region over `box` (the photo upright)."""
    w, h = box.right - box.left, box.bottom - box.top
    x, y = box.left + w / 2, box.top + h / 2
    return (
        "-XMP-mwg-rs:RegionInfo={AppliedToDimensions={W=100,H=100,Unit=pixel},"
        f"RegionList=[{{Area={{X={x:.4f},Y={y:.4f},W={w:.4f},H={h:.4f},"
        f"Unit=normalized}},Name={name},Type=Face}}]}}"
    )


def test_faces_named_in_another_program_name_the_persons_here(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for source in FACES.glob("*[0-9].jpg"):  # three of one man, two of another
        shutil.copy(source, photos / source.name)
    with_faces: list[Analyzer] = [ExifAnalyzer(), FaceAnalyzer(fake_library.settings)]
    index_folders(fake_library, [str(photos)], analyzers=with_faces)
    store = fake_library.store
    (obama,) = store.faces_of([id_of(fake_library, photos / "obama1.jpg")]).values()
    (biden,) = store.faces_of([id_of(fake_library, photos / "biden1.jpg")]).values()
    assert obama[0].person_id is not None and obama[0].person_name is None
    store.name_person(biden[0].person_id or 0, "Joe")  # named here first
    # digiKam's names, drawn a little wider than dlib's boxes.
    wider = Box(
        obama[0].box.left - 0.02,
        obama[0].box.top - 0.03,
        obama[0].box.right + 0.02,
        obama[0].box.bottom + 0.02,
    )
    exiftool(region_of(wider, "Barack"), photos / "obama1.jpg.xmp")
    exiftool(region_of(biden[0].box, "Joseph"), photos / "biden1.jpg.xmp")
    index_folders(
        fake_library, [str(photos)], analyzers=[*with_faces, MetadataAnalyzer()]
    )

    barack = store.person("Barack")
    assert barack.person_id == obama[0].person_id and barack.photos == 3
    assert found(fake_library, person=["Barack"]) == {
        "obama1.jpg",
        "obama2.jpg",
        "obama3.jpg",
    }
    # A name given here is not overwritten by another program's: it is shown.
    assert store.person("Joe").photos == 2
    (conflict,) = name_from_regions(store, apply=False)
    assert (conflict.here, conflict.there) == ("Joe", "Joseph")
    shown = store.persons()
    assert sorted(p.name or "" for p in shown) == ["Barack", "Joe"]


SAMPLES = REPO / "data" / "metadata" / "exiftool"


def exiftool_reads(path: Path, *tags: str) -> dict[str, list[str]]:
    """What ExifTool (the reference) reads of these tags, each as a list."""
    found = exiftool_json(path, "-n", *(f"-{t}" for t in tags))
    return {
        tag: [
            str(v)
            for v in (found[tag] if isinstance(found[tag], list) else [found[tag]])
        ]
        for tag in tags
        if tag in found
    }


def test_files_other_programs_wrote_are_read_as_exiftool_reads_them(
    tmp_path: Path,
) -> None:
    """ExifTool's own test files (data/metadata/README.md), each read here and by
    exiftool: the same keywords, titles, descriptions and ratings."""
    iptc = read_metadata(SAMPLES / "IPTC.jpg")
    said = exiftool_reads(
        SAMPLES / "IPTC.jpg", "Keywords", "Caption-Abstract", "ObjectName"
    )
    assert list(iptc.keywords) == said["Keywords"]
    assert [iptc.description] == said["Caption-Abstract"]
    assert [iptc.title] == said["ObjectName"]

    # MWG's rule: with no IPTC digest, XMP's keywords win over IPTC's that disagree.
    mwg = read_metadata(SAMPLES / "MWG.jpg")
    said = exiftool_reads(SAMPLES / "MWG.jpg", "Subject", "Rating")
    assert list(mwg.keywords) == said["Subject"]
    assert all(k.startswith("RIGHT") for k in mwg.keywords)
    assert [str(mwg.rating)] == said["Rating"]

    # UTF-16 XMP, read alone (its sidecar beside it in ExifTool's folder is not here).
    alone = tmp_path / "XMP.jpg"
    shutil.copy(SAMPLES / "XMP.jpg", alone)
    utf16 = read_metadata(alone)
    said = exiftool_reads(alone, "Subject", "Title", "Description")
    assert list(utf16.keywords) == said["Subject"]
    assert [utf16.title] == said["Title"] and [utf16.description] == said["Description"]

    for name in ("XMP.xmp", "XMP2.xmp"):
        packet = SAMPLES / "packets" / name
        read = read_packet(packet.read_bytes(), name)
        said = exiftool_reads(packet, "Subject", "Title", "Rating")
        assert list(read.keywords) == said.get("Subject", []), name
        assert [read.title] if read.title else [] == said.get("Title", []), name
        assert (
            [str(read.rating)]
            if read.rating is not None
            else [] == said.get("Rating", [])
        ), name
    # MWG's keyword tree, which ExifTool does not flatten into dc:subject, and a
    # region in pixels given as if fractions, which is left out rather than misplaced.
    tree = read_packet((SAMPLES / "packets" / "XMP5.xmp").read_bytes(), "XMP5.xmp")
    assert tree.keywords == ("A-1|A-2", "B-1|B-2", "C-1")
    assert tree.regions == ()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "photoTakenTime",
                    "timestamp",
                    "geoData",
                    "latitude",
                    "longitude",
                    "people",
                    "name",
                    "description",
                    "title",
                    "timestampSeconds",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(doc=json_values)
def test_any_takeout_json_is_read_or_refused_with_its_reason(doc: object) -> None:
    try:
        read_takeout(json.dumps(doc).encode(), "x.json")
    except TakeoutError:
        pass


PACKET = (SAMPLES / "packets" / "XMP5.xmp").read_bytes()


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_damaged_packet_is_read_or_refused_with_its_reason(
    data: st.DataObject,
) -> None:
    """A real packet, cut short and with bytes changed: read, or an XmpError."""
    damaged = bytearray(PACKET[: data.draw(st.integers(0, len(PACKET)))])
    for _ in range(data.draw(st.integers(0, 8))):
        if damaged:
            at = data.draw(st.integers(0, len(damaged) - 1))
            damaged[at] = data.draw(st.integers(0, 255))
    try:
        read_packet(bytes(damaged), "x.xmp")
    except XmpError:
        pass


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=600))
def test_any_bytes_after_a_jpeg_start_are_walked_without_an_error(body: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.jpg"
        path.write_bytes(b"\xff\xd8" + body)
        found = read_embedded(path)
        if found.iptc is not None:
            read_iptc(found.iptc, str(path))
        read_iptc(body, str(path))
