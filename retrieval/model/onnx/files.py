"""Where a model's towers are kept as ONNX files, and what is recorded about them.

One folder per model under the machine's cache (`onnx/` in
`retrieval.choices.cache_location`, shared by every library: one export per model and
weights, not one per library), named by a key over everything the files depend on (model,
weights, opset, export format), holds `text.onnx`, `image.onnx`
(each with its weights in a `.data` file beside it, aligned so that ONNX Runtime maps them
instead of reading them) and `meta.json`, written last: a folder without it is unfinished.
The meta also holds what the query path needs without torch (logit scale, image input,
context length) and probe vectors computed by torch at export, against which the files'
output is checked before it is trusted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.choices import cache_location
from retrieval.model.demo import DEMO_PRETRAINED, demo_weights_path
from retrieval.model.preprocess import ImageInput, UInt8Array
from retrieval.records import ModelInfo

ONNX_FOLDER = "onnx"
# Where libraries kept their own export before the cache was shared (adopted once).
LIBRARY_ONNX_FOLDER = Path("cache") / "onnx"
META_NAME = "meta.json"
TEXT_FILE, IMAGE_FILE = "text.onnx", "image.onnx"
# The image tower with its weights quantised to int8 (made on demand, --engine onnx-int8).
IMAGE_INT8_FILE = "image-int8.onnx"
# Bumped whenever the exported graphs or the meta change meaning.
EXPORT_VERSION = 2
OPSET = 17
# A text and an image whose torch vectors are stored at export: the files must give the
# same (cosine at least PROBE_MIN_COSINE) before their answers are used. Run alongside
# the first query of a process, so short: every weight of the tower takes part whatever
# the text, and a longer one would only add work and memory to that query.
PROBE_TEXTS = ("a photo of a dog",)
PROBE_MIN_COSINE = 0.9999
# A tower's problem while it is not exported yet (the text tower goes first, at the
# end of indexing's first pass; the image tower later): torch serves it meanwhile, and
# the next export adds it.
TOWER_PENDING = "not exported yet"
# What int8 weights must still give on the probe image (quantisation costs about 1e-4 on
# the models measured; damaged weights give far less).
INT8_MIN_COSINE = 0.99


@dataclass(frozen=True)
class TextInput:
    context_length: int
    # True: the graph takes tokens cut after the last end token (any length); False:
    # always `context_length` tokens.
    trimmed: bool


@dataclass(frozen=True)
class TowersMeta:
    key: str
    model: str
    pretrained: str
    dim: int
    logit_scale: float
    logit_bias: float | None
    # None: that tower was not exported; the problem says why (torch serves it).
    text: TextInput | None
    image: ImageInput | None
    text_problem: str | None = None
    image_problem: str | None = None
    probe_texts: list[list[float]] = field(default_factory=list)
    probe_image: list[float] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> TowersMeta:
        data: dict[str, Any] = json.loads(raw)
        text, image = data.pop("text"), data.pop("image")
        return cls(
            text=TextInput(**text) if text is not None else None,
            image=ImageInput(
                image["size"],
                tuple(image["mean"]),
                tuple(image["std"]),
                image["interpolation"],
            )
            if image is not None
            else None,
            **data,
        )


def weights_fingerprint(info: ModelInfo) -> list[Any]:
    """What identifies the weights: an open_clip tag names fixed published weights; a
    local file is known by its path, size and modification time (hashing a file of
    hundreds of MB on every cold query would cost more than the query)."""
    path = demo_weights_path() if info.pretrained == DEMO_PRETRAINED else None
    if path is None and Path(info.pretrained).is_absolute():
        path = Path(info.pretrained)
    if path is None:
        return [info.pretrained]
    try:
        stat = path.stat()
    except OSError:
        return [str(path), None]
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def towers_key(info: ModelInfo) -> str:
    blob = json.dumps(
        [
            info.name,
            info.pretrained,
            info.dim,
            weights_fingerprint(info),
            OPSET,
            EXPORT_VERSION,
        ]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def towers_folder(info: ModelInfo) -> Path:
    return cache_location() / ONNX_FOLDER / towers_key(info)


def adopt_library_export(library_root: Path, info: ModelInfo) -> None:
    """Move an export a library made for itself (before the cache was shared) into the
    cache if the cache has none, and drop the library's copies: hundreds of MB each."""
    own = library_root / LIBRARY_ONNX_FOLDER
    if not own.is_dir():
        return
    folder = towers_folder(info)
    mine = own / folder.name
    try:
        if read_meta(folder) is None and read_meta(mine) is not None:
            folder.parent.mkdir(parents=True, exist_ok=True)
            discard(folder)
            shutil.move(str(mine), str(folder))
        shutil.rmtree(own)
    except OSError:
        pass  # a read-only library keeps its files; the cache gets its own export


def read_meta(folder: Path) -> TowersMeta | None:
    """The folder's meta if it is complete and made for this key; None otherwise."""
    try:
        meta = TowersMeta.from_json((folder / META_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return meta if meta.key == folder.name else None


def whole(meta: TowersMeta | None) -> bool:
    """Whether an export has every tower it will have (none left to export)."""
    return meta is not None and TOWER_PENDING not in (
        meta.text_problem,
        meta.image_problem,
    )


def discard(folder: Path) -> None:
    """Drop an export (found wrong, or of weights the library no longer uses)."""
    shutil.rmtree(folder, ignore_errors=True)


def probe_image(size: int) -> UInt8Array:
    """A fixed, busy picture at the tower's input size (so resizing plays no part)."""
    y, x = np.mgrid[0:size, 0:size]
    channels = [(x * 7 + y * 13) % 256, (x * y) % 256, (x * 3 - y * 5) % 256]
    return np.stack(channels).astype(np.uint8)
