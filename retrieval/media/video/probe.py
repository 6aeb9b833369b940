"""What a video is, read with PyAV (FFmpeg inside its wheels): which files are videos,
opening one with every way of failing a DecodeError, and what its headers and metadata
say (size as shown, length, codec, rotation, when and where it was recorded)."""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from retrieval.errors import DecodeError, first_line
from retrieval.media.exif import PhotoInfo

VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",  # phones (iPhone), cameras; a Live Photo's motion part
        ".qt",
        ".mkv",
        ".webm",
        ".avi",
        ".3gp",
        ".3g2",  # older phones
        ".mts",
        ".m2ts",  # AVCHD camcorders
        ".mpg",
        ".mpeg",
        ".wmv",
        ".ogv",
    }
)


@dataclass(frozen=True)
class VideoInfo:
    width: int  # as shown, the container's rotation applied
    height: int
    duration: float  # seconds
    codec: str
    rotation: int  # degrees counter-clockwise that make it upright
    # When and where it was recorded, and by what (what the container's metadata says).
    details: PhotoInfo = field(default_factory=PhotoInfo)


def is_video(path: Path | str) -> bool:
    return os.path.splitext(str(path))[1].lower() in VIDEO_EXTENSIONS


def av_module() -> Any:
    # PyAV costs 60 ms to import: only what reads videos pays for it.
    import av
    import av.logging
    import av.video.reformatter

    # FFmpeg's own warnings (a damaged frame, a missing reference after a cut) are
    # expected in what people record; a file that fails says why in its DecodeError.
    av.logging.set_level(None)
    return av


@contextmanager
def opened(path: Path | str) -> Iterator[tuple[Any, Any]]:
    """The container and its video stream, with every way of failing a DecodeError."""
    av = av_module()
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except FileNotFoundError:
        raise DecodeError("file disappeared before it could be read") from None
    except PermissionError:
        raise DecodeError("permission denied") from None
    except Exception as exc:  # noqa: BLE001  # FFmpeg says each broken file its own way
        if os.path.getsize(path) == 0:
            raise DecodeError("empty file (0 bytes)") from None
        raise DecodeError(f"not a video FFmpeg can read: {reason(exc)}") from None
    try:
        fmt = container.format.name or ""
        if fmt.endswith("_pipe") or fmt in ("image2", "gif", "apng", "webp_pipe"):
            kind = fmt.removesuffix("_pipe").upper()
            raise DecodeError(
                f"not a video: it is a {kind} image; give it an image extension"
            )
        if not container.streams.video:
            what = "audio only" if container.streams.audio else "no stream at all"
            raise DecodeError(f"no video in it ({what})")
        stream = container.streams.video[0]
        if stream.codec_context is None or not stream.codec_context.codec:
            raise DecodeError(
                "its video is in a codec FFmpeg cannot decode: convert it (to H.264, "
                "say) to index it"
            )
        stream.thread_type = "AUTO"  # the codec's own threads (frame or slice)
        yield container, stream
    finally:
        container.close()


def reason(exc: BaseException) -> str:
    """FFmpeg's words for an error, without its error number and the file's name."""
    said = getattr(exc, "strerror", None)
    if isinstance(said, str) and said:
        return said[0].lower() + said[1:]
    return first_line(exc)


def seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def rotation_of(frame: Any) -> int:
    """Degrees counter-clockwise (0, 90, 180 or 270) that make a frame upright, from its
    display matrix (phones record sideways and say so there)."""
    angle = getattr(frame, "rotation", 0) or 0
    if not math.isfinite(angle):
        return 0
    return round(angle / 90.0) * 90 % 360


_APPLE = "com.apple.quicktime."


def _taken_at(metadata: dict[str, str]) -> tuple[datetime | None, int | None]:
    """When it was recorded and the UTC offset of that time (minutes): Apple's local
    date with its offset, else the container's creation_time in UTC (none for the 1904 or
    1970 of cameras that never set their clock)."""
    for key in (_APPLE + "creationdate", "creation_time", "date"):
        raw = (metadata.get(key) or "").strip()
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            continue
        if when.year <= 1970:
            continue
        offset = when.utcoffset()
        if key.startswith(_APPLE) and offset is not None:
            return when.replace(tzinfo=None), round(offset.total_seconds() / 60)
        if offset is not None:
            when = when.astimezone(UTC).replace(tzinfo=None)
        return when, 0 if offset is not None else None
    return None, None


_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")


def _position(metadata: dict[str, str]) -> tuple[float | None, float | None]:
    """Where a phone recorded it (ISO 6709 in Apple's and Android's metadata)."""
    for key in (_APPLE + "location.ISO6709", "location"):
        found = _ISO6709.match((metadata.get(key) or "").strip())
        if found:
            lat, lon = float(found.group(1)), float(found.group(2))
            if -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0):
                return lat, lon
    return None, None


def _details(metadata: dict[str, str]) -> PhotoInfo:
    taken_at, offset = _taken_at(metadata)
    latitude, longitude = _position(metadata)
    return PhotoInfo(
        taken_at=taken_at,
        utc_offset_min=offset,
        camera_make=metadata.get(_APPLE + "make") or None,
        camera_model=metadata.get(_APPLE + "model") or None,
        latitude=latitude,
        longitude=longitude,
        # A Live Photo's motion part carries its still's identifier (live_photos).
        content_id=metadata.get(_APPLE + "content.identifier") or None,
    )


def read_info(path: Path | str) -> VideoInfo:
    """What a video is, from its headers (no frame decoded); DecodeError if it is not a
    video PyAV can decode."""
    with opened(path) as (container, stream):
        return info_of(container, stream)


def info_of(container: Any, stream: Any, *, first_frame: bool = True) -> VideoInfo:
    """From the headers, and the first frame for its rotation (FFmpeg keeps the display
    matrix with the frames); without `first_frame`, upright is assumed until a frame
    says otherwise (`_turned`)."""
    rotation = 0
    if first_frame:
        # A first frame that fails is sampling's to report.
        with contextlib.suppress(Exception):
            for frame in container.decode(stream):
                rotation = rotation_of(frame)
                break
    width, height = stream.codec_context.width, stream.codec_context.height
    if rotation in (90, 270):
        width, height = height, width
    duration = seconds(stream.duration, stream.time_base)
    if duration is None and container.duration is not None:
        duration = container.duration / 1_000_000
    metadata = {**(container.metadata or {}), **(stream.metadata or {})}
    return VideoInfo(
        width=int(width or 0),
        height=int(height or 0),
        duration=max(0.0, duration or 0.0),
        codec=stream.codec_context.name or "",
        rotation=rotation,
        details=_details(metadata),
    )
