"""Frames of a video as upright pictures: scaled by FFmpeg, turned as the video's display
matrix says; and the frame at a given second, for a result's picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from retrieval.errors import DecodeError
from retrieval.media.video.probe import av_module, opened, reason, rotation_of, seconds


def upright(frame: Any, short_side: int, reformatter: Any = None) -> Image.Image:
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
    rotation = rotation_of(frame)
    if rotation == 90:
        return image.transpose(Image.Transpose.ROTATE_90)
    if rotation == 180:
        return image.transpose(Image.Transpose.ROTATE_180)
    if rotation == 270:
        return image.transpose(Image.Transpose.ROTATE_270)
    return image


def frame_at(path: Path | str, t: float, short_side: int) -> Image.Image:
    """The upright frame at `t` seconds (the nearest one decoded from the keyframe
    before it), its short side at most `short_side`: a result's picture."""
    av = av_module()
    with opened(path) as (container, stream):
        time_base = stream.time_base
        start = seconds(stream.start_time, time_base) or 0.0
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
                if (seconds(frame.pts, time_base) or 0.0) - start >= target - 1e-3:
                    break
        except av.error.FFmpegError as exc:
            if last is None:
                raise DecodeError(f"cannot decode: {reason(exc)}") from None
        if last is None:
            raise DecodeError("no frame of it could be decoded (damaged or truncated?)")
        return upright(last, short_side)
