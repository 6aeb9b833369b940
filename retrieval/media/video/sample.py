"""Reading videos with PyAV (FFmpeg inside its wheels): what a video is, and the frames
worth encoding.

A frame becomes a moment where the picture changed since the last moment (a scene-change
measure on the colours of a thumbnail, cheap next to the model) and at least every
`Sampling.interval` seconds. Decoding is the cost to avoid: most of a video is frames that
are never sampled, and every one of them between two keyframes must be decoded to reach
the next. So a group of pictures (GOP: a keyframe and the frames that depend on it) that is
no longer than the interval (and two seconds, so that a change is seen at most that late)
is decoded at its keyframe only (phones write a keyframe every second or two: a few
milliseconds for a 1080p keyframe); only a longer GOP is decoded whole, and then looked at
four times a second. Timestamps come from each frame's own time, never
from a frame count, so variable frame rates are timed right.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

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
# The scene-change measure compares the colours of thumbnails this small.
_THUMB = (64, 36)
# Seen four times a second while a long GOP is decoded whole.
_LOOK_EVERY = 0.25
# Keyframes at most this far apart are enough to see scene changes by (one is seen at
# most this late); a longer GOP is decoded whole, whatever the interval.
_KEY_LATE = 2.0
# Packets kept while looking for the next keyframe; past this (a GOP of more than a few
# seconds of 4K) the GOP is decoded whole as it comes, not held in memory.
_MAX_GOP_BYTES = 64 * 2**20
# A frame this many times larger than the median of the last _SIZES_KEPT is coded afresh:
# something new is in the picture.
_SPIKE = 3.0
_SIZES_KEPT = 90
# Most moments per video the index can address (retrieval.index.ids.MOMENT_BITS).
MAX_MOMENTS = 2**20 - 1


@dataclass(frozen=True)
class Sampling:
    """How often a video becomes a moment (Settings.video_interval and video_scene)."""

    interval: float = 2.0  # seconds: at least one moment this often
    scene: float = 0.1  # share of the picture whose colour changed, for a new moment
    min_gap: float = 0.5  # seconds between two moments at the least


@dataclass(frozen=True)
class VideoInfo:
    width: int  # as shown, the container's rotation applied
    height: int
    duration: float  # seconds
    codec: str
    rotation: int  # degrees counter-clockwise that make it upright
    # When and where it was recorded, and by what (what the container's metadata says).
    details: PhotoInfo = field(default_factory=PhotoInfo)


@dataclass(frozen=True)
class Moment:
    t: float  # seconds from the start
    image: Image.Image  # upright RGB, short side about the size asked for


def is_video(path: Path | str) -> bool:
    return os.path.splitext(str(path))[1].lower() in VIDEO_EXTENSIONS


def _av() -> Any:
    # PyAV costs 60 ms to import: only what reads videos pays for it.
    import av
    import av.logging
    import av.video.reformatter

    # FFmpeg's own warnings (a damaged frame, a missing reference after a cut) are
    # expected in what people record; a file that fails says why in its DecodeError.
    av.logging.set_level(None)
    return av


@contextmanager
def _opened(path: Path | str) -> Iterator[tuple[Any, Any]]:
    """The container and its video stream, with every way of failing a DecodeError."""
    av = _av()
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except FileNotFoundError:
        raise DecodeError("file disappeared before it could be read") from None
    except PermissionError:
        raise DecodeError("permission denied") from None
    except Exception as exc:  # noqa: BLE001  # FFmpeg says each broken file its own way
        if os.path.getsize(path) == 0:
            raise DecodeError("empty file (0 bytes)") from None
        raise DecodeError(f"not a video FFmpeg can read: {_reason(exc)}") from None
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


def _reason(exc: BaseException) -> str:
    """FFmpeg's words for an error, without its error number and the file's name."""
    said = getattr(exc, "strerror", None)
    if isinstance(said, str) and said:
        return said[0].lower() + said[1:]
    return first_line(exc)


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _rotation(frame: Any) -> int:
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
    with _opened(path) as (container, stream):
        return _info(container, stream)


def _info(container: Any, stream: Any, *, first_frame: bool = True) -> VideoInfo:
    """From the headers, and the first frame for its rotation (FFmpeg keeps the display
    matrix with the frames); without `first_frame`, upright is assumed until a frame
    says otherwise (`_turned`)."""
    rotation = 0
    if first_frame:
        # A first frame that fails is sampling's to report.
        with contextlib.suppress(Exception):
            for frame in container.decode(stream):
                rotation = _rotation(frame)
                break
    width, height = stream.codec_context.width, stream.codec_context.height
    if rotation in (90, 270):
        width, height = height, width
    duration = _seconds(stream.duration, stream.time_base)
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


class _Sampler:
    """Decides which decoded frames become moments. `look` gives the frame as the model
    would get it (made once per frame, and only when it has to be looked at)."""

    def __init__(self, sampling: Sampling) -> None:
        self.sampling = sampling
        self.last_t = -math.inf  # of the last moment
        self.last_colours: np.ndarray | None = None
        self.looked_t = -math.inf  # last time a frame was looked at in a whole GOP

    def wants(
        self, look: Callable[[], Image.Image], t: float, next_key: float, whole: bool
    ) -> bool:
        s = self.sampling
        if self.last_colours is None:
            return True
        since = t - self.last_t
        if since < s.min_gap:
            return False
        if since >= s.interval - 1e-6:
            return True
        if not whole and next_key - self.last_t > s.interval + 1e-6:
            # The next chance is a keyframe too far: this one keeps the interval.
            return True
        if whole and t - self.looked_t < _LOOK_EVERY:
            return False
        self.looked_t = t
        return _change(_colours(look()), self.last_colours) >= s.scene

    def took(self, image: Image.Image, t: float) -> None:
        self.last_t = t
        self.last_colours = _colours(image)


def _colours(image: Image.Image) -> np.ndarray:
    """The picture's colour histogram: the share of it in each of 4x4x4 colour bins, from
    a thumbnail (a camera's pan or shake moves the picture, not its colours)."""
    small = np.asarray(image.resize(_THUMB, Image.Resampling.BOX), dtype=np.uint8)
    bins = (small >> 6).astype(np.int64)
    index = (bins[..., 0] * 16 + bins[..., 1] * 4 + bins[..., 2]).ravel()
    return np.bincount(index, minlength=64) / index.size


def _change(a: np.ndarray, b: np.ndarray) -> float:
    """The share of the picture whose colour changed (total variation of histograms)."""
    return float(np.abs(a - b).sum() / 2)


class _Gate:
    """Which keyframes of short GOPs are worth decoding: the ones the interval needs, and
    the ones the compressed stream says may show something new (a frame far larger than
    the frames before it: a cut or a new subject, coded afresh; a keyframe out of the
    stream's cadence: an encoder's scene cut). The others are not decoded at all: on a
    phone's video, about half of them with the default interval."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.planned = -math.inf  # at or before the last moment's time
        self.sizes: deque[int] = deque(maxlen=_SIZES_KEPT)  # of recent frames
        self.spiked = False  # since the last keyframe
        self.last_key: float | None = None
        self.spacings: deque[float] = deque(maxlen=8)

    def decoded_whole(self, next_key: float) -> None:
        # A GOP decoded whole has a moment at least every interval, to its end.
        self.planned = max(self.planned, next_key - self.interval)
        self.last_key = None

    def worth_decoding(self, key_t: float, next_key: float) -> bool:
        needed = next_key - self.planned > self.interval + 1e-6
        if needed:
            self.planned = key_t  # the sampler takes it: the interval says so
        out_of_step = (
            self.last_key is not None
            and len(self.spacings) >= 3
            and key_t - self.last_key < 0.75 * float(np.median(self.spacings))
        )
        if self.last_key is not None:
            self.spacings.append(key_t - self.last_key)
        self.last_key = key_t
        check, self.spiked = self.spiked or out_of_step, False
        return needed or check

    def saw(self, packets: list[Any]) -> None:
        """The frames between a keyframe and the next, decoded or not."""
        sizes = np.fromiter(
            (p.size for p in packets), dtype=np.int64, count=len(packets)
        )
        if len(self.sizes) >= 10 and len(sizes):
            usual = float(np.median(np.fromiter(self.sizes, dtype=np.int64)))
            if (sizes > max(_SPIKE * usual, 2048)).any():
                self.spiked = True
        self.sizes.extend(sizes.tolist())


def _upright(frame: Any, short_side: int, reformatter: Any = None) -> Image.Image:
    """The frame as RGB, scaled by FFmpeg so that its short side is `short_side` (no
    larger than it is), then turned upright. `reformatter`: one kept for the video's
    frames (a frame's own builds its scaler anew each time, twice the cost)."""
    w, h = frame.width, frame.height
    scale = min(1.0, short_side / max(1, min(w, h)))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    options = {"width": size[0], "height": size[1], "format": "rgb24"}
    if reformatter is not None:
        scaled = reformatter.reformat(frame, interpolation="AREA", **options)
    else:
        scaled = frame.reformat(interpolation="AREA", **options)
    image = scaled.to_image()
    rotation = _rotation(frame)
    if rotation == 90:
        return image.transpose(Image.Transpose.ROTATE_90)
    if rotation == 180:
        return image.transpose(Image.Transpose.ROTATE_180)
    if rotation == 270:
        return image.transpose(Image.Transpose.ROTATE_270)
    return image


class Sampled:
    """A video being sampled: iterate for its moments, in time order (decoded as they are
    asked for). `info` is the video's as its headers say, and once the first frame is
    decoded, as that frame says too (its rotation, and the size shown)."""

    def __init__(self, info: VideoInfo) -> None:
        self.info = info
        self._moments: Iterator[Moment] = iter(())

    def __iter__(self) -> Iterator[Moment]:
        return self._moments

    def _turned(self, frame: Any) -> None:
        rotation = _rotation(frame)
        if rotation != self.info.rotation:
            info = self.info
            swap = (rotation in (90, 270)) != (info.rotation in (90, 270))
            width, height = (
                (info.height, info.width) if swap else (info.width, info.height)
            )
            self.info = replace(info, rotation=rotation, width=width, height=height)


def sample(
    path: Path | str,
    sampling: Sampling,
    short_side: int,
    *,
    max_pixels: int | None = None,
) -> Sampled:
    """The video, opened once, to be sampled (see `Sampled`). DecodeError now if the
    file cannot be opened or its frames are too large, or while iterating if no frame
    decodes."""
    stack = contextlib.ExitStack()
    container, stream = stack.enter_context(_opened(path))
    try:
        info = _info(container, stream, first_frame=False)
        if max_pixels is not None and info.width * info.height > max_pixels:
            raise DecodeError(
                f"{info.width}x{info.height} frames are over the limit of {max_pixels} "
                "pixels: raise PHOTOSEARCH_MAX_PIXELS to index it"
            )
    except BaseException:
        stack.close()
        raise
    sampled = Sampled(info)
    sampled._moments = _moments(stack, container, stream, sampling, short_side, sampled)
    return sampled


def _moments(
    stack: contextlib.ExitStack,
    container: Any,
    stream: Any,
    sampling: Sampling,
    short_side: int,
    sampled: Sampled,
) -> Iterator[Moment]:
    av = _av()
    taken = 0
    info = sampled.info
    with stack:
        context = stream.codec_context
        # No deblocking: a sixth of H.264's and HEVC's decoding, for edges the model,
        # five times smaller, never sees (frame_at, for people, keeps it).
        context.options = {"skip_loop_filter": "all"}
        reformatter = av.video.reformatter.VideoReformatter()
        time_base = stream.time_base
        start = _seconds(stream.start_time, time_base) or 0.0
        sampler = _Sampler(sampling)
        # Frames come out after their packets went in (frame threads hold a few back), so
        # each GOP's plan is kept by its keyframe's time: (next keyframe's time, whole).
        plans: dict[float, tuple[float, bool]] = {}
        gop: list[Any] = []
        gop_bytes = 0
        streaming = False  # a GOP too long to hold: decoded whole as its packets come

        def at(pts: int | None) -> float:
            return (_seconds(pts, time_base) or 0.0) - start

        def when(packet: Any) -> float:
            # Some containers (AVI) stamp packets with a decoding time only.
            return at(packet.pts if packet.pts is not None else packet.dts)

        def plan_for(t: float) -> tuple[float, float, bool]:
            """(keyframe time, next keyframe time, decoded whole) of the GOP of `t`."""
            keys = [k for k in plans if k <= t + 1e-6]
            if not keys:
                return 0.0, math.inf, True
            key = max(keys)
            return (key, *plans[key])

        def decoded(packet: Any) -> Iterator[Moment]:
            nonlocal taken
            try:
                frames = context.decode(packet)
            except av.error.EOFError:
                return
            except (av.error.FFmpegError, ValueError):
                return  # one damaged packet: the frames around it still count
            for frame in frames:
                stamp = frame.pts if frame.pts is not None else frame.dts
                if stamp is None:
                    continue
                t = at(stamp)
                key_t, next_key, whole = plan_for(t)
                if t < 0 or taken >= MAX_MOMENTS:
                    continue
                if not whole and t > key_t + 1e-6:
                    # Only a GOP's keyframe was sent: a later frame is a leading picture
                    # of the next (open) GOP, decoded without its references.
                    continue
                picture: list[Image.Image] = []

                def look(
                    frame: Any = frame, picture: list[Image.Image] = picture
                ) -> Image.Image:
                    if not picture:
                        picture.append(_upright(frame, short_side, reformatter))
                    return picture[0]

                if taken == 0:
                    sampled._turned(frame)
                if not sampler.wants(look, t, next_key, whole):
                    continue
                sampler.took(look(), t)
                taken += 1
                yield Moment(t, look())

        def begin(packet: Any, next_key: float, whole: bool) -> None:
            plans[when(packet)] = (next_key, whole)
            for old in sorted(plans)[:-32]:  # decided GOPs whose frames are all out
                del plans[old]

        gate = _Gate(sampling.interval)

        def send(packets: list[Any], next_key: float) -> Iterator[Moment]:
            key_t = when(packets[0])
            whole = next_key - key_t > min(sampling.interval, _KEY_LATE) + 1e-6
            if whole:
                gate.decoded_whole(next_key)
            elif not gate.worth_decoding(key_t, next_key):
                gate.saw(packets[1:])
                return
            begin(packets[0], next_key, whole)
            for packet in packets if whole else packets[:1]:
                yield from decoded(packet)
            gate.saw(packets[1:])

        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # the demuxer's end marker: the decoder is drained below
                if packet.is_keyframe and (gop or streaming):
                    if not streaming:
                        yield from send(gop, when(packet))
                    gop, gop_bytes, streaming = [], 0, False
                if streaming:
                    yield from decoded(packet)
                    continue
                if not gop and not packet.is_keyframe:
                    # Not starting on a keyframe (a cut file): decode what follows.
                    begin(packet, math.inf, True)
                    streaming = True
                    yield from decoded(packet)
                    continue
                gop.append(packet)
                gop_bytes += packet.size
                if gop_bytes > _MAX_GOP_BYTES:
                    begin(gop[0], math.inf, True)
                    for held in gop:
                        yield from decoded(held)
                    gop, gop_bytes, streaming = [], 0, True
            if gop and not streaming:
                yield from send(gop, max(info.duration, when(gop[-1])))
            yield from decoded(None)
        except av.error.FFmpegError as exc:
            if taken == 0:
                raise DecodeError(f"cannot decode: {_reason(exc)}") from None
    if taken == 0:
        raise DecodeError("no frame of it could be decoded (damaged or truncated?)")


def frame_at(path: Path | str, t: float, short_side: int) -> Image.Image:
    """The upright frame at `t` seconds (the nearest one decoded from the keyframe
    before it), its short side at most `short_side`: a result's picture."""
    av = _av()
    with _opened(path) as (container, stream):
        time_base = stream.time_base
        start = _seconds(stream.start_time, time_base) or 0.0
        target = max(0.0, t)
        if time_base is not None:
            try:
                container.seek(
                    int((target + start) / time_base), stream=stream, backward=True
                )
            except av.error.FFmpegError:
                pass  # not seekable: decode from the start
        last = None
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                last = frame
                if (_seconds(frame.pts, time_base) or 0.0) - start >= target - 1e-3:
                    break
        except av.error.FFmpegError as exc:
            if last is None:
                raise DecodeError(f"cannot decode: {_reason(exc)}") from None
        if last is None:
            raise DecodeError("no frame of it could be decoded (damaged or truncated?)")
        return _upright(last, short_side)
