"""Wide photos: what the centre crop hides is still found, results stay one per photo, and
a photo's views come and go with it in every copy of the index."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.pipeline import index_folders
from photosearch.demo import wide
from retrieval.index.ids import (
    VIEW_STRIDE,
    best_per_photo,
    every_view_id,
    image_ids,
)
from retrieval.library import Library
from retrieval.media.views import (
    MAX_VIEWS,
    ViewPlan,
    tile_boxes,
    view_plan,
)
from retrieval.records import Shape
from retrieval.search.filters import Filters
from retrieval.search.search import SearchOptions, search
from retrieval.search.terms import QueryTerm
from retrieval.search.vectors import image_vector, query_vector
from retrieval.settings import Settings
from retrieval.tagging.scoring import scorer, tag_images

COMBINATIONS = wide.COMBINATIONS


def test_view_plan() -> None:
    """A wide photo: the fewest squares that cover it, instead of its centre crop."""
    plan = view_plan(1920, 1080, 1.6)
    assert plan.boxes == [(0, 0, 1080, 1080), (840, 0, 1920, 1080)]
    assert plan.covering == 2
    assert [b[0] for b in view_plan(3000, 1000, 1.6).boxes] == [0, 1000, 2000]
    assert view_plan(4000, 1000, 1.6).covering == 4
    assert view_plan(1000, 1920, 1.6).boxes[0] == (0, 0, 1000, 1000)  # portrait: down
    assert view_plan(1500, 1000, 1.6) == ViewPlan([], 0)  # 3:2 stays one vector
    assert view_plan(1920, 1080, 0) == ViewPlan([], 0)
    assert len(view_plan(100_000, 1000, 1.6).boxes) == MAX_VIEWS  # capped


def test_a_wide_photo_gets_its_covering_squares_in_the_second_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first pass encodes each photo's centre (one pass of the model each: both are
    searchable then), the second a 16:9 photo's two covering squares and nothing of a
    4:3 photo's; the wide photo's own vector stays its centre's, which a copy of it from
    outside the library has too, and its tags are scored again with the views."""
    from PIL import Image

    (tmp_path / "photos").mkdir()
    Image.new("RGB", (320, 180), (200, 30, 30)).save(tmp_path / "photos" / "wide.png")
    Image.new("RGB", (240, 180), (30, 30, 200)).save(tmp_path / "photos" / "four.png")
    settings = Settings(
        faces=False, text=False, library=tmp_path / "library", model="demo"
    )
    with Library.open(settings, create=True) as library:
        encoder = library.encoder
        passes: list[int] = []
        original = encoder.encode_prepared

        def counting(items: Any) -> Any:
            passes.append(len(items))
            return original(items)

        monkeypatch.setattr(encoder, "encode_prepared", counting)
        seen: list[int] = []
        index_folders(
            library,
            [str(tmp_path / "photos")],
            catch_up=False,
            searchable=lambda _: seen.append(sum(passes)),
        )
        assert seen == [2] and library.store.counts()["vectors"] == 2
        ids = {Path(m.path).name: m.image_id for m in library.store.browse(0, 10)}
        wide_id = ids["wide.png"]
        dim = library.model.dim
        assert library.store.views_of([wide_id], dim) == [None]
        centre = library.store.vectors([wide_id], dim)[0]
        index_folders(library, [str(tmp_path / "photos")])
        assert sum(passes) == 2 + 2
        own = library.store.vectors([wide_id], dim)[0]
        views = library.store.views_of([wide_id], dim)[0]
        assert views is not None and len(views) == 2
        assert np.array_equal(own, centre)
        assert library.store.views_of([ids["four.png"]], dim) == [None]
        # The 4:3 photo is not the views analyzer's to look at.
        assert library.store.pending_count("views", 1, videos=False) == 1
        assert library.store.pending_count("views", 1, shape=Shape(1.6)) == 0
        outside = tmp_path / "copy.png"
        shutil.copy(tmp_path / "photos" / "wide.png", outside)
        vector, known = image_vector(library, outside)
        assert known is None and float(vector @ own) > 0.999


def test_tile_boxes() -> None:
    assert tile_boxes(512, 512, 2, 64) == [
        (0, 0, 256, 256),
        (256, 0, 512, 256),
        (0, 256, 256, 512),
        (256, 256, 512, 512),
    ]
    assert len(tile_boxes(512, 512, 3, 64)) == 9
    assert len(tile_boxes(4000, 3000, 3, 224)) == 12  # 4 across, 3 down
    assert tile_boxes(400, 300, 2, 224) == []  # tiles would be under the model's input
    assert tile_boxes(4000, 3000, 0, 224) == []
    # A wide photo gets its covering squares, then tiles, capped.
    plan = view_plan(1920, 1080, 1.6, 2, 224)
    assert len(plan.boxes) == 2 + 8 and plan.covering == 2


def test_view_ids_map_back_to_photos() -> None:
    ids = np.array([5, 5 + VIEW_STRIDE, 7 + 3 * VIEW_STRIDE, -1])
    assert image_ids(ids).tolist() == [5, 5, 7, -1]
    assert set(image_ids(every_view_id([9])).tolist()) == {9}
    scores, photos = best_per_photo(
        np.array([0.9, 0.8, 0.7, 0.6], dtype=np.float32),
        np.array([5 + VIEW_STRIDE, 5, 7, -1]),
        3,
    )
    assert photos[0].tolist() == [5, 7, -1] and scores[0][0] == pytest.approx(0.9)


def wide_folder(root: Path, aspect: float, seed: int) -> dict[str, tuple[str, str]]:
    """One wide photo per seen shape-and-colour combination, its shape at an edge."""
    root.mkdir(parents=True)
    made = {}
    for n, (image, shows) in enumerate(wide.photos(aspect, 1, seed)):
        path = root / f"{n:02d}.png"
        image.save(path)
        made[str(path)] = shows
    return made


def recall_at_5(library: Library, made: dict[str, tuple[str, str]]) -> float:
    hits = 0
    for shape, colour in COMBINATIONS:
        vector, _ = query_vector(library, [QueryTerm(1.0, text=f"a {colour} {shape}")])
        found = search(library, vector, SearchOptions(top=5))
        assert len({h.image_id for h in found}) == len(found) == 5  # one per photo
        hits += any(made[h.path] == (shape, colour) for h in found)
    return hits / len(COMBINATIONS)


@pytest.mark.parametrize("aspect", [16 / 9, 3.0])
def test_a_shape_at_the_edge_is_found_by_text(tmp_path: Path, aspect: float) -> None:
    made = wide_folder(tmp_path / "photos", aspect, seed=3)
    recall = {}
    for views_aspect in (0.0, 1.6):
        settings = Settings(
            faces=False,
            text=False,
            library=tmp_path / f"library-{views_aspect}",
            model="demo",
            views_aspect=views_aspect,
        )
        with Library.open(settings, create=True) as library:
            index_folders(library, [str(tmp_path / "photos")], progress=False)
            recall[views_aspect] = recall_at_5(library, made)
            entries = len(library.index)
        if views_aspect:
            # Its own vector, and the squares that cover it: two for 16:9, three for 3:1.
            assert entries == (3 if aspect < 2 else 4) * len(made)
    assert recall[1.6] >= 0.75 and recall[1.6] >= recall[0.0] + 0.3, recall


def test_views_follow_their_photo(tmp_path: Path) -> None:
    # 3:1: the shape fills the edge strip at full size, so tags can be asked of it.
    made = wide_folder(tmp_path / "photos", 3.0, seed=4)
    settings = Settings(
        faces=False, text=False, library=tmp_path / "library", model="demo"
    )
    reader_settings = Settings(library=tmp_path / "library", model="demo")
    with Library.open(settings, create=True) as library:
        index_folders(library, [str(tmp_path / "photos")], progress=False)
        assert len(library.index) == 4 * len(made)  # its own vector, three squares
        assert library.store.entry_count(library.model.dim) == len(library.index)
        with Library.open(reader_settings, writer=False) as reader:
            assert len(reader.index) == 4 * len(made)
            gone = next(iter(made))
            Path(gone).unlink()
            index_folders(library, [str(tmp_path / "photos")], progress=False)
            assert len(library.index) == 4 * (len(made) - 1)
            reader.reload_if_stale()  # follows the change log
            assert len(reader.index) == 4 * (len(made) - 1)
            # Tags: an open-world label is shown when any view shows it.
            shape = made[str(next(p for p in made if p != gone))][0]
            library.store.save_label_set("t", [shape], 0.5, 5)
            tag_images(library.store, library.encoder, library.store.label_set("t"))
            tagged = {t.path for t in library.store.tags(label_set="t")}
            wanted = {p for p, (s, _) in made.items() if s == shape and p != gone}
            assert wanted and len(tagged & wanted) >= len(wanted) - 1


def test_tags_are_scored_again_when_the_views_come(tmp_path: Path) -> None:
    """A label set saved before indexing: the first pass scores each photo's centre
    (and fits the set to the photos), the second its views too: the tags then are the
    set's scores of every vector of the photo."""
    made = wide_folder(tmp_path / "photos", 3.0, seed=7)
    settings = Settings(
        faces=False, text=False, library=tmp_path / "library", model="demo"
    )
    with Library.open(settings, create=True) as library:
        store, dim = library.store, library.model.dim
        shape = next(iter(made.values()))[0]
        store.save_label_set("t", [shape], 0.5, 5)
        index_folders(library, [str(tmp_path / "photos")], catch_up=False)
        centre_only = {t.path: t.score for t in store.tags(assigned_only=False)}
        index_folders(library, [str(tmp_path / "photos")])
        after = {t.path: t.score for t in store.tags(assigned_only=False)}
        ids = [s.image_id for s in store.file_states().values()]
        paths = {i: m.path for i, m in store.meta(ids).items()}
        ready = scorer(library.encoder, store.label_set("t"))
        scores = ready.score(store.vectors(ids, dim), store.views_of(ids, dim))
        wanted = {paths[i]: float(scores.scores[n, 0]) for n, i in enumerate(ids)}
    assert set(after) == set(made)
    assert after == pytest.approx(wanted, abs=1e-5)
    assert after != pytest.approx(centre_only, abs=1e-5)


@pytest.mark.parametrize("index_type", ["flat", "ivf"])
def test_filtered_search_gives_each_photo_once(tmp_path: Path, index_type: str) -> None:
    made = wide_folder(tmp_path / "photos", 16 / 9, seed=5)
    settings = Settings(
        faces=False,
        text=False,
        library=tmp_path / "library",
        model="demo",
        index_type=index_type,
    )
    with Library.open(settings, create=True) as library:
        index_folders(library, [str(tmp_path / "photos")], progress=False)
        assert library.index.kind == index_type
        shape, colour = made[next(iter(made))]
        vector, _ = query_vector(library, [QueryTerm(1.0, text=f"a {colour} {shape}")])
        everything = search(library, vector, SearchOptions(top=len(made) + 5))
        assert len(everything) == len({h.image_id for h in everything}) == len(made)
        inside = search(
            library,
            vector,
            SearchOptions(top=10, filters=Filters(folder=str(tmp_path / "photos"))),
        )
        assert len(inside) == len({h.image_id for h in inside}) == 10
        assert made[inside[0].path] == (shape, colour)


def test_tiles_find_small_shapes_in_large_photos(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    made = {}
    for n, (image, shows) in enumerate(wide.small_photos(0.25, 1, seed=6)):
        path = root / f"{n:02d}.png"
        image.save(path)
        made[str(path)] = shows
    recall = {}
    for tiles in (0, 2):
        settings = Settings(
            faces=False,
            text=False,
            library=tmp_path / f"lib{tiles}",
            model="demo",
            tiles=tiles,
        )
        with Library.open(settings, create=True) as library:
            index_folders(library, [str(root)], progress=False)
            assert len(library.index) == (5 if tiles else 1) * len(made)
            recall[tiles] = recall_at_5(library, made)
    assert recall[2] >= 0.9 and recall[2] >= recall[0] + 0.2, recall
