from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.pipeline import index_folders
from photosearch.cli import build_parser, split_query_terms
from retrieval.errors import UsageError
from retrieval.library import Library
from retrieval.search.filters import Filters
from retrieval.search.search import SearchOptions, search
from retrieval.search.terms import QueryTerm, parse_box, parse_extra_terms, parse_term
from retrieval.search.vectors import query_vector
from retrieval.vectors import l2_normalize
from tests.helpers import draw


def test_split_query_terms_sets_aside_plus_and_minus_terms() -> None:
    parser = build_parser()
    argv = [
        "search",
        "a cat",
        "-dog",
        "-k",
        "5",
        "+2:sofa",
        "--json",
        "-0.5:a blurry photo",
    ]
    kept, terms = split_query_terms(parser, argv)
    assert kept == ["search", "a cat", "-k", "5", "--json"]
    assert terms == ["-dog", "+2:sofa", "-0.5:a blurry photo"]
    args = parser.parse_args(kept)
    assert (args.query, args.top, args.json) == ("a cat", 5, True)


def test_short_verbose_is_an_option_not_a_query_term() -> None:
    parser = build_parser()
    kept, terms = split_query_terms(parser, ["search", "a cat", "-v", "-dog"])
    assert (kept, terms) == (["search", "a cat", "-v"], ["-dog"])
    assert parser.parse_args(kept).verbose


def test_split_leaves_other_commands_alone() -> None:
    assert split_query_terms(build_parser(), ["tags", "--json"]) == (
        ["tags", "--json"],
        [],
    )


def test_terms_with_weights_images_and_signs(tmp_path: Path) -> None:
    image = draw(tmp_path / "x.jpg", (1, 2, 3))
    terms = parse_extra_terms(["+2:cat", "-dog", f"+{image}", "+time: 12:30"])
    assert terms[0] == QueryTerm(2.0, text="cat")
    assert terms[1] == QueryTerm(-1.0, text="dog")
    assert terms[2] == QueryTerm(1.0, image=image)
    assert terms[3] == QueryTerm(1.0, text="time: 12:30")
    assert parse_extra_terms(["+id:12", "-2:id:7"]) == [
        QueryTerm(1.0, image_id=12),
        QueryTerm(-2.0, image_id=7),
    ]
    assert parse_box("10,20,30,40") == (10.0, 20.0, 30.0, 40.0)
    for bad in ("1,2,3", "a,b,c,d", "0,0,0,1", "-1,0,1,1"):
        with pytest.raises(UsageError, match="--box"):
            parse_box(bad)
    with pytest.raises(UsageError, match="empty query term"):
        parse_term("3:")
    with pytest.raises(UsageError, match="start with \\+ or -"):
        parse_extra_terms(["cat"])


def test_combined_vector_is_the_renormalised_weighted_sum(
    fake_library: Library,
) -> None:
    vector, _ = query_vector(
        fake_library,
        [
            QueryTerm(1.0, text="cat"),
            QueryTerm(2.0, text="sofa"),
            QueryTerm(-0.5, text="dog"),
        ],
    )
    e = fake_library.encoder.encode_texts(["cat", "sofa", "dog"])
    want = l2_normalize((e[0] + 2 * e[1] - 0.5 * e[2])[None, :])[0]
    np.testing.assert_allclose(vector, want, atol=1e-6)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    with pytest.raises(UsageError, match="cancel out"):
        query_vector(
            fake_library, [QueryTerm(1.0, text="a"), QueryTerm(-1.0, text="a")]
        )


def test_similar_excludes_the_query_image_and_uses_its_stored_vector(
    fake_library: Library, tmp_path: Path
) -> None:
    red = draw(tmp_path / "p" / "red.png", (250, 0, 0), fmt="PNG")
    draw(tmp_path / "p" / "red2.png", (240, 10, 0), fmt="PNG")
    draw(tmp_path / "p" / "blue.png", (0, 0, 250), fmt="PNG")
    index_folders(fake_library, [str(tmp_path / "p")])
    calls = len(fake_library.encoder.image_calls)  # type: ignore[attr-defined]
    vector, ids = query_vector(fake_library, [QueryTerm(1.0, image=red)])
    assert len(fake_library.encoder.image_calls) == calls  # type: ignore[attr-defined]
    hits = search(fake_library, vector, SearchOptions(top=5), exclude=ids)
    assert next(Path(h.path).name for h in hits) == "red2.png"
    assert "red.png" not in [Path(h.path).name for h in hits]
    under = search(
        fake_library,
        vector,
        SearchOptions(top=5, filters=Filters(folder=str(tmp_path / "q"))),
    )
    assert under == []


def test_k_zero_is_refused() -> None:
    with pytest.raises(UsageError, match="at least 1"):
        SearchOptions(top=0)
