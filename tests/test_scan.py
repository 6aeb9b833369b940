from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexer.scan import check_roots, walk
from retrieval.errors import UsageError
from tests.helpers import draw


def test_walk_finds_images_and_skips_hidden_system_and_other_files(
    tmp_path: Path,
) -> None:
    draw(tmp_path / "a.jpg", (255, 0, 0))
    draw(tmp_path / "sub" / "B.PNG", (0, 255, 0), fmt="PNG")
    draw(tmp_path / ".hidden" / "c.jpg", (0, 0, 255))
    draw(tmp_path / "@eaDir" / "thumb.jpg", (0, 0, 255))
    draw(tmp_path / ".dot.jpg", (0, 0, 255))
    (tmp_path / "notes.txt").write_text("hi")
    found = sorted(
        Path(e.path).relative_to(tmp_path).as_posix() for e in walk(str(tmp_path))
    )
    assert found == ["a.jpg", "sub/B.PNG"]


def test_walk_survives_symlink_loops_and_broken_links(tmp_path: Path) -> None:
    draw(tmp_path / "photos" / "a.jpg", (255, 0, 0))
    os.symlink(tmp_path / "photos", tmp_path / "photos" / "loop")
    os.symlink(tmp_path / "missing.jpg", tmp_path / "photos" / "broken.jpg")
    found = [Path(e.path).name for e in walk(str(tmp_path / "photos"))]
    assert found == ["a.jpg"]


def test_check_roots_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nope does not exist"):
        check_roots([str(tmp_path / "nope")])
    file = draw(tmp_path / "a.jpg", (1, 2, 3))
    with pytest.raises(UsageError, match="is not a folder"):
        check_roots([str(file)])


def test_names_that_are_not_utf8_are_skipped_not_fatal(tmp_path: Path) -> None:
    draw(tmp_path / "ok.jpg", (255, 0, 0))
    weird = os.path.join(os.fsencode(tmp_path), b"caf\xe9.jpg")
    with open(weird, "wb") as f:
        f.write((tmp_path / "ok.jpg").read_bytes())
    assert [Path(e.path).name for e in walk(str(tmp_path))] == ["ok.jpg"]
