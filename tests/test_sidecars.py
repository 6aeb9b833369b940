"""Sidecars written for other photo programs, checked by ExifTool, the reference they are
all checked against: keywords with their hierarchy and face regions read back as
written, every field photosearch does not own kept, nothing written on a second run,
a sidecar that cannot be read or a folder that cannot be written reported; and the
command line end to end, through a real tagging."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from indexer.analyzers.base import Analyzer
from indexer.analyzers.exif import ExifAnalyzer
from indexer.analyzers.faces import FaceAnalyzer
from indexer.analyzers.metadata import MetadataAnalyzer
from indexer.pipeline import index_folders
from retrieval.faces.regions import name_from_regions
from retrieval.library import Library
from retrieval.metadata.export import Outcome, wanted_sidecars, write_sidecars
from retrieval.metadata.model import Region
from retrieval.metadata.read import read_metadata
from retrieval.metadata.write import Wanted
from tests.conftest import REPO, TEST_BACKEND, index_with_demo, run_cli
from tests.helpers import exiftool, exiftool_json, photo


def read_back(path: Path) -> dict[str, Any]:
    """What ExifTool reads in a sidecar, by group and tag, numbers as numbers."""
    return exiftool_json(path, "-G1", "-n")


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def write(
    photo_path: Path, wanted: Wanted, style: str = "darktable", dry_run: bool = False
) -> list[Outcome]:
    return list(
        write_sidecars(
            iter([(str(photo_path), wanted)]),
            style=style,
            parent="photosearch",
            dry_run=dry_run,
        )
    )


def _id(library: Library, path: Path) -> int:
    meta = library.store.meta_by_path(str(path))
    assert meta is not None
    return meta.image_id


ALICE = Region("Alice", (0.5, 0.2, 0.2, 0.3))


def test_a_sidecar_is_merged_read_back_by_exiftool_and_written_once(
    tmp_path: Path,
) -> None:
    shot = photo(tmp_path, "IMG_0001.jpg")
    sidecar = tmp_path / "IMG_0001.jpg.xmp"
    exiftool(
        "-XMP-dc:Creator=Ann Smith",
        "-XMP-xmp:Rating=3",
        "-XMP-dc:Subject=mine",
        "-XMP-lr:HierarchicalSubject=Places|Lisbon",
        "-XMP-photoshop:City=Lisboa",
        "-XMP-mwg-rs:RegionInfo={AppliedToDimensions={W=96,H=96,Unit=pixel},"
        "RegionList=[{Area={X=0.2,Y=0.2,W=0.1,H=0.1,Unit=normalized},Name=Bob,"
        "Type=Face}]}",
        sidecar,
    )
    wanted = Wanted(keywords=("beach", "dog"), regions=(ALICE,), write_regions=True)
    dry = write(shot, wanted, dry_run=True)
    assert [o.state for o in dry] == ["written"]
    assert "beach" not in sidecar.read_text()  # a dry run writes nothing
    assert [o.state for o in write(shot, wanted)] == ["written"]

    tags = read_back(sidecar)
    assert set(listed(tags["XMP-dc:Subject"])) == {"mine", "beach", "dog"}
    assert set(listed(tags["XMP-lr:HierarchicalSubject"])) == {
        "Places|Lisbon",
        "photosearch|beach",
        "photosearch|dog",
    }
    # What photosearch does not own, as it was.
    assert tags["XMP-dc:Creator"] == "Ann Smith" and tags["XMP-xmp:Rating"] == 3
    assert tags["XMP-photoshop:City"] == "Lisboa"
    names = listed(tags["XMP-mwg-rs:RegionName"])
    assert names == ["Bob", "Alice"]
    alice = names.index("Alice")
    centre = (
        listed(tags["XMP-mwg-rs:RegionAreaX"])[alice],
        listed(tags["XMP-mwg-rs:RegionAreaY"])[alice],
        listed(tags["XMP-mwg-rs:RegionAreaW"])[alice],
        listed(tags["XMP-mwg-rs:RegionAreaH"])[alice],
    )
    assert centre == pytest.approx((0.6, 0.35, 0.2, 0.3))

    # A second run changes no byte.
    before = sidecar.read_bytes()
    assert [o.state for o in write(shot, wanted)] == ["unchanged"]
    assert sidecar.read_bytes() == before
    # A tag taken away goes from both keyword lists; the user's keywords stay.
    fewer = Wanted(keywords=("dog",), regions=(), write_regions=True)
    assert [o.state for o in write(shot, fewer)] == ["written"]
    tags = read_back(sidecar)
    assert set(listed(tags["XMP-dc:Subject"])) == {"mine", "dog"}
    assert set(listed(tags["XMP-lr:HierarchicalSubject"])) == {
        "Places|Lisbon",
        "photosearch|dog",
    }
    assert listed(tags["XMP-mwg-rs:RegionName"]) == ["Bob"]  # the user's region stays


def test_regions_are_written_for_the_stored_image_and_read_back_upright(
    tmp_path: Path,
) -> None:
    turned = photo(tmp_path, "turned.jpg")
    exiftool("-IFD0:Orientation#=6", turned)
    assert [o.state for o in write(turned, Wanted(("x",), (ALICE,), 1, True))] == [
        "written"
    ]
    (region,) = read_metadata(turned).regions
    assert region.name == "Alice"
    assert region.box == pytest.approx(ALICE.box, abs=1e-5)
    # digiKam's style: its own tag list too, in the same file naming.
    assert [o.state for o in write(turned, Wanted(("x",)), style="digikam")] == [
        "written"
    ]
    tags = read_back(tmp_path / "turned.jpg.xmp")
    assert listed(tags["XMP-digiKam:TagsList"]) == ["photosearch/x"]


def test_what_cannot_be_read_or_written_is_reported_and_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = photo(tmp_path, "broken.jpg")
    sidecar = tmp_path / "broken.jpg.xmp"
    sidecar.write_bytes(b"<x:xmpmeta><rdf:RDF>")
    (outcome,) = write(broken, Wanted(("beach",)))
    assert outcome.state == "failed" and "malformed" in outcome.reason
    assert sidecar.read_bytes() == b"<x:xmpmeta><rdf:RDF>"
    # Lightroom's naming: IMG_0002.xmp; a folder that refuses the temporary file.
    locked = photo(tmp_path, "IMG_0002.jpg")

    def refuse(*args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    (outcome,) = write(locked, Wanted(("beach",)), style="lightroom")
    assert outcome.sidecar == tmp_path / "IMG_0002.xmp"
    assert outcome.state == "failed" and "Permission denied" in outcome.reason
    assert not (tmp_path / "IMG_0002.xmp").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.skipif(
    TEST_BACKEND == "postgres", reason="the command line's libraries are SQLite's"
)
def test_the_command_line_writes_tags_for_lightroom(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photo(photos, "red.jpg", (220, 20, 20))
    photo(photos, "blue.jpg", (20, 20, 220))
    library = tmp_path / "library"
    index_with_demo(photos, library)
    tagged = run_cli(
        "tag",
        "--library",
        str(library),
        "--set",
        "colours",
        "--label",
        "red",
        "--label",
        "blue",
        "--exclusive",
        "--threshold",
        "0.01",
    )
    assert tagged.returncode == 0, tagged.stderr
    done = run_cli(
        "sidecars", "write", "--library", str(library), "--style", "lightroom"
    )
    assert done.returncode == 0, done.stderr
    assert "2 sidecars written" in done.stderr
    for name in ("red", "blue"):
        tags = read_back(photos / f"{name}.xmp")
        assert f"photosearch|{name}" in listed(tags["XMP-lr:HierarchicalSubject"])
    again = run_cli(
        "sidecars", "write", "--library", str(library), "--style", "lightroom"
    )
    assert "0 sidecars written, 2 already up to date" in again.stderr
    unknown = run_cli("sidecars", "write", "--library", str(library), "--tags", "nope")
    assert unknown.returncode != 0 and unknown.stderr.count("\n") == 1
    assert "nope" in unknown.stderr


def test_a_new_sidecar_keeps_the_keywords_the_photo_had(tmp_path: Path) -> None:
    """A sidecar's keywords are read instead of the file's (by darktable, and here): a
    new one starts with the photo's own, so that writing tags loses none."""
    shot = photo(tmp_path, "tram.jpg")
    exiftool(
        "-XMP-dc:Subject=tram",
        "-XMP-dc:Subject=Lisbon",
        "-XMP-lr:HierarchicalSubject=Places|Lisbon",
        shot,
    )
    assert [o.state for o in write(shot, Wanted(("beach",)))] == ["written"]
    tags = read_back(tmp_path / "tram.jpg.xmp")
    assert set(listed(tags["XMP-dc:Subject"])) == {"tram", "Lisbon", "beach"}
    assert set(listed(tags["XMP-lr:HierarchicalSubject"])) == {
        "Places|Lisbon",
        "photosearch|beach",
    }
    assert {"tram", "Places|Lisbon", "photosearch|beach"} <= set(
        read_metadata(shot).keywords
    )


def test_named_persons_go_out_as_face_regions_and_come_back_to_the_same_faces(
    fake_library: Library, tmp_path: Path
) -> None:
    """`sidecars write --people` as the command runs it: each named person's faces as
    MWG regions ExifTool reads; read back by the metadata analyzer, they fall on the
    same faces and agree with the names given here."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("obama1.jpg", "obama2.jpg", "biden1.jpg"):
        shutil.copy(REPO / "data" / "faces" / "photos" / name, photos / name)
    with_faces: list[Analyzer] = [ExifAnalyzer(), FaceAnalyzer(fake_library.settings)]
    index_folders(fake_library, [str(photos)], analyzers=with_faces)
    store = fake_library.store
    (face,) = next(
        iter(store.faces_of([_id(fake_library, photos / "obama1.jpg")]).values())
    )
    assert face.person_id is not None
    store.name_person(face.person_id, "Barack")

    wanted = wanted_sidecars(store, people=True)
    outcomes = list(write_sidecars(wanted, style="digikam", parent="photosearch"))
    written = sorted(o.sidecar.name for o in outcomes if o.state == "written")
    assert written == ["obama1.jpg.xmp", "obama2.jpg.xmp"]
    tags = read_back(photos / "obama1.jpg.xmp")
    assert listed(tags["XMP-mwg-rs:RegionName"]) == ["Barack"]
    assert listed(tags["XMP-mwg-rs:RegionType"]) == ["Face"]

    index_folders(
        fake_library, [str(photos)], analyzers=[*with_faces, MetadataAnalyzer()]
    )
    assert name_from_regions(store, apply=False) == []  # the same faces, the same names
    assert store.person("Barack").photos == 2
    again = list(
        write_sidecars(
            wanted_sidecars(store, people=True), style="digikam", parent="photosearch"
        )
    )
    assert {o.state for o in again} == {"unchanged"}
