"""The towers as ONNX files: equal to torch (three architecture families), the query path
without torch, and files that are damaged or stale never trusted."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from PIL import Image

from photosearch.warm.answer import run_request
from retrieval.library import Library
from retrieval.model.demo import open_clip_module
from retrieval.model.factory import resolve_model
from retrieval.model.onnx.export import export_towers
from retrieval.model.onnx.fallback import OnnxFirstEncoder
from retrieval.model.onnx.files import (
    IMAGE_FILE,
    META_NAME,
    TEXT_FILE,
    read_meta,
    towers_folder,
    whole,
)
from retrieval.model.onnx.runtime import OnnxEncoder
from retrieval.model.preprocess import ImageInput
from retrieval.model.thread import SerialEncoder
from retrieval.model.torch_clip import OpenClipEncoder
from retrieval.records import ModelInfo
from retrieval.settings import Settings
from tests.conftest import index_with_demo, main_in_fresh_process, run_cli
from tests.helpers import draw, query_request, wait_for

TEXTS = [
    "a photo of a dog",
    "A RED CAR parked by the sea at night, seen from above",
    "東京の夜景 🙂🎉",
    "café crème &amp; <b>croissant</b>",
    "x",
    " ".join(["a very long caption that goes on"] * 20),  # past the context length
]


def _pictures(count: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    sizes = [(64, 64), (300, 200), (123, 457), (1, 1), (65, 63), (1024, 31)]
    pictures = []
    for i in range(count):
        width, height = sizes[i % len(sizes)]
        array = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        picture = Image.fromarray(array)
        # Smooth shapes too, so that resizing has structure to get wrong.
        if i % 2:
            picture = picture.resize((max(1, width // 8), max(1, height // 8))).resize(
                (width, height), Image.Resampling.BILINEAR
            )
        pictures.append(picture)
    return pictures


def _random_weights(name: str, folder: Path) -> ModelInfo:
    import torch
    from safetensors.torch import save_file

    open_clip = open_clip_module()
    torch.manual_seed(0)
    model = open_clip.create_model(name, pretrained=None)
    path = folder / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return resolve_model(name, str(path))


def _inner(library: Library) -> Any:
    """The encoder inside the library's model-thread wrapper."""
    return cast(SerialEncoder, library.encoder).inner


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


@pytest.mark.parametrize("name", ["demo", "ViT-B-32", "RN50"])
def test_onnx_towers_equal_torch(name: str, tmp_path: Path) -> None:
    """ViT (demo, ViT-B-32) and ResNet (RN50) towers: the same unit vectors from ONNX
    Runtime as from torch, for texts of every kind and images of every shape."""
    info = (
        resolve_model("demo", None)
        if name == "demo"
        else _random_weights(name, tmp_path)
    )
    torch_encoder = OpenClipEncoder(info, "cpu")
    meta = export_towers(torch_encoder)
    assert meta.text is not None and meta.image is not None
    folder = towers_folder(info)
    onnx = OnnxEncoder(folder, meta, info, one_shot=True)
    assert onnx.image_size == torch_encoder.image_size
    assert onnx.logit_scale == pytest.approx(torch_encoder.logit_scale)

    texts = TEXTS if name == "demo" else TEXTS[:4]
    got, want = onnx.encode_texts(texts), torch_encoder.encode_texts(texts)
    assert _cosines(got, want).min() >= 0.9999
    # One at a time (another trimmed length) gives the same vectors again.
    alone = np.stack([onnx.encode_texts([t])[0] for t in texts[:2]])
    assert _cosines(alone, want[:2]).min() >= 0.9999

    pictures = _pictures(6 if name == "demo" else 3)
    for picture in pictures:
        np.testing.assert_array_equal(
            onnx.prepare(picture), torch_encoder.prepare(picture)
        )
    got, want = onnx.encode_images(pictures), torch_encoder.encode_images(pictures)
    assert _cosines(got, want).min() >= 0.9999


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "I;16"])
def test_preprocessing_without_torch_is_open_clips_pixel_for_pixel(mode: str) -> None:
    torch_encoder = OpenClipEncoder(resolve_model("demo", None), "cpu")
    config = dict(torch_encoder.model.visual.preprocess_cfg)
    for size in (64, 224):
        image_input = ImageInput.from_open_clip({**config, "size": (size, size)})
        assert image_input is not None
        transform = open_clip_module().image_transform(
            size, is_train=False, mean=image_input.mean, std=image_input.std
        )
        from retrieval.model.transform import split_transform

        reference = split_transform(transform)
        for picture in _pictures(6, seed=size):
            converted = picture.convert(mode)
            np.testing.assert_array_equal(
                image_input.pixels(converted), reference.pixels(converted)
            )
            np.testing.assert_array_equal(
                image_input.batch([image_input.pixels(converted)]),
                reference.batch([reference.pixels(converted)], "cpu").numpy(),
            )


def test_other_transforms_are_left_to_torch() -> None:
    base = {"size": 224, "mean": (0.5,) * 3, "std": (0.5,) * 3}
    assert ImageInput.from_open_clip(base) is not None
    for change in (
        {"resize_mode": "squash"},
        {"resize_mode": "longest"},
        {"size": (224, 256)},
        {"interpolation": "lanczos"},
    ):
        assert ImageInput.from_open_clip({**base, **change}) is None


@pytest.fixture(autouse=True)
def onnx_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOSEARCH_ENGINE", "auto")


@pytest.fixture(scope="module")
def indexed_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo library for the module (indexing and exporting take seconds); tests
    copy it."""
    base = tmp_path_factory.mktemp("onnx-demo")
    rng = random.Random(3)
    photos = base / "photos"
    for i in range(24):
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw(photos / f"p{i:02d}.png", color, size=rng.choice([48, 64, 96]))
    env = {
        "PHOTOSEARCH_ENGINE": "auto",
        "PHOTOSEARCH_EXPORT": "wait",
        "PHOTOSEARCH_CACHE": str(base / "cache"),
    }
    index_with_demo(photos, base / "library", env=env)
    return base


@pytest.fixture
def demo_library(
    indexed_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of the module's library, and of the machine cache with its export."""
    cache = shutil.copytree(indexed_demo / "cache", tmp_path / "demo-cache")
    monkeypatch.setenv("PHOTOSEARCH_CACHE", str(cache))
    return Path(shutil.copytree(indexed_demo / "library", tmp_path / "demo-library"))


def test_index_exports_the_towers_and_queries_never_import_torch(
    demo_library: Path, tmp_path: Path
) -> None:
    info = resolve_model("demo", None)
    assert read_meta(towers_folder(info)) is not None
    outside = draw(tmp_path / "outside.jpg", (200, 30, 30), size=80)
    lib = ["--library", str(demo_library)]
    for command in (
        ["search", "a red square", "--json"],
        ["similar", str(outside), "--json"],
        ["describe", str(outside), "--text", "red", "--text", "blue", "--json"],
        ["search", "red", "+" + str(outside), "--json"],
    ):
        output, imported_torch = main_in_fresh_process(*command, *lib)
        assert output.startswith("["), output
        assert not imported_torch, command


def test_onnx_and_torch_answer_the_same_top_10(demo_library: Path) -> None:
    settings = Settings(library=demo_library)
    queries = [
        f"a {size} {color} {shape}"
        for size in ("small", "large")
        for color in ("red", "green", "blue", "yellow", "purple")
        for shape in ("circle", "square", "star", "heart", "cross")
    ]
    assert len(queries) == 50

    def answers(library: Library) -> list[list[int]]:
        return [
            [row["id"] for row in run_request(library, query_request("search", q, "/"))]
            for q in queries
        ]

    with Library.open(settings, writer=False, cold=True) as library:
        assert isinstance(_inner(library), OnnxFirstEncoder)
        assert _inner(library).engine == "onnx"
        with_onnx = answers(library)
    with Library.open(settings, writer=False) as library:
        assert isinstance(_inner(library), OpenClipEncoder)
        with_torch = answers(library)
    assert with_onnx == with_torch


@pytest.mark.parametrize(
    "damage", ["weights", "truncated-graph", "missing-weights", "stale-key", "bad-meta"]
)
def test_damaged_or_stale_export_is_never_trusted(
    demo_library: Path, damage: str
) -> None:
    """A damaged file is found out (it does not load, or its probe vectors are not the
    model's), the query is answered by torch all the same, and the export is made anew."""
    settings = Settings(library=demo_library)
    with Library.open(settings, writer=False) as library:
        expected = [
            row["id"]
            for row in run_request(library, query_request("search", "a blue star", "/"))
        ]
    info = resolve_model("demo", None)
    folder = towers_folder(info)
    if damage == "weights":
        data = folder / (TEXT_FILE + ".data")
        raw = bytearray(data.read_bytes())
        for i in range(0, len(raw), 4099):
            raw[i] ^= 0x5A
        data.write_bytes(bytes(raw))
    elif damage == "truncated-graph":
        graph = folder / IMAGE_FILE
        graph.write_bytes(graph.read_bytes()[:100])
        (folder / TEXT_FILE).write_bytes((folder / TEXT_FILE).read_bytes()[:100])
    elif damage == "missing-weights":
        (folder / (TEXT_FILE + ".data")).unlink()
    elif damage == "stale-key":
        meta_file = folder / META_NAME
        meta_file.write_text(meta_file.read_text().replace(folder.name, "0" * 20))
    else:
        (folder / META_NAME).write_text("{not json")
    with Library.open(settings, writer=False, cold=True) as library:
        rows = run_request(library, query_request("search", "a blue star", "/"))
        assert [row["id"] for row in rows] == expected
    # The export is made again by a process of its own: the query did not wait for it.
    wait_for(lambda: read_meta(folder) is not None, timeout=120)
    meta = read_meta(folder)
    assert meta is not None and meta.key == folder.name
    with Library.open(settings, writer=False, cold=True) as library:
        assert _inner(library).engine == "onnx"
        rows = run_request(library, query_request("search", "a blue star", "/"))
        assert [row["id"] for row in rows] == expected


@pytest.mark.parametrize("engine", ["onnx", "onnx-int8"])
def test_indexing_with_onnx_runtime(tmp_path: Path, engine: str) -> None:
    """`--engine onnx` indexes with ONNX Runtime (exporting the towers first), and
    `onnx-int8` with int8 image weights: the same vectors as torch's (int8: nearly), and
    the same answers."""
    from retrieval.store import Store

    rng = random.Random(7)
    photos = tmp_path / "photos"
    for i in range(12):
        draw(photos / f"p{i:02d}.png", (rng.randrange(256), 90, rng.randrange(256)))
    vectors = {}
    for name in ("torch", engine):
        library = tmp_path / name
        index_with_demo(photos, library, "--engine", name)
        store = Store.open(library, create=False)
        ids = sorted(store.meta([*range(1, 13)]))
        paths = [store.meta([i])[i].path for i in ids]
        vectors[name] = dict(zip(paths, store.vectors(ids, 128), strict=True))
        store.close()
    assert read_meta(towers_folder(resolve_model("demo", None)))
    cosines = [float(v @ vectors[engine][p]) for p, v in vectors["torch"].items()]
    if engine == "onnx-int8":
        assert 0.99 <= min(cosines) < 0.99999  # int8 weights: close, not the same
    else:
        assert min(cosines) >= 0.9999
    # With the towers exported, indexing runs without torch at all.
    lib = ["--library", str(tmp_path / engine)]
    output, imported_torch = main_in_fresh_process(
        "index", str(photos), *lib, "--reencode", "--engine", engine
    )
    assert "failed 0" in output and not imported_torch, output
    found = run_cli(
        "search", "a red square", "--library", str(tmp_path / engine), "--json"
    )
    assert found.returncode == 0 and found.stdout.startswith("["), found.stderr


def test_onnx_engines_run_on_the_cpu() -> None:
    from retrieval.errors import UsageError

    with pytest.raises(UsageError, match="--engine onnx runs on the CPU"):
        Settings(engine="onnx", device="cuda").validated()
    with pytest.raises(UsageError, match="unknown engine 'tensorrt'"):
        Settings(engine="tensorrt").validated()


def test_the_first_index_returns_before_the_export_and_the_cache_is_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`index` returns once its photos are searchable and the export follows in a
    process of its own, into the machine's cache; a second library of the same model
    finds it there, exports nothing and queries without torch from the start; a library
    that kept its own export (before the cache) has it moved into the cache."""
    photos = tmp_path / "photos"
    for i in range(6):
        draw(photos / f"p{i}.png", (40 * i, 200, 30))
    monkeypatch.setenv("PHOTOSEARCH_CACHE", str(tmp_path / "machine-cache"))
    folder = towers_folder(resolve_model("demo", None))
    index_with_demo(photos, tmp_path / "first")
    # The text tower was exported as the photos became searchable; the job exporting
    # both towers holds the export's lock from its start (or has finished already).
    assert read_meta(folder) is not None
    wait_for(lambda: (folder.parent / f"{folder.name}.lock").exists(), timeout=30)
    wait_for(lambda: whole(read_meta(folder)), timeout=120)
    assert not (tmp_path / "first" / "cache" / "onnx").exists()
    made = (folder / META_NAME).stat().st_mtime_ns

    second = ["--library", str(tmp_path / "second")]
    index_with_demo(photos, tmp_path / "second")
    output, imported_torch = main_in_fresh_process(
        "search", "a green square", *second, "--json"
    )
    assert output.startswith("[") and not imported_torch, output
    assert (folder / META_NAME).stat().st_mtime_ns == made  # not exported again

    # A library with its own export, from before the cache: adopted, its copy dropped.
    own = tmp_path / "second" / "cache" / "onnx"
    own.mkdir(parents=True)
    shutil.move(str(folder), str(own / folder.name))
    output, imported_torch = main_in_fresh_process(
        "search", "a green square", *second, "--json"
    )
    assert output.startswith("[") and not imported_torch, output
    assert read_meta(folder) is not None and not own.exists()


def test_one_export_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While one process exports a model, another neither exports it nor starts a job
    for it; a failed export is not retried at every query."""
    from retrieval.model.onnx import job
    from retrieval.model.onnx.fallback import export_for

    monkeypatch.setenv("PHOTOSEARCH_CACHE", str(tmp_path / "cache"))
    info = resolve_model("demo", None)
    folder = towers_folder(info)
    with job.export_lock(folder) as mine:
        assert mine and job.exporting(folder)
        export_for(OpenClipEncoder(info, "cpu"))
        assert read_meta(folder) is None
        assert not job.start_background_export(info)
    assert not job.exporting(folder)
    job.record_failure(folder, OSError("No space left on device"))
    assert not job.start_background_export(info)
