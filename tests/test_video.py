"""Videos: sampling moments, what a bad video records, and videos in a library (with the
fake encoder: moments stored, found, replaced, moved and removed)."""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from indexer.pipeline import index_folders
from indexer.watch import Watcher
from retrieval.errors import DecodeError
from retrieval.index.ids import MOMENT_BASE, image_ids
from retrieval.library import Library
from retrieval.media.video.frames import frame_at
from retrieval.media.video.probe import read_info
from retrieval.media.video.sample import Sampling, sample
from retrieval.search.search import SearchOptions, search
from tests.fakes import FakeEncoder
from tests.helpers import draw, encoder_of, paths_in, wait_for
from tests.videos import (
    BLUE_STAR,
    GREEN_HEART,
    RED_CIRCLE,
    make_video,
    scene_frame,
    shapes_video,
)

RED, BLUE, GREEN = (232, 41, 35), (51, 91, 235), (51, 181, 55)


def centre(image: Image.Image) -> tuple[int, int, int]:
    pixel = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


def near(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def moments_of(
    path: Path, sampling: Sampling | None = None
) -> list[tuple[float, Image.Image]]:
    return [(m.t, m.image) for m in sample(path, sampling or Sampling(), 64)]


# --- sampling -------------------------------------------------------------------------


def test_a_short_gop_video_is_sampled_at_the_keyframe_after_each_change(
    tmp_path: Path,
) -> None:
    # A keyframe every second, changes in the middle of a second; an interval longer
    # than the video: only the start and the first keyframe after each change (the frame
    # coded afresh at the change says something new is there) make moments.
    video = make_video(
        tmp_path / "v.mp4",
        [(4.5, RED_CIRCLE), (4, BLUE_STAR), (3.5, GREEN_HEART)],
        gop=10,
    )
    found = moments_of(video, Sampling(interval=100.0))
    assert [round(t, 1) for t, _ in found] == [0.0, 5.0, 9.0]
    colours = [centre(image) for _, image in found]
    assert [near(c, k) for c, k in zip(colours, (RED, BLUE, GREEN), strict=True)] == [
        True
    ] * 3


def test_a_long_gop_is_decoded_whole_and_a_change_inside_it_is_found(
    tmp_path: Path,
) -> None:
    # One keyframe for the whole clip: the change at 5.3 s is between keyframes.
    video = make_video(
        tmp_path / "v.mp4", [(5.3, RED_CIRCLE), (4.7, BLUE_STAR)], gop=1000
    )
    found = moments_of(video, Sampling(interval=100.0))
    times = [t for t, _ in found]
    assert times[0] == 0.0
    assert any(5.3 <= t <= 5.3 + 0.35 for t in times), times
    assert len(times) == 2, times


def test_no_two_moments_are_further_apart_than_the_interval(tmp_path: Path) -> None:
    for gop in (10, 25, 1000):
        video = make_video(tmp_path / f"v{gop}.mp4", [(12, RED_CIRCLE)], gop=gop)
        times = [t for t, _ in moments_of(video, Sampling(interval=3.0))]
        gaps = np.diff([*times, 12.0])
        assert times[0] == 0.0 and gaps.max() <= 3.0 + 1e-6, (gop, times)


def test_variable_frame_rate_is_timed_by_each_frames_own_time(tmp_path: Path) -> None:
    times = [0.0, 0.04, 0.1, 0.5, 1.5, 2.5, 3.7, 4.0, 5.5, 7.0]
    video = make_video(
        tmp_path / "vfr.mp4",
        [(0.5, RED_CIRCLE), (0.5, BLUE_STAR)],
        fps=10,
        times=times,
    )
    found = moments_of(video)
    assert {round(t, 2) for t, _ in found} <= {round(t, 2) for t in times}
    # The blue star arrives at 2.5 s, not at its frame number's 0.5 s.
    blue = [t for t, image in found if near(centre(image), BLUE)]
    assert blue and min(blue) == pytest.approx(2.5, abs=0.01)


def test_the_containers_rotation_is_applied(tmp_path: Path) -> None:
    upright = Image.new("RGB", (320, 240), (255, 255, 255))
    upright.paste((255, 0, 0), (0, 0, 160, 240))  # left half red
    for rotation in (90, 180, 270):
        video = make_video(
            tmp_path / f"r{rotation}.mp4", [(1, upright)], rotation=rotation
        )
        info = read_info(video)
        assert (info.width, info.height, info.rotation) == (320, 240, rotation)
        sampled = sample(video, Sampling(), 64)
        [(_, image)] = [(m.t, m.image) for m in sampled]
        assert sampled.info == info  # what the first frame said, once it is read
        assert image.width > image.height, rotation
        left = image.crop((0, 0, image.width // 4, image.height))
        right = image.crop((3 * image.width // 4, 0, image.width, image.height))
        assert near(centre(left), (255, 0, 0)), rotation
        assert near(centre(right), (255, 255, 255)), rotation


def test_a_fifth_of_a_second_clip_is_one_moment(tmp_path: Path) -> None:
    video = make_video(tmp_path / "short.mp4", [(0.2, GREEN_HEART)])
    found = moments_of(video)
    assert len(found) == 1 and near(centre(found[0][1]), GREEN)


def test_frame_at_seeks_to_the_second_asked_for(tmp_path: Path) -> None:
    video = shapes_video(tmp_path / "v.mp4", gop=10)
    assert near(centre(frame_at(video, 9.0, 64)), GREEN)
    assert near(centre(frame_at(video, 5.0, 64)), BLUE)
    assert near(centre(frame_at(video, 0.0, 64)), RED)


# --- bad videos -----------------------------------------------------------------------


def truncated(path: Path, source: Path) -> Path:
    """An MP4 cut before its index (the moov atom PyAV writes last): a copy in progress."""
    data = source.read_bytes()
    path.write_bytes(data[: data.rfind(b"moov") - 4])
    return path


def unknown_codec(path: Path, source: Path) -> Path:
    """An MP4 whose video is labelled with a codec no decoder knows."""
    path.write_bytes(source.read_bytes().replace(b"avc1", b"zzzz"))
    return path


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 8000), dtype=np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def jpeg_named_mp4(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def bad_videos(tmp_path: Path) -> tuple[Path, dict[str, str | None]]:
    """A folder of odd and broken videos, each with what its record must say (None:
    indexed fine)."""
    folder = tmp_path / "videos"
    folder.mkdir()
    good = shapes_video(tmp_path / "good.mp4")
    (folder / "zero.mp4").write_bytes(b"")
    truncated(folder / "no-moov.mp4", good)
    audio_only(folder / "audio.m4a.mp4")
    unknown_codec(folder / "codec.mov", good)
    jpeg_named_mp4(folder / "photo.mp4")
    make_video(folder / "8k.mp4", [(0.1, BLUE_STAR)], size=(7680, 4320), fps=10)
    make_video(
        folder / "vfr.mkv",
        [(0.3, RED_CIRCLE), (0.3, BLUE_STAR)],
        fps=10,
        times=[0, 0.1, 0.15, 1.0, 2.2, 2.3],
    )
    make_video(folder / "short.mp4", [(0.2, GREEN_HEART)])
    make_video(folder / "rotated.mov", [(1, BLUE_STAR)], rotation=90)
    make_video(folder / "vp9.webm", [(1, RED_CIRCLE)], codec="libvpx-vp9")
    make_video(folder / "camera.avi", [(1, RED_CIRCLE)], codec="mpeg4")
    make_video(folder / "phone.mov", [(1, BLUE_STAR)], codec="libx265")
    expected: dict[str, str | None] = {
        "zero.mp4": "empty file",
        "no-moov.mp4": "not a video FFmpeg can read",
        "audio.m4a.mp4": "no video in it (audio only)",
        "codec.mov": "codec FFmpeg cannot decode",
        "photo.mp4": "not a video: it is a JPEG image",
        "8k.mp4": None,
        "vfr.mkv": None,
        "short.mp4": None,
        "rotated.mov": None,
        "vp9.webm": None,
        "camera.avi": None,
        "phone.mov": None,
    }
    return folder, expected


def test_each_bad_video_is_recorded_once_with_its_reason_and_none_stops_the_batch(
    fake_library: Library, bad_videos: tuple[Path, dict[str, str | None]]
) -> None:
    folder, expected = bad_videos
    draw(folder / "photo.png", (0, 0, 250))
    summary = index_folders(fake_library, [str(folder)])
    states = fake_library.store.file_states()
    meta = fake_library.store.meta(s.image_id for s in states.values())
    by_name = {Path(p).name: meta[s.image_id] for p, s in states.items()}
    assert set(by_name) == {*expected, "photo.png"}
    assert by_name["photo.png"].status == "ok"
    for name, reason in expected.items():
        record = by_name[name]
        if reason is None:
            assert record.status == "ok", (name, record.error)
            assert record.kind == "video" and record.duration is not None
        else:
            assert record.status == "failed", name
            assert record.error is not None and reason in record.error, (
                name,
                record.error,
            )
            assert "\n" not in record.error and str(folder) not in record.error
    assert summary.failed == sum(r is not None for r in expected.values())
    counts = fake_library.store.counts()
    assert counts["videos"] == sum(r is None for r in expected.values())
    assert counts["images"] == counts["videos"] + 1  # and the photo
    # Recorded once: a second run reads none of them again.
    again = index_folders(fake_library, [str(folder)])
    assert again.failed == 0 and again.added == 0 and again.updated == 0


# --- videos in a library (fake encoder) -----------------------------------------------


def fake_vector(encoder: FakeEncoder, scene: object) -> np.ndarray:
    image = scene_frame(scene, (320, 240))  # type: ignore[arg-type]
    return encoder.encode_images([image])[0]


def test_search_finds_the_video_at_the_moment_that_shows_it(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    shapes_video(photos / "party.mp4")
    draw(photos / "other.png", (120, 120, 120))
    index_folders(fake_library, [str(photos)])
    encoder = encoder_of(fake_library)
    for scene, low, high in (
        (BLUE_STAR, 4, 8),
        (GREEN_HEART, 8, 12),
        (RED_CIRCLE, 0, 4),
    ):
        hits = search(fake_library, fake_vector(encoder, scene), SearchOptions(top=2))
        assert hits[0].path.endswith("party.mp4") and hits[0].kind == "video"
        assert hits[0].t is not None and low <= hits[0].t < high, (scene, hits[0].t)
        assert hits[0].moments[0].score == pytest.approx(hits[0].score, abs=1e-3)
    # One result per video, however many of its moments match.
    hits = search(fake_library, fake_vector(encoder, BLUE_STAR), SearchOptions(top=10))
    assert [h.path for h in hits].count(str(photos / "party.mp4")) == 1


def index_entries(library: Library) -> np.ndarray:
    index = library.index
    return index._all_ids()


def test_a_changed_video_replaces_all_its_moments_and_a_deleted_one_leaves_none(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    video = shapes_video(photos / "v.mp4", gop=10)
    draw(photos / "p.png", (10, 10, 10))
    index_folders(fake_library, [str(photos)])
    store, dim = fake_library.store, fake_library.model.dim
    [video_id] = [s.image_id for p, s in store.file_states().items() if p == str(video)]
    times, _ = store.moments(video_id, dim)
    assert len(times) == 6  # every 2 s of 12
    ids = index_entries(fake_library)
    assert (image_ids(ids) == video_id).sum() == 6
    assert (ids >= MOMENT_BASE).sum() == 5

    # Rewritten shorter, all blue: its moments are replaced, in the store and the index.
    make_video(video, [(3, BLUE_STAR)], gop=10)
    index_folders(fake_library, [str(photos)])
    times, _ = store.moments(video_id, dim)
    assert len(times) == 2
    ids = index_entries(fake_library)
    assert (image_ids(ids) == video_id).sum() == 2
    assert len(fake_library.index) == store.entry_count(dim)
    encoder = encoder_of(fake_library)
    hits = search(fake_library, fake_vector(encoder, GREEN_HEART), SearchOptions(top=1))
    assert hits[0].moments and all(m.t < 3 for m in hits[0].moments)

    # Gone: nothing of it stays in the index; the index rebuilt from the store agrees.
    video.unlink()
    index_folders(fake_library, [str(photos)])
    ids = index_entries(fake_library)
    assert not (image_ids(ids) == video_id).any()
    assert len(fake_library.index) == store.entry_count(dim) == 1


def test_a_copied_video_gets_its_moments_without_decoding(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    video = shapes_video(photos / "v.mp4")
    index_folders(fake_library, [str(photos)])
    encoder = encoder_of(fake_library)
    encoded = encoder.images_encoded
    shutil.copy2(video, photos / "copy.mp4")
    index_folders(fake_library, [str(photos)])
    assert encoder.images_encoded == encoded
    store, dim = fake_library.store, fake_library.model.dim
    ids = {Path(p).name: s.image_id for p, s in store.file_states().items()}
    a, b = store.moments(ids["v.mp4"], dim), store.moments(ids["copy.mp4"], dim)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert store.meta([ids["copy.mp4"]])[ids["copy.mp4"]].duration == 12.0
    assert len(fake_library.index) == store.entry_count(dim)


def test_videos_off_leaves_the_librarys_videos_as_they_are(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    shapes_video(photos / "v.mp4")
    index_folders(fake_library, [str(photos)])
    draw(photos / "new.png", (0, 250, 0))
    shapes_video(photos / "new.mp4")
    fake_library.settings = fake_library.settings.with_options(videos=False)
    summary = index_folders(fake_library, [str(photos)])
    assert (summary.added, summary.removed) == (1, 0)
    names = {Path(p).name for p in fake_library.store.file_states()}
    assert names == {"v.mp4", "new.png"}


def test_tags_of_a_video_carry_the_stretches_the_label_shows_in(
    fake_library: Library, tmp_path: Path
) -> None:
    from retrieval.records import Clip
    from retrieval.tagging.scoring import shown_in

    # Moments every 2 s of a 12 s video; the label shows at 4 and 6 s, and at 10 s.
    clip = Clip(np.array([0, 2, 4, 6, 8, 10], dtype=np.float32), 12.0)
    probabilities = np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.7], dtype=np.float32)
    assert shown_in(probabilities, clip, 0.5) == [(4.0, 8.0), (10.0, 12.0)]
    # Moments out of time order (the video's own vector is stored first).
    shuffled = Clip(clip.times[[3, 0, 1, 2, 4, 5]], 12.0)
    assert shown_in(probabilities[[3, 0, 1, 2, 4, 5]], shuffled, 0.5) == [
        (4.0, 8.0),
        (10.0, 12.0),
    ]
    # Given by the top-N rule, below the threshold: its best moment alone.
    assert shown_in(probabilities * 0.3, clip, 0.5) == [(4.0, 6.0)]


def test_the_store_keeps_tag_ranges_as_json(
    fake_library: Library, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    shapes_video(photos / "v.mp4")
    index_folders(fake_library, [str(photos)])
    from retrieval.records import LabelSetRecord, TagScores

    store = fake_library.store
    store.save_label_set("shapes", ["star"], threshold=0.5, top=1)
    record = store.label_set("shapes")
    [video_id] = [s.image_id for s in store.file_states().values()]
    scores = TagScores(
        record,
        np.array([[0.9]], dtype=np.float32),
        np.array([[True]]),
        {(0, 0): [(4.0, 8.0)]},
    )
    assert isinstance(record, LabelSetRecord)
    store.write_tags([video_id], scores)
    [tag] = store.tags(image_id=video_id)
    assert tag.ranges is not None and json.loads(tag.ranges) == [[4.0, 8.0]]


def test_sample_refuses_frames_over_the_pixel_limit(tmp_path: Path) -> None:
    video = make_video(tmp_path / "big.mp4", [(0.1, BLUE_STAR)], size=(640, 480))
    with pytest.raises(DecodeError, match="over the limit"):
        sample(video, Sampling(), 64, max_pixels=100_000)


# --- the daemon -----------------------------------------------------------------------


def test_the_daemon_follows_videos_that_come_move_and_go(
    watching: tuple[Watcher, Path],  # the fixture imported above
) -> None:
    watcher, photos = watching
    library = watcher.library
    store, dim = library.store, library.model.dim
    fake = encoder_of(library)
    # Written elsewhere, then moved in whole, as a copy tool finishes.
    staging = photos.parent / "staging"
    shapes_video(staging / "clip.mp4", gop=10)
    shutil.move(str(staging / "clip.mp4"), photos / "clip.mp4")
    wait_for(lambda: paths_in(library) == {str(photos / "clip.mp4")})
    [video] = [s.image_id for s in store.file_states().values()]
    assert len(store.moments(video, dim)[0]) == 6
    encoded = fake.images_encoded

    # Renamed, then moved into a folder: the same item, no frame decoded again.
    os.rename(photos / "clip.mp4", photos / "party.mp4")
    (photos / "2024").mkdir()
    wait_for(lambda: paths_in(library) == {str(photos / "party.mp4")})
    shutil.move(str(photos / "party.mp4"), photos / "2024" / "party.mp4")
    wait_for(lambda: paths_in(library) == {str(photos / "2024" / "party.mp4")})
    assert fake.images_encoded == encoded
    assert [s.image_id for s in store.file_states().values() if s.status == "ok"] == [
        video
    ]
    hits = search(library, fake_vector(fake, BLUE_STAR), SearchOptions(top=1))
    assert hits[0].path == str(photos / "2024" / "party.mp4")
    assert hits[0].t is not None and 4 <= hits[0].t < 8

    # Deleted: gone from results and from the index, every moment of it.
    (photos / "2024" / "party.mp4").unlink()
    wait_for(lambda: not paths_in(library))
    assert not (image_ids(index_entries(library)) == video).any()


def test_a_video_still_being_written_waits_until_it_settles(
    fake_library: Library, tmp_path: Path
) -> None:
    from indexer.plan import Work
    from indexer.scan import file_entry
    from indexer.videos import _settled

    video = shapes_video(tmp_path / "v.mp4")
    entry = file_entry(str(video))
    assert entry is not None
    halt = threading.Event()
    started = time.monotonic()
    assert _settled(Work(entry, "hash"), 0.6, halt)  # written just now: waited for
    assert time.monotonic() - started >= 0.3
    with video.open("ab") as grow:
        grow.write(b"\0" * 10)  # changed since the scan: left for its own event
    assert not _settled(Work(entry, "hash"), 0.0, halt)


@pytest.mark.parametrize("kind", ["flat", "ivf", "pq"])
@pytest.mark.parametrize("mapped", [False, True])
def test_the_index_removes_every_moment_of_a_video_even_after_a_reload(
    tmp_path: Path, kind: str, mapped: bool
) -> None:
    from retrieval.index.ids import entries
    from retrieval.index.vector_index import VectorIndex

    rng = np.random.default_rng(0)
    dim = 16

    def unit(n: int) -> np.ndarray:
        v = rng.standard_normal((n, dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    build = {"ivf": VectorIndex.ivf, "pq": VectorIndex.pq}.get(kind)
    index = build(dim, 4, unit(400)) if build else VectorIndex(dim)
    # Photos 1-3 (photo 2 wide, with 2 views), videos 4 (40 moments) and 5 (3 moments).
    ids, vectors = entries(
        [1, 2, 3, 4, 5],
        unit(5),
        [None, unit(2), None, unit(39), unit(2)],
        [False, False, False, True, True],
    )
    index.add(ids, vectors)
    index.generation = 7
    assert len(index) == 5 + 2 + 39 + 2
    index.save(tmp_path / "index.faiss")
    loaded = VectorIndex.load(tmp_path / "index.faiss", dim, mapped=mapped)
    filtered = loaded.entry_ids([4])
    assert len(filtered) == 16 + 39  # its own id's view slots, and its moments
    loaded.remove([4, 2])
    assert sorted(set(image_ids(loaded._all_ids()).tolist())) == [1, 3, 5]
    assert len(loaded) == 3 + 2
    # Added again (a changed video), then removed: nothing stays.
    ids, vectors = entries([4], unit(1), [unit(5)], [True])
    loaded.add(ids, vectors)
    loaded.remove([4, 5])
    assert sorted(set(image_ids(loaded._all_ids()).tolist())) == [1, 3]
