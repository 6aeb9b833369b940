"""Open-world tagging: each label decided on its own, on a demo library that the model never
saw, where most photos show none of the labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from indexer.pipeline import index_folders
from photosearch.demo import shapes
from photosearch.demo.run import generate
from retrieval.library import Library
from retrieval.settings import Settings
from retrieval.tagging.calibration import Calibration, Normal, Prior, fit_label
from retrieval.tagging.scoring import scorer, tag_images
from tests.fakes import FakeEncoder

Scenes = dict[str, shapes.Scene]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Library, Scenes]]:
    root = tmp_path_factory.mktemp("open-world")
    made = generate(root / "photos", 240, seed=4242)
    settings = Settings(faces=False, text=False, library=root / "library", model="demo")
    library = Library.open(settings, create=True)
    index_folders(library, [str(root / "photos")], progress=False)
    yield library, {str(p.resolve()): s for p, s in made}
    library.close()


def tag(library: Library, labels: tuple[str, ...], *, exclusive: bool = False) -> None:
    library.store.save_label_set("t", labels, 0.5, 5, exclusive=exclusive)
    tag_images(library.store, library.encoder, library.store.label_set("t"))


def precision_recall(
    library: Library, scenes: Scenes, labels: tuple[str, ...]
) -> tuple[float, float, int]:
    """Over photos of combinations the model saw in training (held-out ones are reported
    apart in data/demo/EVAL.md); and how many photos got any tag."""
    seen = {p for p, s in scenes.items() if not s.held_out}
    tags = library.store.tags(label_set="t")
    got = {(t.path, t.label) for t in tags if t.path in seen}
    truth = {(p, scenes[p].shape) for p in seen if scenes[p].shape in labels}
    hits = len(got & truth)
    return (
        hits / max(1, len(got)),
        hits / max(1, len(truth)),
        len({t.path for t in tags}),
    )


def test_two_labels_most_photos_match_neither(demo: tuple[Library, Scenes]) -> None:
    library, scenes = demo
    labels = ("star", "heart")
    tag(library, labels)
    precision, recall, tagged = precision_recall(library, scenes, labels)
    shown = sum(s.shape in labels for s in scenes.values())
    assert precision >= 0.9 and recall >= 0.85, (precision, recall)
    assert tagged <= shown * 1.1  # photos that show neither stay untagged

    # The same labels as a closed set: every photo is forced into one of them.
    tag(library, labels, exclusive=True)
    _, _, forced = precision_recall(library, scenes, labels)
    assert forced >= 0.9 * len(scenes) > 1.5 * shown


def test_one_label(demo: tuple[Library, Scenes]) -> None:
    library, scenes = demo
    tag(library, ("circle",))
    precision, recall, _ = precision_recall(library, scenes, ("circle",))
    assert precision >= 0.9 and recall >= 0.85, (precision, recall)


def test_a_label_no_photo_shows_tags_almost_nothing(
    demo: tuple[Library, Scenes],
) -> None:
    library, scenes = demo
    tag(library, ("umbrella",))
    assert len(library.store.tags(label_set="t")) <= 0.02 * len(scenes)


def test_photos_tagged_on_arrival_as_by_a_full_tagging(
    demo: tuple[Library, Scenes], tmp_path: Path
) -> None:
    library, _ = demo
    tag(library, ("star", "heart"))
    fitted = library.store.label_set("t").calibration
    assert fitted is not None and fitted.fitted_on == library.store.counts()["vectors"]
    more = tmp_path / "more"
    generate(more, 30, seed=99)
    index_folders(library, [str(more)], progress=False)
    new_ids = [
        s.image_id
        for p, s in library.store.file_states().items()
        if p.startswith(str(more))
    ]
    arrived = {
        (t.image_id, t.label)
        for i in new_ids
        for t in library.store.tags(image_id=i, label_set="t")
    }
    # Still the calibration of the full tagging: the library did not double.
    label_set = library.store.label_set("t")
    assert label_set.calibration == fitted
    ids, vectors = library.store.vectors_found(new_ids, library.model.dim)
    again = scorer(library.encoder, label_set).score(vectors)
    rescored = {
        (int(ids[row]), label_set.labels[col])
        for row, col in zip(*np.nonzero(again.assigned), strict=True)
    }
    assert arrived == rescored and arrived


def test_saving_a_set_again_drops_its_calibration(
    demo: tuple[Library, Scenes],
) -> None:
    library, _ = demo
    tag(library, ("square",))
    assert library.store.label_set("t").calibration is not None
    library.store.save_label_set("t", ("square", "cross"), 0.5, 5)
    assert library.store.label_set("t").calibration is None


def test_calibration_round_trips_as_json() -> None:
    prior = Prior(Normal(0.5, 0.02), Normal(0.1, 0.15))
    rng = np.random.default_rng(1)
    scores = np.concatenate(
        [rng.normal(0.48, 0.02, 60), rng.normal(0.12, 0.12, 340)]
    ).astype(np.float32)
    model = fit_label(scores, prior, ("a", "b"))
    assert 0.1 < model.weight < 0.2 and abs(model.shows.mean - 0.48) < 0.02
    calibration = Calibration((model,), fitted_on=400)
    assert Calibration.from_json(calibration.to_json()) == calibration
    # More similar never means less likely to show the label.
    grid = np.linspace(-0.2, 0.9, 200).astype(np.float32)
    assert np.all(np.diff(model.presence(grid)) >= -1e-6)


def test_a_small_library_leans_on_the_prior() -> None:
    prior = Prior(Normal(0.5, 0.02), Normal(0.1, 0.15))
    model = fit_label(np.array([0.49, 0.05], dtype=np.float32), prior, ())
    presence = model.presence(np.array([0.49, 0.05], dtype=np.float32))
    assert presence[0] > 0.5 > presence[1]


class SigmoidEncoder(FakeEncoder):
    """A stand-in for a SigLIP model, whose pairs have their own probability."""

    @property
    def logit_bias(self) -> float | None:
        return -10.0


def test_sigmoid_models_use_their_own_pair_probabilities(
    fake_library: Library,
) -> None:
    encoder = SigmoidEncoder()
    fake_library.store.save_label_set("s", ("red", "blue"), 0.5, 5)
    label_set = fake_library.store.label_set("s")
    ready = scorer(encoder, label_set)
    assert not ready.needs_calibration
    images = encoder.encode_texts(["x", "y", "z"])
    probs = ready.probabilities(images)
    expected = 1 / (1 + np.exp(-(100.0 * images @ ready.labels.T - 10.0)))
    assert np.allclose(probs, expected, atol=1e-6)
