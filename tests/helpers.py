"""What several test modules share (fixtures stay in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photosearch.warm.protocol import make_request
from retrieval.library import Library
from retrieval.settings import Settings
from retrieval.store import Store
from retrieval.vectors import l2_normalize
from tests.fakes import FakeEncoder


def query_request(op: str, main: str, cwd: str, **fields: Any) -> dict[str, Any]:
    """A query request as the command line sends it (photosearch.warm.protocol)."""
    return make_request(None, op=op, main=main, cwd=cwd, **fields)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


class CountingAnalyzer:
    """A test analyzer: records the photos it sees (and appends them to `log`, for
    another process to count); it keeps no records of its own."""

    name = "counting"
    videos = False
    deferred = True  # it looks at pixels: the second pass
    shape = None
    finish_after: tuple[str, ...] = ()

    def __init__(
        self, *, version: int = 1, picture_side: int = 32, log: Path | None = None
    ) -> None:
        self.version = version
        self.picture_side = picture_side
        self.log = log
        self.seen: list[str] = []
        self.sizes: list[tuple[int, int]] = []
        self._lock = threading.Lock()

    def prepare(self, photo: Any) -> Any:
        assert photo.picture is not None
        with self._lock:
            self.sizes.append(photo.picture.size)
        return photo.path

    def analyze(self, prepared: Sequence[Any]) -> list[Any]:
        self.seen.extend(prepared)
        if self.log is not None:
            with open(self.log, "a") as f:
                f.writelines(f"{path}\n" for path in prepared)
        return [None for _ in prepared]

    def write(self, s: Any, rows: Sequence[tuple[int, Any]]) -> None:
        pass

    def finish(self, library: Any) -> None:
        self.finished = getattr(self, "finished", 0) + 1


def start_index(
    photos: Path, library: Path, crash_at: str | None = None
) -> subprocess.Popen:
    env = dict(os.environ)
    if crash_at:
        env["PHOTOSEARCH_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [
            PHOTOSEARCH,
            *demo_index_args(photos, library, "--batch-size", "8", "--no-progress"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


PHOTOSEARCH = str(Path(sys.executable).with_name("photosearch"))


def paths_in(library: Library) -> set[str]:
    return {p for p, s in library.store.file_states().items() if s.status == "ok"}


def two_halves(size: tuple[int, int] = (400, 300)) -> Image.Image:
    """Red left half, blue right half: which way up it ends shows in its pixels."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    return image


def exif_of(
    *,
    position: tuple[float, float] | None = None,
    make: str | None = None,
    model: str | None = None,
    taken: str | None = None,
    offset: str | None = None,
    orientation: int | None = None,
    iso: int | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if orientation:
        exif[0x0112] = orientation
    sub: dict[int, object] = {}
    if taken:
        sub[0x9003] = taken
    if offset:
        sub[0x9011] = offset
    if iso:
        sub[0x8827] = iso
    if sub:
        exif[0x8769] = sub
    if position is not None:
        lat, lon = position
        exif[0x8825] = {
            1: "N" if lat >= 0 else "S",
            2: _rational_dms(lat),
            3: "E" if lon >= 0 else "W",
            4: _rational_dms(lon),
            5: b"\x00",
            6: 12.5,
        }
    return exif


def _rational_dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 2)
    return (float(degrees), float(minutes), seconds)


TOKYO = (35.6895, 139.6917)


LISBON = (38.7223, -9.1393)


def open_library(tmp_path: Path, **settings: object) -> Library:
    config = Settings(
        library=tmp_path / "library", batch_size=4, faces=False, text=False
    ).with_options(**settings)
    store = Store.open(config.library, create=True, database=config.database)
    encoder = FakeEncoder()
    return Library(store, config, encoder.info, encoder)


def save(
    path: Path, quarter: tuple[int, int], size: int = 64, when: str | None = None
) -> Path:
    image = picture(quarter, (250, 250, 250), size)
    exif = Image.Exif()
    if when is not None:
        exif.get_ifd(0x8769)[36867] = when
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, exif=exif.tobytes())
    return path


def picture(
    quarter: tuple[int, int], color: tuple[int, int, int], size: int
) -> Image.Image:
    image = Image.new("RGB", (size, size), (10, 10, 10))
    row, col = quarter
    step = size // 4
    image.paste(color, (col * step, row * step, (col + 2) * step, (row + 2) * step))
    return image


# The fake encoder sees brightness on a 4x4 grid: each picture is dark with one bright
# quarter, a different one per picture, so that only a picture and its copy are alike.
RED, GREEN, BLUE, YELLOW, CYAN = (0, 0), (0, 2), (2, 0), (2, 2), (1, 1)


def encoder_of(library: Library) -> FakeEncoder:
    """The fake behind the library's model thread."""
    fake = getattr(library.encoder, "inner", library.encoder)
    assert isinstance(fake, FakeEncoder)
    return fake


def clustered(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).standard_normal((40, DIM)).astype(np.float32)
    picks = centres[rng.integers(0, len(centres), n)]
    return l2_normalize(picks + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32))


DIM = 32


def demo_index_args(photos: Path, library: Path, *extra: str) -> list[str]:
    """`photosearch index PHOTOS` into `library` with the demo model: the arguments."""
    return ["index", str(photos), "--library", str(library), "--model", "demo", *extra]


def exiftool_program() -> str:
    """ExifTool's path; without it the test is skipped, or fails where
    PHOTOSEARCH_REQUIRE_EXIFTOOL=1 (CI)."""
    found = shutil.which("exiftool")
    if found is None:
        if os.environ.get("PHOTOSEARCH_REQUIRE_EXIFTOOL") == "1":
            pytest.fail("no exiftool on PATH: `make exiftool` (see .ci/run)")
        pytest.skip("no exiftool on PATH (apt-get install libimage-exiftool-perl)")
    return found


def exiftool_json(path: Path, *options: str) -> dict[str, Any]:
    """What ExifTool reads in a file (`exiftool -j`), with these options."""
    done = subprocess.run(
        [exiftool_program(), "-j", *options, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)[0]
    return found


def exiftool(*args: str | Path) -> None:
    """ExifTool writing tags (a sidecar named *.xmp is created if it does not exist)."""
    done = subprocess.run(
        [exiftool_program(), "-q", "-overwrite_original", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def photo(folder: Path, name: str, color: tuple[int, int, int] = (200, 40, 40)) -> Path:
    """A small photo with a coloured square, for tests of what is written beside it."""
    return draw(folder / name, color, size=96)


def draw(
    path: Path, color: tuple[int, int, int], size: int = 64, fmt: str | None = None
) -> Path:
    """A picture with a coloured square on a contrasting background, saved to `path`."""
    image = Image.new("RGB", (size, size), tuple(255 - c for c in color))
    image.paste(color, (size // 4, size // 4, 3 * size // 4, 3 * size // 4))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt)
    return path
