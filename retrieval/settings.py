"""All settings in one place: defaults, overridden by PHOTOSEARCH_* variables, then by options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from retrieval.choices import DEVICES, ENGINES, EXPORTS, INDEX_TYPES, library_location
from retrieval.errors import UsageError

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "laion2b_s34b_b79k"


def _default_library() -> Path:
    return library_location()


@dataclass(frozen=True)
class Settings:
    # Directory holding the SQLite database and the FAISS index.
    library: Path = field(default_factory=_default_library)
    # The library's tables in another database (SQLAlchemy URL, e.g.
    # postgresql+psycopg://user:password@host/photos) instead of SQLite in `library`,
    # which then keeps the FAISS index only.
    database: str | None = None
    # open_clip architecture; None means the library's own model, else DEFAULT_MODEL.
    model: str | None = None
    # open_clip pretrained tag or a local weights file; None: as for `model`.
    pretrained: str | None = None
    # auto picks cuda, then mps, then cpu.
    device: str = "auto"
    # Images per forward pass of the image tower; 0 picks 128 on a GPU, 32 on a CPU.
    batch_size: int = 0
    # Threads decoding images ahead of the model; 0 means one per CPU core.
    decode_workers: int = 0
    # Images with more pixels than this are refused as decompression bombs.
    max_pixels: int = 250_000_000
    # Vector index: "auto" picks exact search while it is fast and fits the memory budget,
    # else an approximate IVF index tuned to `index_recall` (8-bit codes while they fit
    # the budget and the vectors have cluster structure, else 4-bit product codes whose
    # best candidates are re-ranked exactly: "pq"); "flat", "ivf" or "pq" force one.
    index_type: str = "auto"
    # Largest library searched exactly by "auto" (a flat scan of 250k is ~15 ms on 2 cores).
    flat_max_vectors: int = 250_000
    # Memory the vector index may take, in MB (flat: 4 bytes per dimension per image,
    # ivf: 1, pq: 1/4).
    index_memory_mb: int = 2048
    # recall@10 against exact search that an approximate index is tuned to reach.
    index_recall: float = 0.95
    # A filtered search (folder, tag, dates) on an approximate index that leaves at most
    # this many images scores them exactly from their stored vectors.
    exact_filter_max: int = 20_000
    # Days an image whose file disappeared stays in the trash before it goes for good.
    trash_days: float = 30.0
    # The watch daemon: seconds of quiet before changes are indexed; polling instead of
    # native events (network drives); a full rescan now and then (events the kernel
    # dropped); how often roots are looked at (a drive unplugged or back).
    debounce: float = 1.0
    poll: bool = False
    rescan_interval: float = 3600.0
    root_check_interval: float = 5.0
    # Photos at least this many times wider than tall (or taller than wide) are also
    # encoded as overlapping squares along the long side (retrieval.media.views); 0: never.
    # 1.6 takes in 16:9 and panoramas, not 3:2 or 4:3.
    views_aspect: float = 1.6
    # Tiles: also encode a grid of squares a `tiles`-th of the short side wide (2: four
    # tiles for a square photo), so that small things in large photos are found; 0: off.
    # Only photos whose tiles keep the model's input resolution get them.
    tiles: int = 0
    # Videos (retrieval.media.video.sample): indexed as moments, a frame at least every
    # `video_interval` seconds and wherever at least `video_scene` of the picture changed
    # since the last one (0-1; 1: on the interval only); `videos` off: photos only.
    videos: bool = True
    # Faces (retrieval.faces): found in every photo and video moment, grouped into
    # persons; off: none are looked for (those found before stay until
    # `photosearch people --forget`).
    faces: bool = True
    # The long side, in pixels, of the copy faces are looked for in: a face is found
    # from about a twelfth of it (80 px), whatever the photo's size. Twice the side finds
    # faces half as large, at four times the cost (data/faces/EVAL.md).
    face_side: int = 1024
    # Text in photos (retrieval.text): read in every photo and video moment; off: none
    # is read (what was read before stays searchable).
    text: bool = True
    # The long side, in pixels, of the copy text is read in, where a first look (a
    # detection on a 640-pixel copy) found any: words from about a fortieth of a photo's
    # height are read (40 px at 12 MP); twice the side reads print half as tall, at
    # about four times the cost (data/text/EVAL.md).
    text_side: int = 1536
    # What other photo programs wrote (retrieval.metadata: XMP embedded and in sidecars,
    # IPTC, Google Takeout's JSON): read for every photo; off: none is read (what was
    # read before stays).
    metadata: bool = True
    video_interval: float = 2.0
    video_scene: float = 0.1
    # Cosine similarity above which two images count as near-duplicates.
    duplicate_threshold: float = 0.95
    # Zero-shot tagging: a label is assigned when its probability (that the photo shows
    # it; over the set for exclusive sets) reaches this, among the `tag_top` most probable.
    tag_threshold: float = 0.5
    tag_top: int = 5
    # `photosearch serve`: a token every request must carry (None: none needed), and the
    # largest image that may be uploaded to search by, in MB.
    token: str | None = None
    upload_max_mb: int = 32
    # What runs the model. auto: torch indexes (the faster engine on the CPUs measured;
    # see docs/performance.md), and the towers are exported to ONNX after `index` (into
    # the machine's cache, once per model: retrieval.model.onnx.files) so that queries
    # without a daemon run them with ONNX Runtime, without importing torch.
    # torch: torch for everything, no export. onnx: ONNX Runtime indexes too (on the
    # CPU). onnx-int8: as onnx, with the image tower's weights quantised to int8 for
    # indexing (about twice as fast on a CPU, answers a little less exact).
    engine: str = "auto"
    # When that export runs (retrieval.model.onnx.job). background: a process of its own
    # at low priority, so that `index` returns once its photos are searchable (a query
    # before it is done is answered by torch, seconds, and never waits for it). wait: the
    # command exports before it returns (scripts that query at once, many times).
    export: str = "background"
    # `index --ray`: the photos and videos are decoded and encoded by workers of a Ray
    # cluster ("local": one started on this machine for the run; else the address of a
    # running one, as `ray start --head` printed it); None: in this process. Each worker
    # holds a model and takes a GPU when the cluster has them, else `ray_worker_cpus`.
    ray: str | None = None
    ray_worker_cpus: int = 2

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, library: Path | None = None
    ) -> Settings:
        """`library`: one given on the command line, which wins over the variable (and
        spares finding the default folder, a warm query's few milliseconds)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {"library": library_location(library, env)}
        for name in (
            "model",
            "pretrained",
            "device",
            "index_type",
            "token",
            "engine",
            "export",
            "database",
            "ray",
        ):
            if env.get(f"PHOTOSEARCH_{name.upper()}"):
                values[name] = env[f"PHOTOSEARCH_{name.upper()}"]
        for name, kind in (
            ("batch_size", int),
            ("decode_workers", int),
            ("max_pixels", int),
            ("duplicate_threshold", float),
            ("views_aspect", float),
            ("tiles", int),
            ("video_interval", float),
            ("video_scene", float),
            ("tag_threshold", float),
            ("tag_top", int),
            ("flat_max_vectors", int),
            ("index_memory_mb", int),
            ("index_recall", float),
            ("upload_max_mb", int),
            ("exact_filter_max", int),
            ("ray_worker_cpus", int),
            ("face_side", int),
            ("text_side", int),
            ("trash_days", float),
            ("debounce", float),
            ("rescan_interval", float),
            ("root_check_interval", float),
        ):
            raw = env.get(f"PHOTOSEARCH_{name.upper()}")
            if raw:
                try:
                    values[name] = kind(raw)
                except ValueError:
                    raise UsageError(
                        f"PHOTOSEARCH_{name.upper()}={raw!r} is not a valid {kind.__name__}: "
                        "fix or unset the variable"
                    ) from None
        for name in ("poll", "videos", "faces", "text", "metadata"):
            variable = f"PHOTOSEARCH_{name.upper()}"
            flag = env.get(variable, "").strip().lower()
            if flag:
                if flag not in ("1", "0", "true", "false", "yes", "no"):
                    raise UsageError(
                        f"{variable}={env[variable]!r} is not 1 or 0: fix or unset the "
                        "variable"
                    )
                values[name] = flag in ("1", "true", "yes")
        return cls(**values).validated()

    @classmethod
    def effective(cls) -> Settings:
        """The defaults as the environment sets them, for help texts; the plain defaults
        if the environment is broken (the command itself then says what is wrong)."""
        try:
            return cls.from_env()
        except UsageError:
            return cls()

    def with_options(self, **options: Any) -> Settings:
        """A copy with the options that were given (None means not given)."""
        given = {k: v for k, v in options.items() if v is not None}
        return replace(self, **given).validated()

    def validated(self) -> Settings:
        if self.device not in DEVICES:
            raise UsageError(
                f"unknown device {self.device!r}: choose one of {', '.join(DEVICES)}"
            )
        if self.engine not in ENGINES:
            raise UsageError(
                f"unknown engine {self.engine!r}: choose one of {', '.join(ENGINES)}"
            )
        if self.export not in EXPORTS:
            raise UsageError(
                f"PHOTOSEARCH_EXPORT={self.export!r} is not one of {', '.join(EXPORTS)}: "
                "fix or unset it"
            )
        if self.engine.startswith("onnx") and self.device in ("cuda", "mps"):
            raise UsageError(
                f"--engine {self.engine} runs on the CPU: use --engine torch with "
                f"--device {self.device}"
            )
        if self.ray_worker_cpus < 1:
            raise UsageError(
                f"Ray worker CPUs {self.ray_worker_cpus} must be at least 1: fix "
                "PHOTOSEARCH_RAY_WORKER_CPUS"
            )
        if self.batch_size < 0:
            raise UsageError(
                f"batch size {self.batch_size} must be at least 1 (or 0: auto)"
            )
        if self.decode_workers < 0:
            raise UsageError(
                f"decode workers {self.decode_workers} must not be negative"
            )
        if not 0.0 <= self.tag_threshold <= 1.0:
            raise UsageError(
                f"tag threshold {self.tag_threshold} must be between 0 and 1"
            )
        if self.index_type not in INDEX_TYPES:
            raise UsageError(
                f"unknown index type {self.index_type!r}: choose one of {', '.join(INDEX_TYPES)}"
            )
        if not 0.0 < self.index_recall <= 1.0:
            raise UsageError(f"index recall {self.index_recall} must be in (0, 1]")
        if self.views_aspect != 0 and not 1.0 < self.views_aspect <= 100.0:
            raise UsageError(
                f"views aspect {self.views_aspect} must be over 1 (how many times wider "
                "than tall a photo must be to get more views), or 0 for never"
            )
        if self.tiles not in (0, 1, 2, 3):
            raise UsageError(
                f"tiles {self.tiles} must be 2 or 3 (a grid of 2x2 or 3x3), or 0 for none"
            )
        if not 0.1 <= self.video_interval <= 3600:
            raise UsageError(
                f"video interval {self.video_interval} must be between 0.1 and 3600 "
                "seconds (how often a video is sampled at the least)"
            )
        if not 0.0 < self.video_scene <= 1.0:
            raise UsageError(
                f"video scene change {self.video_scene} must be over 0 and at most 1 "
                "(the share of the picture that must change for a new moment)"
            )
        if self.tag_top < 1:
            raise UsageError(f"--top {self.tag_top} must be at least 1")
        if self.exact_filter_max < 0:
            raise UsageError(
                f"exact filter size {self.exact_filter_max} must not be negative"
            )
        for name in ("debounce", "rescan_interval", "root_check_interval"):
            if getattr(self, name) < 0:
                raise UsageError(f"{name} {getattr(self, name)} must not be negative")
        if not 0.0 <= self.duplicate_threshold <= 1.0:
            raise UsageError(
                f"duplicate threshold {self.duplicate_threshold} must be between 0 and 1"
            )
        if self.trash_days < 0:
            raise UsageError(f"trash days {self.trash_days} must not be negative")
        if not 256 <= self.face_side <= 8192:
            raise UsageError(
                f"face side {self.face_side} must be between 256 and 8192 pixels: fix "
                "PHOTOSEARCH_FACE_SIDE"
            )
        if not 640 <= self.text_side <= 8192:
            raise UsageError(
                f"text side {self.text_side} must be between 640 and 8192 pixels: fix "
                "PHOTOSEARCH_TEXT_SIDE"
            )
        if self.upload_max_mb < 1:
            raise UsageError(f"upload limit {self.upload_max_mb} MB must be at least 1")
        return self


def batch_size_for(settings: Settings, device: str) -> int:
    """The batch size to use on `device`: big batches keep a GPU busy, small ones keep a
    CPU's memory and latency low."""
    if settings.batch_size:
        return settings.batch_size
    return 128 if device == "cuda" else 32
