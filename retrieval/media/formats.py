"""What phones and cameras write, opened as Pillow images: HEIC/HEIF through pillow-heif,
camera RAW through rawpy (LibRaw), AVIF and MPO through Pillow itself.

The expensive formats are opened no finer than the model looks: a HEIC's embedded
thumbnail and a RAW's embedded preview stand in for the full picture whenever their short
side is at least the size asked for (`draft_size`), since decoding 12 megapixels of HEVC or
demosaicing a sensor costs far more than the model's own pass. Width and height stay the
original's.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from PIL import Image

from retrieval.errors import DecodeError

PILLOW_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
    # MPO: a multi-picture JPEG (3D and some phone cameras), read as its first picture.
    # AVIF: Pillow reads it itself from 11.3 on.
    | {".mpo", ".avif", ".avifs"}
)
HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
RAW_EXTENSIONS = frozenset(
    {
        ".dng",  # Adobe; also Leica, Pentax, Ricoh, phones' "ProRAW"
        ".cr2",
        ".cr3",
        ".crw",  # Canon
        ".nef",
        ".nrw",  # Nikon
        ".arw",
        ".srf",
        ".sr2",  # Sony
        ".raf",  # Fujifilm
        ".orf",  # Olympus / OM System
        ".rw2",  # Panasonic
        ".pef",  # Pentax
        ".srw",  # Samsung
        ".x3f",  # Sigma
        ".3fr",
        ".fff",  # Hasselblad
        ".iiq",  # Phase One
        ".erf",  # Epson
        ".kdc",
        ".dcr",  # Kodak
        ".mrw",  # Minolta
        ".rwl",  # Leica
    }
)
IMAGE_EXTENSIONS = PILLOW_EXTENSIONS | HEIF_EXTENSIONS | RAW_EXTENSIONS

# Without a size to aim at (a query image, a page preview), an embedded RAW preview still
# serves when it is at least this large: it is what the camera showed.
_PREVIEW_MIN_SIDE = 1024

# LibRaw's `flip` -> the EXIF orientation that undoes it.
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}


@dataclass
class Opened:
    """A picture ready to load: `image` may be a smaller stand-in for the original."""

    image: Image.Image
    width: int  # of the original as stored, before orientation
    height: int
    # The file's EXIF (a RAW's own, not its preview's); None: the image's, read once its
    # pixels are loaded.
    exif: Image.Exif | None = None
    # The EXIF orientation still to apply to `image`; None: as its EXIF says.
    orientation: int | None = None


_heif_registered = False


def register_heif() -> None:
    """Let Pillow open HEIC/HEIF files (once per process)."""
    global _heif_registered
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


def suffix_of(path: Path | str | IO[bytes]) -> str:
    if isinstance(path, str | os.PathLike):
        return os.path.splitext(os.fspath(path))[1].lower()
    return ""


@contextmanager
def open_picture(
    path: Path | str | IO[bytes], draft_size: int | None
) -> Iterator[Opened]:
    """The file as a Pillow image to load (closed on exit). RAW files are recognised by
    their extension; any other file by its content, HEIF included."""
    if suffix_of(path) in RAW_EXTENSIONS:
        opened = _open_raw(os.fspath(path), draft_size)  # type: ignore[arg-type]
        if opened is not None:
            with opened.image:
                yield opened
            return
        # Not a RAW after all (a JPEG renamed .dng...): whatever Pillow makes of it.
    register_heif()
    with Image.open(path) as image:
        width, height = image.size
        stand_in = _heif_thumbnail(image, path, draft_size)
        if stand_in is None:
            yield Opened(image, width, height)
            return
        # pillow-heif has applied the orientation to both, and reset it in the EXIF.
        with stand_in:
            yield Opened(stand_in, width, height, image.getexif(), 1)


def _heif_thumbnail(
    image: Image.Image, path: Path | str | IO[bytes], draft_size: int | None
) -> Image.Image | None:
    """The smallest embedded thumbnail of a HEIF whose short side is at least
    `draft_size`, decoded (upright, as libheif gives it); None: decode the full picture."""
    if image.format != "HEIF" or draft_size is None:
        return None
    boxes = image.info.get("thumbnails") or []
    long_side, short_side = max(image.size), min(image.size)
    usable = [
        (box, index)
        for index, box in enumerate(boxes)
        if isinstance(box, int) and box * short_side // long_side >= draft_size
    ]
    if not usable:
        return None
    from pillow_heif import open_heif

    _, index = min(usable)
    if not isinstance(path, str | os.PathLike):
        path.seek(0)
    heif = open_heif(path, convert_hdr_to_8bit=True)
    thumbnail: Image.Image = heif[heif.primary_index].get_thumbnail(index).to_pillow()
    return thumbnail


def _open_raw(path: str, draft_size: int | None) -> Opened | None:
    """A RAW file: its embedded preview when it is large enough, else a half-size
    demosaic (LibRaw's fastest, still twice the model's input for any real sensor).
    None: LibRaw does not take it for a RAW file at all."""
    import rawpy

    try:
        raw = rawpy.imread(path)
    except rawpy.LibRawFileUnsupportedError:
        return None
    except (rawpy.LibRawError, OSError) as exc:
        raise DecodeError(f"cannot read RAW file: {exc}") from None
    with raw:
        sizes = raw.sizes
        width, height = int(sizes.width), int(sizes.height)
        flip = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
        exif = _container_exif(path)
        preview = _raw_preview(raw, draft_size or _PREVIEW_MIN_SIDE)
        if preview is not None:
            preview_exif = preview.getexif()
            orientation = preview_exif.get(0x0112) or exif.get(0x0112) or flip
            if len(exif) == 0:
                exif = preview_exif
            return Opened(preview, width, height, exif, int(orientation))
        pixels = raw.postprocess(
            half_size=True, use_camera_wb=True, output_bps=8, user_flip=0
        )
    return Opened(Image.fromarray(pixels), width, height, exif, flip)


def _raw_preview(raw: Any, min_side: int) -> Image.Image | None:
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    except rawpy.LibRawError:
        return None
    image: Image.Image
    if thumb.format == rawpy.ThumbFormat.JPEG:
        image = Image.open(io.BytesIO(thumb.data))
    else:
        image = Image.fromarray(thumb.data)
    if min(image.size) < min_side:
        image.close()
        return None
    return image


def _container_exif(path: str) -> Image.Exif:
    """The EXIF of a TIFF-based RAW (DNG, NEF, CR2, ARW, ORF, RW2, PEF...): Pillow reads
    their first directory as a TIFF's. Empty for the others (CR3, RAF)."""
    try:
        with Image.open(path) as container:
            return container.getexif()
    except Exception:  # noqa: BLE001 - a RAW Pillow cannot parse only loses its metadata
        return Image.Exif()
