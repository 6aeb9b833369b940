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
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from retrieval.errors import DecodeError
from retrieval.media.video.frames import upright
from retrieval.media.video.probe import (
    VideoInfo,
    av_module,
    info_of,
    opened,
    reason,
    rotation_of,
    seconds,
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
class Moment:
    t: float  # seconds from the start
    image: Image.Image  # upright RGB, short side about the size asked for


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
        rotation = rotation_of(frame)
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
    container, stream = stack.enter_context(opened(path))
    try:
        info = info_of(container, stream, first_frame=False)
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
    with stack:
        walk = _Walk(stream, sampling, short_side, sampled)
        yield from walk.run(container)
        taken = walk.taken
    if taken == 0:
        raise DecodeError("no frame of it could be decoded (damaged or truncated?)")


class _Walk:
    """One pass over a video's packets, GOP by GOP (see the module's docstring): which
    packets are sent to the decoder, and which of the frames that come out are moments."""

    def __init__(
        self, stream: Any, sampling: Sampling, short_side: int, sampled: Sampled
    ) -> None:
        self.av = av_module()
        self.stream = stream
        self.sampling = sampling
        self.short_side = short_side
        self.sampled = sampled
        self.taken = 0
        context = stream.codec_context
        # No deblocking: a sixth of H.264's and HEVC's decoding, for edges the model,
        # five times smaller, never sees (frame_at, for people, keeps it).
        context.options = {"skip_loop_filter": "all"}
        self.context = context
        self.reformatter = self.av.video.reformatter.VideoReformatter()
        self.time_base = stream.time_base
        self.start = seconds(stream.start_time, self.time_base) or 0.0
        self.sampler = _Sampler(sampling)
        self.gate = _Gate(sampling.interval)
        # Frames come out after their packets went in (frame threads hold a few back), so
        # each GOP's plan is kept by its keyframe's time: (next keyframe's time, whole).
        self.plans: dict[float, tuple[float, bool]] = {}

    def at(self, pts: int | None) -> float:
        return (seconds(pts, self.time_base) or 0.0) - self.start

    def when(self, packet: Any) -> float:
        # Some containers (AVI) stamp packets with a decoding time only.
        return self.at(packet.pts if packet.pts is not None else packet.dts)

    def plan_for(self, t: float) -> tuple[float, float, bool]:
        """(keyframe time, next keyframe time, decoded whole) of the GOP of `t`."""
        keys = [k for k in self.plans if k <= t + 1e-6]
        if not keys:
            return 0.0, math.inf, True
        key = max(keys)
        return (key, *self.plans[key])

    def begin(self, packet: Any, next_key: float, whole: bool) -> None:
        self.plans[self.when(packet)] = (next_key, whole)
        for old in sorted(self.plans)[:-32]:  # decided GOPs whose frames are all out
            del self.plans[old]

    def decoded(self, packet: Any) -> Iterator[Moment]:
        """The moments among the frames that sending `packet` (None: drain) gives."""
        av = self.av
        try:
            frames = self.context.decode(packet)
        except av.error.EOFError:
            return
        except (av.error.FFmpegError, ValueError):
            return  # one damaged packet: the frames around it still count
        for frame in frames:
            stamp = frame.pts if frame.pts is not None else frame.dts
            if stamp is None:
                continue
            t = self.at(stamp)
            key_t, next_key, whole = self.plan_for(t)
            if t < 0 or self.taken >= MAX_MOMENTS:
                continue
            if not whole and t > key_t + 1e-6:
                # Only a GOP's keyframe was sent: a later frame is a leading picture of
                # the next (open) GOP, decoded without its references.
                continue
            picture: list[Image.Image] = []

            def look(
                frame: Any = frame, picture: list[Image.Image] = picture
            ) -> Image.Image:
                if not picture:
                    picture.append(upright(frame, self.short_side, self.reformatter))
                return picture[0]

            if self.taken == 0:
                self.sampled._turned(frame)
            if not self.sampler.wants(look, t, next_key, whole):
                continue
            self.sampler.took(look(), t)
            self.taken += 1
            yield Moment(t, look())

    def send(self, packets: list[Any], next_key: float) -> Iterator[Moment]:
        """A GOP held whole: its keyframe alone, or all of it, or nothing (`_Gate`)."""
        key_t = self.when(packets[0])
        whole = next_key - key_t > min(self.sampling.interval, _KEY_LATE) + 1e-6
        if whole:
            self.gate.decoded_whole(next_key)
        elif not self.gate.worth_decoding(key_t, next_key):
            self.gate.saw(packets[1:])
            return
        self.begin(packets[0], next_key, whole)
        for packet in packets if whole else packets[:1]:
            yield from self.decoded(packet)
        self.gate.saw(packets[1:])

    def run(self, container: Any) -> Iterator[Moment]:
        gop: list[Any] = []
        gop_bytes = 0
        streaming = False  # a GOP too long to hold: decoded whole as its packets come
        try:
            for packet in container.demux(self.stream):
                if packet.size == 0:
                    continue  # the demuxer's end marker: the decoder is drained below
                if packet.is_keyframe and (gop or streaming):
                    if not streaming:
                        yield from self.send(gop, self.when(packet))
                    gop, gop_bytes, streaming = [], 0, False
                if streaming:
                    yield from self.decoded(packet)
                    continue
                if not gop and not packet.is_keyframe:
                    # Not starting on a keyframe (a cut file): decode what follows.
                    self.begin(packet, math.inf, True)
                    streaming = True
                    yield from self.decoded(packet)
                    continue
                gop.append(packet)
                gop_bytes += packet.size
                if gop_bytes > _MAX_GOP_BYTES:
                    self.begin(gop[0], math.inf, True)
                    for held in gop:
                        yield from self.decoded(held)
                    gop, gop_bytes, streaming = [], 0, True
            if gop and not streaming:
                duration = self.sampled.info.duration
                yield from self.send(gop, max(duration, self.when(gop[-1])))
            yield from self.decoded(None)
        except self.av.error.FFmpegError as exc:
            if self.taken == 0:
                raise DecodeError(f"cannot decode: {reason(exc)}") from None
