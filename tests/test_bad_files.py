"""A corpus of hostile and odd files, made here: the daemon never dies, every good image is
indexed, every bad one is recorded once with its reason and not retried until it changes."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from indexer.pipeline import index_folders
from indexer.watch import Watcher, WatchOptions
from retrieval.library import Library
from retrieval.media.formats import register_heif
from tests.dng import write_dng
from tests.helpers import encoder_of, wait_for


def _bytes(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def build_corpus(root: Path) -> tuple[set[str], set[str]]:
    """Writes the corpus; returns (paths that must index, paths that must fail)."""
    good: set[str] = set()
    bad: set[str] = set()
    rgb = Image.new("RGB", (48, 32), (200, 40, 40))

    def put(name: str, data: bytes, ok: bool) -> Path:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        (good if ok else bad).add(str(path))
        return path

    jpeg, png, webp = _bytes(rgb, "JPEG"), _bytes(rgb, "PNG"), _bytes(rgb, "WEBP")
    put("zero.jpg", b"", False)
    put("zero.png", b"", False)
    put("truncated.jpg", jpeg[: len(jpeg) // 3], False)
    put("truncated.png", png[: len(png) // 2], False)
    put("truncated.webp", webp[: len(webp) // 2], False)
    put("random.jpg", os.urandom(3000), False)
    put("random.gif", os.urandom(500), False)
    put("text.png", b"hello, I am not a picture\n" * 20, False)
    put("only-soi.jpg", b"\xff\xd8\xff", False)
    put("bomb.png", _bytes(Image.new("1", (20000, 20000)), "PNG"), False)
    put("png-named.jpg", png, True)
    put("jpeg-named.webp", jpeg, True)
    put("tiny.png", _bytes(Image.new("RGB", (1, 1), (0, 0, 0)), "PNG"), True)
    put("tiny.jpg", _bytes(Image.new("RGB", (1, 1), (9, 9, 9)), "JPEG"), True)
    put("strip.png", _bytes(Image.new("RGB", (8000, 2), (0, 90, 0)), "PNG"), True)
    put("cmyk.jpg", _bytes(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"), True)
    deep = Image.fromarray(np.arange(256, dtype=np.uint16).reshape(16, 16) * 256)
    put("16bit.png", _bytes(deep, "PNG"), True)
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], loop=0
    )
    put("animated.gif", buffer.getvalue(), True)
    exif = Image.Exif()
    exif[0x0112] = 6
    put("rotated.jpg", _bytes(rgb, "JPEG", exif=exif.tobytes()), True)
    palette = Image.new("P", (16, 16), 0)
    palette.putpalette([0, 255, 0] * 256)
    put("palette-transparent.png", _bytes(palette, "PNG", transparency=0), True)
    put("rgba.png", _bytes(Image.new("RGBA", (16, 16), (1, 2, 3, 100)), "PNG"), True)
    put("gray-alpha.png", _bytes(Image.new("LA", (16, 16), (100, 50)), "PNG"), True)
    put("gray.jpg", _bytes(Image.new("L", (16, 16), 100), "JPEG"), True)
    put("picture.tiff", _bytes(rgb, "TIFF"), True)
    # What phones and cameras write (retrieval.media.formats), good and broken.
    register_heif()
    heic = _bytes(rgb, "HEIF")
    put("phone.heic", heic, True)
    put("truncated.heic", heic[: len(heic) // 2], False)
    primary = heic.index(b"pitm")  # the box naming the primary image, made unreadable
    put("no-primary.heic", heic[:primary] + b"xxxx" + heic[primary + 4 :], False)
    put("phone.avif", _bytes(rgb, "AVIF"), True)
    second = Image.new("RGB", (48, 32), (0, 0, 255))
    put("stereo.mpo", _bytes(rgb, "MPO", save_all=True, append_images=[second]), True)
    put("zero.dng", b"", False)
    put("jpeg-named.dng", jpeg, True)
    put("random.cr2", os.urandom(4000), False)
    put("truncated.heif", heic[:40], False)
    no_preview = write_dng(root / "tmp.dng", rgb, with_preview=False).read_bytes()
    (root / "tmp.dng").unlink()
    put("no-preview.dng", no_preview, True)
    put("truncated.dng", no_preview[: len(no_preview) // 3], False)
    put("picture.bmp", _bytes(rgb, "BMP"), True)
    put("name with spaces.png", png, True)
    put("café 日本語 ☃.png", _bytes(Image.new("RGB", (8, 8), (5, 6, 7)), "PNG"), True)
    deep_dir = "/".join(["d" * 60] * 12)
    put(
        f"{deep_dir}/{'long' * 50}.png",
        _bytes(Image.new("RGB", (8, 8), (70, 6, 7)), "PNG"),
        True,
    )
    locked = put(
        "no-permission.png", _bytes(Image.new("RGB", (8, 8), (1, 99, 7)), "PNG"), True
    )
    os.chmod(locked, 0)
    if os.geteuid() != 0:  # root reads it anyway
        good.discard(str(locked))
        bad.add(str(locked))
    (root / "folder.jpg").mkdir()  # a folder with an image's name
    os.symlink(root / "nowhere.jpg", root / "broken-link.jpg")
    (root / "loop").mkdir()
    os.symlink(root / "loop", root / "loop" / "again")
    with open(os.path.join(os.fsencode(root), b"latin1-\xe9.png"), "wb") as f:
        f.write(png)  # not valid UTF-8: skipped with a warning, never stored
    (root / ".hidden").mkdir()
    (root / ".hidden" / "secret.png").write_bytes(png)
    return good, bad


def test_hostile_corpus_through_the_daemon(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    good, bad = build_corpus(photos / "before")
    assert len(good) + len(bad) + 6 >= 30
    watcher = Watcher(fake_library, [str(photos)], WatchOptions(debounce=0.2))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    # More of the same arrives while the daemon runs, and one file vanishes mid-way.
    wait_for(lambda: watcher.batches >= 1)
    more_good, more_bad = build_corpus(photos / "during")
    good |= more_good
    bad |= more_bad
    (photos / "during" / "tiny.png").unlink()
    good.discard(str(photos / "during" / "tiny.png"))

    def settled() -> bool:
        states = fake_library.store.file_states()
        return {p for p, s in states.items() if s.status == "ok"} == good and {
            p for p, s in states.items() if s.status == "failed"
        } == bad

    try:
        wait_for(settled, timeout=30)
    except AssertionError:
        states = fake_library.store.file_states()
        ok = {p for p, s in states.items() if s.status == "ok"}
        failed = {p for p, s in states.items() if s.status == "failed"}
        raise AssertionError(
            f"missing ok {good - ok}, extra ok {ok - good}, "
            f"missing failed {bad - failed}, extra failed {failed - bad}"
        ) from None
    assert thread.is_alive(), "the daemon died"
    failures = {f.path: f.error for f in fake_library.store.failures()}
    assert all(failures.values()), failures
    assert "decompression bomb" in str(failures[str(photos / "before" / "bomb.png")])

    # Not retried until changed: a full reconciliation encodes nothing and records nothing new.
    fake = encoder_of(fake_library)
    watcher.stop()
    thread.join(timeout=10)
    calls = fake.images_encoded
    summary = index_folders(fake_library, [str(photos)])
    assert (summary.encoded, summary.failed, summary.added) == (0, 0, 0)
    assert fake.images_encoded == calls
    # Once a bad file is replaced by a good one, it is indexed.
    fixed = photos / "before" / "zero.png"
    fixed.write_bytes(_bytes(Image.new("RGB", (8, 8), (3, 3, 3)), "PNG"))
    time.sleep(0.01)
    assert index_folders(fake_library, [str(photos)]).updated == 1
