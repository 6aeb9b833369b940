"""Videos made by the tests: PyAV writes them, Pillow draws their frames."""

from __future__ import annotations

import random
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from photosearch.demo.shapes import Scene, render

RED_CIRCLE = Scene("circle", "red", 1, "large", "center", "white")
BLUE_STAR = Scene("star", "blue", 1, "large", "center", "white")
GREEN_HEART = Scene("heart", "green", 1, "large", "center", "white")


def scene_frame(scene: Scene, size: tuple[int, int], seed: int = 0) -> Image.Image:
    """The scene drawn in the centre square of a frame of `size`, the rest white."""
    width, height = size
    side = min(width, height)
    frame = Image.new("RGB", size, (255, 255, 255))
    frame.paste(
        render(scene, random.Random(seed), side=side),
        ((width - side) // 2, (height - side) // 2),
    )
    return frame


def make_video(
    path: Path,
    segments: Sequence[tuple[float, Scene | Image.Image]],
    *,
    size: tuple[int, int] = (320, 240),
    fps: int = 10,
    codec: str = "libx264",
    rotation: int = 0,
    gop: int | None = None,
    times: Sequence[float] | None = None,
) -> Path:
    """A video showing each segment's scene (or picture) for its seconds, in order.
    `rotation`: the display matrix's degrees counter-clockwise (frames are stored turned
    the other way, as a phone held sideways stores them). `times`: each frame's own
    timestamp, for a variable frame rate."""
    pictures: list[Image.Image] = []
    for seconds, what in segments:
        picture = what if isinstance(what, Image.Image) else scene_frame(what, size)
        if rotation:
            picture = picture.rotate(-rotation, expand=True)
        pictures.extend([picture] * max(1, round(seconds * fps)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = pictures[0].size
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        if gop is not None:
            stream.codec_context.gop_size = gop
        if rotation:
            stream.set_display_rotation(rotation)
        time_base = Fraction(1, 1000)
        stream.codec_context.time_base = time_base
        for n, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(np.asarray(picture), format="rgb24")
            frame.pts = round((times[n] if times else n / fps) / time_base)
            frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def shapes_video(path: Path, **options: object) -> Path:
    """0-4 s a red circle, 4-8 s a blue star, 8-12 s a green heart."""
    return make_video(
        path,
        [(4, RED_CIRCLE), (4, BLUE_STAR), (4, GREEN_HEART)],
        **options,  # type: ignore[arg-type]
    )
