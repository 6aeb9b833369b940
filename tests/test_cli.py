"""End to end through the real `photosearch` program, on a demo library."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photosearch.demo import shapes
from retrieval.index.vector_index import INDEX_NAME, read_header
from retrieval.store import DATABASE_NAME, Store
from tests.conftest import main_in_fresh_process, run_cli
from tests.helpers import draw


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", str(root), "--images", "120")
    assert result.returncode == 0, result.stderr
    assert "added 123" in result.stdout
    assert 'search "red circles"' in result.stdout
    return root


def captions(demo: Path) -> list[dict[str, str]]:
    with open(demo / "photos" / "captions.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def lib(demo: Path, tmp_path: Path) -> str:
    """A private copy of the demo library, so a test may damage it."""
    copy = tmp_path / "lib"
    shutil.copytree(demo / "library", copy)
    return str(copy)


def status_generation(lib: str) -> int:
    store = Store.open(Path(lib), create=False)
    try:
        return store.generation()
    finally:
        store.close()


def cli_json(*args: str) -> Any:
    result = run_cli(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_search_json_is_best_first_with_path_score_id(demo: Path, lib: str) -> None:
    hits = cli_json("search", "two red circles", "--library", lib, "-k", "5")
    assert isinstance(hits, list) and len(hits) == 5
    assert set(hits[0]) >= {"path", "score", "id"}
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert "two-" in Path(hits[0]["path"]).name and "red-circles" in hits[0]["path"]


def test_search_matches_brute_force_and_k_beyond_library_returns_all(lib: str) -> None:
    hits = cli_json("search", "a green heart", "--library", lib, "-k", "100000")
    store = Store.open(Path(lib), create=False)
    model = store.model_info()
    assert model is not None
    ids, vectors = next(store.iter_vectors(model.dim, chunk=100000))
    store.close()
    assert len(hits) == len(ids)
    from retrieval.model.torch_clip import OpenClipEncoder

    text = OpenClipEncoder(model, "cpu").encode_texts(["a green heart"])[0]
    scores = vectors @ text
    order = np.argsort(-scores, kind="stable")
    np.testing.assert_allclose([h["score"] for h in hits], scores[order], atol=1e-5)
    assert {h["id"] for h in hits[:10]} == set(ids[order][:10].tolist()) or np.isclose(
        scores[order][9], scores[order][10], atol=1e-6
    )


def test_human_output_and_filters(demo: Path, lib: str) -> None:
    result = run_cli(
        "search",
        "a star",
        "--library",
        lib,
        "-k",
        "3",
        "--in",
        str(demo / "photos" / "copies"),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert 1 <= len(lines) <= 3 and all("/copies/" in line for line in lines)
    high = cli_json("search", "a star", "--library", lib, "--min-score", "0.99")
    assert high == []


def test_combined_query_with_negative_term(lib: str) -> None:
    def reds(*terms: str) -> int:
        """How many of the top 10 show something red (the file names say)."""
        hits = cli_json("search", "a red circle", *terms, "--library", lib, "-k", "10")
        assert len(hits) == 10
        return sum("red" in Path(h["path"]).name for h in hits)

    plain = reds()
    assert plain >= 5  # the query alone finds red things...
    assert reds("-red") < plain  # ...and steering away from red finds fewer
    assert reds("-2:red", "+2:blue") < plain
    # After --, a term may look like an option (so the options go before it).
    after = run_cli(
        "search", "--library", lib, "-k", "10", "--json", "a red circle", "--", "-red"
    )
    assert after.returncode == 0, after.stderr
    assert sum("red" in Path(h["path"]).name for h in json.loads(after.stdout)) == reds(
        "-red"
    )


def test_a_mistyped_option_is_an_error_not_a_term(lib: str) -> None:
    """An option the command does not have never becomes a subtracted term (which
    would change the answer and exit 0): it is named, with what was meant."""
    for args in (
        ["--colour", "blue"],
        ["red", "--colour"],
        ["--colour=blue", "red"],
        ["red", "-x"],
    ):
        result = run_cli("search", *args, "--library", lib)
        assert result.returncode == 2, (args, result.stdout)
        assert result.stdout == ""
        name = args[0] if args[0].startswith("-") else args[1]
        assert f"unknown option {name.split('=')[0]}" in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    near_miss = run_cli("search", "red", "--plac", "Lisbon", "--library", lib)
    assert near_miss.returncode == 2 and "did you mean --place?" in near_miss.stderr


def test_similar_finds_the_resized_copy(demo: Path, lib: str) -> None:
    original = next((demo / "photos").glob("0000-*"))
    hits = cli_json("similar", str(original), "--library", lib, "-k", "1")
    assert Path(hits[0]["path"]).name == f"{original.stem}-small.jpg"


def test_describe_ranks_the_true_caption_first(demo: Path, lib: str) -> None:
    rows = captions(demo)
    row = next(
        r
        for r in rows
        if r["count"] == "1"
        and "-large-" in r["path"]
        and (r["shape"], r["color"]) not in shapes.HELD_OUT
    )
    texts = [
        f"a {row['color']} {shape}"
        for shape in ("circle", "square", "triangle", "star", "heart", "cross")
    ]
    ranked = cli_json(
        "describe",
        str(demo / "photos" / row["path"]),
        "--library",
        lib,
        *[a for t in texts for a in ("--text", t)],
    )
    assert ranked[0]["text"] == f"a {row['color']} {row['shape']}"
    assert abs(sum(r["probability"] for r in ranked) - 1) < 1e-4


def test_tag_then_list_export_and_filter(demo: Path, lib: str, tmp_path: Path) -> None:
    labels = tmp_path / "shapes.txt"
    labels.write_text("circle\nsquare\ntriangle\nstar\nheart\ncross\n# comment\n\n")
    result = run_cli("tag", "--labels", str(labels), "--library", lib)
    assert result.returncode == 0, result.stderr
    assert "label set 'shapes'" in result.stdout
    tags = cli_json("tags", "--library", lib)
    assert tags and {"path", "label", "score", "label_set"} <= set(tags[0])
    truth = {r["path"]: r["shape"] for r in captions(demo)}
    right = sum(truth.get(Path(t["path"]).name) == t["label"] for t in tags)
    assert right / len(tags) > 0.8
    exported = run_cli("tags", "--csv", "--library", lib)
    rows = list(csv.reader(io.StringIO(exported.stdout)))
    assert rows[0] == [
        "id",
        "path",
        "label_set",
        "label",
        "score",
        "assigned",
        "ranges",  # a video's: where in it the label shows
    ]
    assert len(rows) == len(tags) + 1
    assert all(row[-1] == "" for row in rows[1:])  # photos only
    stars = cli_json(
        "search", "a shape", "--tag", "star", "--library", lib, "-k", "1000"
    )
    tagged_star = {t["path"] for t in tags if t["label"] == "star"}
    assert stars and {h["path"] for h in stars} == tagged_star
    sets = cli_json("labelsets", "--library", lib)
    assert sets[0]["name"] == "shapes" and len(sets[0]["labels"]) == 6


def test_duplicates_group_copies_with_their_originals(lib: str) -> None:
    groups = cli_json("duplicates", "--library", lib, "--threshold", "0.97")
    names = [sorted(Path(m["path"]).stem for m in g) for g in groups]
    for i in range(3):
        assert any(
            any(n.startswith(f"{i:04d}-") and n.endswith("-small") for n in group)
            and any(
                n.startswith(f"{i:04d}-") and not n.endswith("-small") for n in group
            )
            for group in names
        ), names


def test_status_json(lib: str) -> None:
    status = cli_json("status", "--library", lib)
    assert status["images"] == 123 and status["failed"] == 0
    assert status["model"] == "demo" and status["index_type"] == "flat"
    assert status["vectors"] == 123
    assert status["index_bytes"] > 0
    # Every analyzer has looked at every photo.
    done = {"done": 123, "failed": 0, "pending": 0, "analysed": 123, "of": 123}
    assert status["analyses"]["clip"] == {**done, "enabled": True}
    assert status["analyses"]["exif"] == {**done, "enabled": True}
    shown = run_cli("status", "--library", lib)
    assert "searchable (CLIP): 123 done" in shown.stdout
    assert "EXIF: 123 done" in shown.stdout


def test_index_again_encodes_nothing(demo: Path, lib: str) -> None:
    result = run_cli("index", str(demo / "photos"), "--library", lib)
    assert result.returncode == 0, result.stderr
    assert (
        "added 0, updated 0, moved 0, removed 0, failed 0, unchanged 123"
        in result.stdout
    )


def test_index_again_with_the_model_named_loads_no_model(demo: Path, lib: str) -> None:
    """Naming the library's own model must not cost an import of torch and open_clip
    (seconds) when nothing needs encoding."""
    for extra in (
        [],
        ["--model", "demo"],
        ["--model", "demo", "--pretrained", "photosearch-demo"],
    ):
        output, imported_torch = main_in_fresh_process(
            "index", str(demo / "photos"), "--library", lib, *extra
        )
        assert "unchanged 123" in output, output
        assert not imported_torch, extra


def test_corrupt_faiss_file_is_rebuilt(demo: Path, lib: str) -> None:
    index_file = Path(lib) / INDEX_NAME
    index_file.write_bytes(b"garbage")
    hits = cli_json("search", "a red star", "--library", lib, "-k", "3")
    assert len(hits) == 3  # answered from an index rebuilt in memory
    assert index_file.read_bytes() == b"garbage"  # a search only reads the library
    result = run_cli("index", str(demo / "photos"), "--library", lib)
    assert result.returncode == 0, result.stderr
    header = read_header(index_file)
    assert header is not None and header[0] == status_generation(lib)
    assert cli_json("search", "a red star", "--library", lib, "-k", "3") == hits


def test_commands_that_need_no_model_do_not_import_torch(lib: str) -> None:
    for command in (["status"], ["tags"], ["failures"]):
        output, imported_torch = main_in_fresh_process(*command, "--library", lib)
        assert not imported_torch, command
        assert output or command != ["status"]
    _, imported_torch = main_in_fresh_process("--help")
    assert not imported_torch


BAD_INPUTS = [
    (["index", "/no/such/folder"], "/no/such/folder does not exist"),
    (["search", "  "], "empty query"),
    (["search", "cat", "-k", "0"], "must be at least 1"),
    (["search", "cat", "--model", "ViT-B-31"], "unknown model 'ViT-B-31'"),
    (["search", "cat", "--model", "ViT-B-32"], "--reencode"),
    (
        ["search", "cat", "--pretrained", "/no/weights.safetensors"],
        "/no/weights.safetensors not found",
    ),
    (["tag", "--labels", "/no/labels.txt"], "labels file /no/labels.txt not found"),
    (["similar", "/no/image.jpg"], "image /no/image.jpg not found"),
    (["search", "cat", "--tag", "unicorn"], "no label 'unicorn'"),
    (["describe", "/no/image.jpg", "--text", "x"], "not found"),
    (["search", "cat", "+"], "unrecognized arguments: +"),
    (["search", "cat", "--min-score", "x"], "invalid float value"),
]


@pytest.mark.parametrize(
    ("args", "message"), BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS]
)
def test_bad_input_gives_one_clear_line(
    lib: str, args: list[str], message: str
) -> None:
    before = (
        sqlite3.connect(Path(lib) / DATABASE_NAME)
        .execute("select count(*) from images")
        .fetchone()
    )
    result = run_cli(*args, "--library", lib)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in result.stderr
    after = (
        sqlite3.connect(Path(lib) / DATABASE_NAME)
        .execute("select count(*) from images")
        .fetchone()
    )
    assert before == after


def test_missing_library_says_how_to_make_one(tmp_path: Path) -> None:
    result = run_cli("search", "cat", "--library", str(tmp_path / "empty"))
    assert result.returncode == 2
    assert "photosearch index DIR" in result.stderr and "Traceback" not in result.stderr


def test_index_with_a_bad_file_reports_it_and_continues(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    draw(photos / "good.png", (200, 10, 10), fmt="PNG")
    (photos / "bad.jpg").write_bytes(b"\xff\xd8\xff truncated")
    lib = str(tmp_path / "lib")
    result = run_cli("index", str(photos), "--library", lib, "--model", "demo")
    assert result.returncode == 0, result.stderr
    assert "added 1" in result.stdout and "failed 1" in result.stdout
    failures = cli_json("failures", "--library", lib)
    assert [Path(f["path"]).name for f in failures] == ["bad.jpg"]
