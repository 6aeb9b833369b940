"""Videos through the HTTP API (fake encoder): results with their moments, the frame of
a moment as the tile, the video served in parts (Range), a Live Photo's motion."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from indexer.pipeline import index_folders
from photosearch.web.app import create_app
from retrieval.library import Library
from tests.helpers import open_library
from tests.videos import (
    BLUE_STAR,
    GREEN_HEART,
    RED_CIRCLE,
    make_video,
    scene_frame,
    shapes_video,
)


def png(scene: object) -> bytes:
    buffer = io.BytesIO()
    scene_frame(scene, (320, 240)).save(buffer, "PNG")  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.fixture
def library(tmp_path: Path, test_database: str | None) -> Iterator[Library]:
    photos = tmp_path / "photos"
    shapes_video(photos / "party.mp4", gop=10)
    # A Live Photo: the still shows a red circle, its motion a green heart.
    scene_frame(RED_CIRCLE, (320, 240)).save(photos / "IMG_0001.JPG")
    make_video(photos / "IMG_0001.MOV", [(2, GREEN_HEART)])
    library = open_library(tmp_path, database=test_database)
    index_folders(library, [str(photos)])
    yield library
    library.close()


@pytest.fixture
def client(library: Library) -> TestClient:
    return TestClient(create_app(library), base_url="http://127.0.0.1")


def by_picture(client: TestClient, scene: object) -> list[dict[str, object]]:
    answer = client.post(
        "/api/search/image", files={"file": ("q.png", png(scene), "image/png")}
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert isinstance(results, list)
    return results


def test_a_video_result_says_which_second_matches(client: TestClient) -> None:
    best = by_picture(client, BLUE_STAR)[0]
    assert best["name"] == "party.mp4" and best["kind"] == "video"
    assert best["video"] == best["id"] and best["duration"] == 12.0
    t = best["t"]
    assert isinstance(t, float) and 4 <= t < 8
    moments = best["moments"]
    assert isinstance(moments, list) and moments[0]["t"] == t


def test_a_live_photos_motion_shows_as_its_still(client: TestClient) -> None:
    results = by_picture(client, GREEN_HEART)
    names = [r["name"] for r in results]
    assert "IMG_0001.MOV" not in names  # one result per shot
    live = next(r for r in results if r["name"] == "IMG_0001.JPG")
    assert live["kind"] == "photo" and live["video"] not in (None, live["id"])
    assert live["t"] is not None and live["moments"]


def test_the_tile_of_a_video_is_the_frame_of_its_moment(client: TestClient) -> None:
    best = by_picture(client, GREEN_HEART)
    video = next(r for r in best if r["name"] == "party.mp4")
    colours = {}
    for t in (1, 5, 9):
        answer = client.get(
            f"/api/images/{video['id']}/thumbnail", params={"t": t, "size": 320}
        )
        assert (
            answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
        )
        image = Image.open(io.BytesIO(answer.content)).convert("RGB")
        pixel = image.getpixel((image.width // 2, image.height // 2))
        assert isinstance(pixel, tuple)
        colours[t] = pixel
    assert colours[1][0] > 150 and colours[5][2] > 150 and colours[9][1] > 150, colours
    poster = client.get(f"/api/images/{video['id']}/thumbnail")
    assert poster.status_code == 200
    bad = client.get(f"/api/images/{video['id']}/thumbnail", params={"t": -1})
    assert bad.status_code == 422 and "error" in bad.json()


def test_a_video_is_served_in_parts(client: TestClient, library: Library) -> None:
    video = next(r for r in by_picture(client, BLUE_STAR) if r["name"] == "party.mp4")
    size = Path(str(video["path"])).stat().st_size
    whole = client.get(f"/api/images/{video['id']}/original")
    assert whole.status_code == 200 and len(whole.content) == size
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(
        f"/api/images/{video['id']}/original", headers={"Range": "bytes=100-199"}
    )
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.content == whole.content[100:200]
    beyond = client.get(
        f"/api/images/{video['id']}/original",
        headers={"Range": f"bytes={size + 10}-"},
    )
    # The project's own JSON error, with the size the client may ask within.
    assert beyond.status_code == 416
    assert beyond.headers["content-type"] == "application/json"
    assert "outside the file" in beyond.json()["error"]
    assert beyond.headers["content-range"] == f"bytes */{size}"
    garbled = client.get(
        f"/api/images/{video['id']}/original", headers={"Range": "pages=1-2"}
    )
    assert garbled.status_code == 400 and "Range" in garbled.json()["error"]


def test_a_videos_detail_has_its_length_and_tag_stretches(
    client: TestClient, library: Library
) -> None:
    from retrieval.tagging.scoring import tag_images

    video = next(r for r in by_picture(client, BLUE_STAR) if r["name"] == "party.mp4")
    library.store.save_label_set("colours", ["blue"], threshold=0.0, top=1)
    tag_images(library.store, library.encoder, library.store.label_set("colours"))
    detail = client.get(f"/api/images/{video['id']}").json()
    assert detail["kind"] == "video" and detail["duration"] == 12.0
    [tag] = [t for t in detail["tags"] if t["label"] == "blue"]
    assert tag["assigned"] and tag["ranges"]
    assert all(0 <= a < b <= 12 for a, b in tag["ranges"])
