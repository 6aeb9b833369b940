"""The HTTP API through an HTTP client, against the real app over a library indexed with
the fake encoder (colours stand in for meaning)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from indexer.pipeline import index_folders
from photosearch.web.app import create_app
from retrieval.errors import UsageError
from retrieval.library import Library
from retrieval.media.thumbnails import FOLDER
from tests.helpers import BLUE, CYAN, GREEN, RED, YELLOW, open_library, picture, save


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    save(root / "red.png", RED)
    save(root / "red-copy.jpg", RED, size=60)
    save(root / "green.png", GREEN)
    save(root / "trips" / "blue.png", BLUE)
    save(root / "trips" / "old.jpg", YELLOW, when="2019:06:01 10:00:00")
    save(root / "trips" / "new.jpg", CYAN, when="2023:01:15 18:30:00")
    return root


@pytest.fixture
def library(
    tmp_path: Path, photos: Path, test_database: str | None
) -> Iterator[Library]:
    library = open_library(tmp_path, database=test_database)
    index_folders(library, [str(photos)])
    yield library
    library.close()


@pytest.fixture
def client(library: Library) -> TestClient:
    return TestClient(create_app(library), base_url="http://127.0.0.1")


def ids_by_name(library: Library) -> dict[str, int]:
    return {os.path.basename(m.path): m.image_id for m in library.store.browse(0, 100)}


def test_status_counts_the_library(client: TestClient, library: Library) -> None:
    status = client.get("/api/status").json()
    assert status["images"] == 6 and status["failed"] == 0 and status["trashed"] == 0
    assert [(r["path"], r["online"]) for r in status["roots"]] == [
        (str(library.store.root.parent / "photos"), True)
    ]
    assert status["model"].startswith("fake") and status["daemon"] is None
    assert status["index_type"] in ("flat", "none yet (built on first search)")


def test_status_and_searches_say_what_is_still_pending(
    tmp_path: Path, photos: Path, test_database: str | None
) -> None:
    """A library whose text is still to be read: the status says per analysis how far
    it has got, and a search by words says what it may miss."""
    library = open_library(tmp_path, database=test_database, text=True)
    try:
        index_folders(library, [str(photos)], catch_up=False)
        client = TestClient(create_app(library), base_url="http://127.0.0.1")
        analyses = client.get("/api/status").json()["analyses"]
        assert analyses["clip"]["done"] == 6
        assert analyses["text"] == {
            "done": 0,
            "failed": 0,
            "pending": 6,
            "analysed": 0,
            "of": 6,
            "enabled": True,
        }
        page = client.get("/api/search", params={"q": "red", "contains": "wifi"})
        assert page.status_code == 200, page.text
        assert page.json()["pending"] == [
            {
                "analysis": "text",
                "pending": 6,
                "of": 6,
                "message": "6 of 6 photos have not been looked at for text yet: these "
                "results may miss some of them (indexing goes on in `photosearch "
                "watch` or the next `photosearch index`)",
            }
        ]
        listed = client.get("/api/images", params={"contains": "wifi"}).json()
        assert [n["analysis"] for n in listed["pending"]] == ["text"]
        assert client.get("/api/search", params={"q": "red"}).json()["pending"] == []
    finally:
        library.close()


def test_browse_pages_through_every_photo_newest_first(client: TestClient) -> None:
    first = client.get("/api/images", params={"limit": 4}).json()
    second = client.get("/api/images", params={"limit": 4, "offset": 4}).json()
    assert first["more"] and not second["more"]
    names = [h["name"] for h in first["results"] + second["results"]]
    assert sorted(names) == sorted(
        ["red.png", "red-copy.jpg", "green.png", "blue.png", "old.jpg", "new.jpg"]
    )
    assert names[:2] == ["new.jpg", "old.jpg"]  # dated ones first, newest first


def test_text_search_pages_agree_with_one_big_page(client: TestClient) -> None:
    whole = client.get("/api/search", params={"q": "anything", "limit": 6}).json()
    scores = [h["score"] for h in whole["results"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 6
    page = client.get(
        "/api/search", params={"q": "anything", "limit": 2, "offset": 2}
    ).json()
    assert [h["id"] for h in page["results"]] == [
        h["id"] for h in whole["results"][2:4]
    ]
    assert page["more"] is True


def test_similar_leaves_the_photo_out_and_finds_its_copy(
    client: TestClient, library: Library
) -> None:
    ids = ids_by_name(library)
    hits = client.get(f"/api/images/{ids['red.png']}/similar").json()["results"]
    assert ids["red.png"] not in [h["id"] for h in hits]
    assert hits[0]["id"] == ids["red-copy.jpg"]
    dated = client.get(
        f"/api/images/{ids['red.png']}/similar", params={"date_from": "2020-01-01"}
    ).json()["results"]
    assert [h["id"] for h in dated] == [
        ids["new.jpg"]
    ]  # the page's filters apply here too


def test_combined_query_weights_terms(client: TestClient, library: Library) -> None:
    ids = ids_by_name(library)
    plain = client.post(
        "/api/search", json={"terms": [{"image_id": ids["red.png"]}]}
    ).json()
    steered = client.post(
        "/api/search",
        json={
            "terms": [
                {"image_id": ids["red.png"]},
                {"image_id": ids["red-copy.jpg"], "weight": -1.5},
            ]
        },
    ).json()
    assert plain["results"][0]["id"] == ids["red-copy.jpg"]
    assert ids["red-copy.jpg"] not in [h["id"] for h in steered["results"][:3]]
    cancelled = client.post(
        "/api/search",
        json={"terms": [{"text": "x"}, {"text": "x", "weight": -1}]},
    )
    assert cancelled.status_code == 400 and "cancel out" in cancelled.json()["error"]


def test_filters_by_folder_date_and_score(client: TestClient, photos: Path) -> None:
    def names(**params: str | float) -> set[str]:
        answer = client.get("/api/search", params={"q": "x", **params})
        assert answer.status_code == 200, answer.text
        return {h["name"] for h in answer.json()["results"]}

    assert names(folder=str(photos / "trips")) == {"blue.png", "old.jpg", "new.jpg"}
    assert names(date_from="2020-01-01") == {"new.jpg"}
    assert names(date_to="2019-06-01") == {"old.jpg"}  # the end day is included
    assert names(date_from="2019-01-01", date_to="2023-12-31") == {
        "old.jpg",
        "new.jpg",
    }
    assert len(names(min_score=-1.0)) == 6
    assert names(min_score=1.0) == set()
    empty = client.get(
        "/api/search",
        params={"q": "x", "date_from": "2023-01-01", "date_to": "2020-01-01"},
    )
    assert empty.status_code == 400 and "earlier date first" in empty.json()["error"]


def png_bytes(quarter: tuple[int, int], size: int = 64) -> bytes:
    out = io.BytesIO()
    picture(quarter, (250, 250, 250), size).save(out, format="PNG")
    return out.getvalue()


def test_search_by_uploaded_image(client: TestClient, library: Library) -> None:
    answer = client.post(
        "/api/search/image", files={"file": ("q.png", png_bytes(GREEN), "image/png")}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["id"] == ids_by_name(library)["green.png"]


def test_uploads_are_refused_clearly(tmp_path: Path, photos: Path) -> None:
    library = open_library(tmp_path, upload_max_mb=1, max_pixels=100_000)
    index_folders(library, [str(photos)])
    client = TestClient(create_app(library), base_url="http://127.0.0.1")

    def upload(data: bytes) -> tuple[int, str]:
        answer = client.post(
            "/api/search/image", files={"file": ("q.png", data, "image/png")}
        )
        return answer.status_code, answer.json()["error"]

    code, error = upload(os.urandom(2 * 2**20))
    assert code == 413 and "over 1 MB" in error
    streamed = client.post(  # no Content-Length: the body is counted as it arrives
        "/api/search/image",
        content=iter([b"x" * 2**16] * 20),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert streamed.status_code == 413 and "over 1 MB" in streamed.json()["error"]
    code, error = upload(b"this is not an image")
    assert code == 415 and "uploaded file cannot be used" in error
    code, error = upload(b"")
    assert code == 400 and "empty" in error
    code, error = upload(png_bytes(RED, size=400))  # 160,000 pixels > max_pixels
    assert code == 415 and "decompression bomb" in error
    library.close()


def corner(image: Image.Image) -> tuple[int, int, int]:
    pixel = image.convert("RGB").getpixel((image.width // 4, image.height // 4))
    assert isinstance(pixel, tuple)
    return pixel[0], pixel[1], pixel[2]


def test_thumbnails_are_cached_and_follow_file_changes(
    client: TestClient, library: Library, photos: Path
) -> None:
    image_id = ids_by_name(library)["red.png"]
    answer = client.get(f"/api/images/{image_id}/thumbnail")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(answer.content)) as thumb:
        assert max(thumb.size) <= 320
        assert corner(thumb)[0] > 150  # the white quarter
    cache = library.store.root / FOLDER
    cached = [p for p in cache.rglob("*.jpg") if p.name.startswith(f"{image_id}-")]
    assert len(cached) == 1
    assert client.get(f"/api/images/{image_id}/thumbnail").content == answer.content

    Image.new("RGB", (64, 64), (20, 20, 230)).save(photos / "red.png")  # now blue
    os.utime(photos / "red.png", ns=(1, 10**18))
    index_folders(library, [str(photos)])
    again = client.get(f"/api/images/{image_id}/thumbnail")
    with Image.open(io.BytesIO(again.content)) as thumb:
        red, green, blue = corner(thumb)
        assert blue > 150 and red < 60 and green < 60
    now = [p for p in cache.rglob("*.jpg") if p.name.startswith(f"{image_id}-")]
    assert len(now) == 1 and now != cached

    large = client.get(f"/api/images/{image_id}/thumbnail", params={"size": "1280"})
    assert large.status_code == 200 and large.headers["content-type"] == "image/jpeg"
    bad = client.get(f"/api/images/{image_id}/thumbnail", params={"size": 999})
    assert bad.status_code == 422 and "size" in bad.json()["error"], bad.text


def test_original_is_served_by_id(
    client: TestClient, library: Library, photos: Path
) -> None:
    image_id = ids_by_name(library)["green.png"]
    answer = client.get(f"/api/images/{image_id}/original")
    assert answer.content == (photos / "green.png").read_bytes()
    (photos / "green.png").unlink()
    gone = client.get(f"/api/images/{image_id}/original")
    assert gone.status_code == 404 and "is gone" in gone.json()["error"]
    missing = client.get("/api/images/999999/original")
    assert missing.status_code == 404 and "999999" in missing.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/images/..%2F..%2F..%2Fetc%2Fpasswd/original",
        "/api/images/1/original/../../../../etc/passwd",
        "/api/images/%2Fetc%2Fpasswd/thumbnail",
        "/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/../../../../etc/passwd",
        "/api/original?path=/etc/passwd",
        "/api/images/1/thumbnail?path=/etc/passwd&size=../../etc/passwd",
    ],
)
def test_no_path_reaches_the_file_system(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code in (400, 404, 422), (path, answer.status_code)
    assert b"root:" not in answer.content
    assert "error" in answer.json()


def test_token_protects_every_endpoint(library: Library) -> None:
    app = create_app(library, token="s3cret")
    client = TestClient(app, base_url="http://127.0.0.1")
    for path in ("/", "/api/status", "/api/images/1/thumbnail", "/api/openapi.json"):
        refused = client.get(path)
        assert refused.status_code == 401, path
        assert "token" in refused.json()["error"]
    wrong = client.get("/api/status", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.get("/api/status", headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 200

    browser = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    assert browser.get("/?token=nope").status_code == 401
    login = browser.get("/?token=s3cret")
    assert login.status_code == 303 and login.headers["location"] == "/"
    assert "HttpOnly" in login.headers["set-cookie"]
    assert browser.get("/api/status").status_code == 200  # the cookie carries it now
    fresh = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    assert fresh.get("/api/status?token=s3cret").status_code == 200  # API: no redirect
    assert fresh.get("/api/status?token=nope").status_code == 401


def test_other_host_names_are_refused_on_loopback(library: Library) -> None:
    local = TestClient(create_app(library), base_url="http://localhost:8000")
    assert local.get("/api/status").status_code == 200
    rebound = TestClient(create_app(library), base_url="http://attacker.example")
    answer = rebound.get("/api/status")
    assert answer.status_code == 400 and "not served" in answer.json()["error"]
    public = TestClient(
        create_app(library, loopback_only=False), base_url="http://photos.lan"
    )
    assert public.get("/api/status").status_code == 200


def test_bad_requests_get_one_line_json_errors(client: TestClient) -> None:
    cases = [
        (client.get("/api/search", params={"q": "x", "limit": 0}), 422, "'limit'"),
        (client.get("/api/search", params={"q": "x", "limit": 9999}), 422, "'limit'"),
        (
            client.get("/api/search", params={"q": "x", "min_score": 3}),
            422,
            "min_score",
        ),
        (client.get("/api/search", params={"q": "x", "date_from": "May"}), 422, "date"),
        (client.get("/api/search"), 422, "'q'"),
        (client.get("/api/search", params={"q": "   "}), 422, "must not be blank"),
        (client.get("/api/images/abc"), 422, "image_id"),
        (client.get("/api/duplicates", params={"threshold": 2}), 422, "threshold"),
        (
            client.post(
                "/api/search",
                content=b'{"terms": [',
                headers={"content-type": "application/json"},
            ),
            422,
            "malformed JSON",
        ),
        (
            client.post("/api/search", json={"terms": [{}]}),
            422,
            "exactly one of 'text' and 'image_id'",
        ),
        (client.post("/api/search", json={"terms": []}), 422, "terms"),
        (client.get("/api/nothing-here"), 404, "/api/docs"),
    ]
    for answer, code, words in cases:
        assert answer.status_code == code, (answer.request.url, answer.text)
        error = answer.json()["error"]
        assert words in error and "\n" not in error, error


def test_internal_errors_hide_the_traceback(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(library.store, "browse", broken)
    client = TestClient(
        create_app(library), base_url="http://127.0.0.1", raise_server_exceptions=False
    )
    answer = client.get("/api/images")
    assert answer.status_code == 500
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert "internal error" in answer.json()["error"]


def test_label_sets_tag_and_are_listed(client: TestClient, library: Library) -> None:
    made = client.post(
        "/api/labelsets",
        json={
            "name": "colours",
            "labels": ["red", "green", " red ", "blue"],
            "exclusive": True,
            "top": 1,
        },
    )
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["labels"] == ["red", "green", "blue"] and body["tagged"] == 6
    assert body["exclusive"] is True
    assert sum(body["counts"].values()) == 6  # top 1, threshold 0.5 of a 3-way softmax
    listed = client.get("/api/labelsets").json()
    assert [s["name"] for s in listed] == ["colours"]
    image_id = ids_by_name(library)["green.png"]
    tags = client.get(f"/api/images/{image_id}/tags").json()
    assert {t["label"] for t in tags} == {"red", "green", "blue"}
    assert abs(sum(t["score"] for t in tags) - 1.0) < 1e-4
    detail = client.get(f"/api/images/{image_id}").json()
    assert detail["tags"] == tags and detail["name"] == "green.png"
    assigned = [t["label"] for t in tags if t["assigned"]]
    tagged = client.get(
        "/api/search", params={"q": "x", "tag": assigned[0], "limit": 10}
    ).json()
    assert image_id in [h["id"] for h in tagged["results"]]
    assert client.post("/api/labelsets/colours/apply").json()["tagged"] == 6
    assert client.delete("/api/labelsets/colours").status_code == 200
    again = client.delete("/api/labelsets/colours")
    assert again.status_code == 404 and "colours" in again.json()["error"]
    assert (
        client.post("/api/labelsets", json={"name": "x", "labels": []}).status_code
        == 422
    )
    unknown_tag = client.get("/api/search", params={"q": "x", "tag": "nope"})
    assert unknown_tag.status_code == 404


def test_describe_ranks_texts(client: TestClient, library: Library) -> None:
    image_id = ids_by_name(library)["red.png"]
    answer = client.post(
        f"/api/images/{image_id}/describe", json={"texts": ["a", "b", "c"]}
    ).json()["results"]
    assert sorted(r["text"] for r in answer) == ["a", "b", "c"]
    assert [r["score"] for r in answer] == sorted(
        (r["score"] for r in answer), reverse=True
    )
    assert np.isclose(sum(r["probability"] for r in answer), 1.0)
    assert client.post("/api/images/1/describe", json={"texts": []}).status_code == 422


def test_duplicates_groups_the_copy(client: TestClient, library: Library) -> None:
    ids = ids_by_name(library)
    groups = client.get("/api/duplicates", params={"threshold": 0.99}).json()["groups"]
    assert [sorted(m["id"] for m in g) for g in groups] == [
        sorted([ids["red.png"], ids["red-copy.jpg"]])
    ]


def test_search_sees_what_another_process_indexed(
    client: TestClient, library: Library, photos: Path, tmp_path: Path
) -> None:
    before = client.get("/api/search", params={"q": "x", "limit": 50}).json()
    assert len(before["results"]) == 6
    save(photos / "late.png", (1, 2))
    # A watch daemon, say, with its own connection.
    writer = open_library(tmp_path, database=library.settings.database)
    index_folders(writer, [str(photos)])
    writer.close()
    after = client.get("/api/search", params={"q": "x", "limit": 50}).json()
    assert "late.png" in [h["name"] for h in after["results"]]


def test_page_and_openapi_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="q"' in page.text
    assert client.get("/app.js").status_code == 200
    spec = client.get("/api/openapi.json").json()
    for path in (
        "/api/search",
        "/api/search/image",
        "/api/images/{image_id}/similar",
        "/api/images/{image_id}/describe",
        "/api/labelsets",
        "/api/duplicates",
        "/api/status",
    ):
        assert path in spec["paths"], path


def test_model_calls_from_concurrent_requests_run_on_one_thread(
    client: TestClient, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch gives every thread that calls it a team of intra-op threads: requests served
    on many threads must not each call the model."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    callers: list[int] = []
    encode = library.encoder.encode_texts

    def spy(texts: list[str]) -> np.ndarray:
        callers.append(threading.get_ident())
        return encode(texts)

    monkeypatch.setattr(library.encoder, "encode_texts", spy)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda i: client.get("/api/search", params={"q": f"query {i}"}),
                range(32),
            )
        )
    assert all(a.status_code == 200 for a in answers)
    assert len(callers) == 32 and len(set(callers)) == 1
    assert callers[0] != threading.get_ident()


HUGE = 2**63  # one past SQLite's largest integer


def test_ids_beyond_sqlite_integers_are_not_found_not_crashes(
    client: TestClient,
) -> None:
    answers = [
        client.get(f"/api/images/{HUGE}"),
        client.get(f"/api/images/{HUGE}/similar"),
        client.get(f"/api/images/{HUGE}/tags"),
        client.get(f"/api/images/{HUGE}/thumbnail"),
        client.get(f"/api/images/{HUGE}/original"),
        client.get(f"/api/images/{-HUGE}"),
        client.post(f"/api/images/{HUGE}/describe", json={"texts": ["a"]}),
        client.post("/api/search", json={"terms": [{"image_id": HUGE}]}),
        client.post("/api/search", json={"terms": [{"image_id": 2**63 - 1}]}),
    ]
    for answer in answers:
        assert answer.status_code in (404, 422), (answer.request.url, answer.text)
        assert "error" in answer.json()


def test_dates_at_the_ends_of_the_calendar(client: TestClient) -> None:
    for params in (
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01"},
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
    ):
        answer = client.get("/api/search", params={"q": "x", **params})
        assert answer.status_code == 200, (params, answer.text)
    dated = client.get(
        "/api/search",
        params={"q": "x", "date_from": "2019-01-01", "date_to": "9999-12-31"},
    ).json()
    assert {h["name"] for h in dated["results"]} == {"old.jpg", "new.jpg"}


def test_label_set_names_work_on_every_endpoint_or_are_refused(
    client: TestClient, library: Library
) -> None:
    for name in ("my dog", "été 2023", "a.b", "#1 & co?"):
        made = client.post("/api/labelsets", json={"name": name, "labels": ["x", "y"]})
        assert made.status_code == 200, made.text
        path = "/api/labelsets/" + quote(name, safe="")
        assert client.post(path + "/apply").status_code == 200, name
        assert client.delete(path).json() == {"deleted": name}
    for name in ("a/b", "back\\slash", "tab\there", "..", ".", "   "):
        refused = client.post("/api/labelsets", json={"name": name, "labels": ["x"]})
        assert refused.status_code in (400, 422), (name, refused.text)
        assert "name" in refused.json()["error"]
        with pytest.raises(UsageError, match="cannot be used"):
            library.store.save_label_set(name, ["x"], 0.5, 1)
    assert client.get("/api/labelsets").json() == []


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    for method, path, allowed in (
        ("GET", "/api/labelsets/colours/apply", "POST"),
        ("DELETE", "/api/search", "GET, POST"),
        ("PUT", "/api/images/1", "GET"),
        ("GET", "/api/search/image", "POST"),
    ):
        answer = client.request(method, path)
        assert answer.status_code == 405, (method, path, answer.text)
        assert answer.headers["allow"] == allowed
        assert method in answer.json()["error"]
    assert client.get("/api/no/such/thing").status_code == 404


def test_missing_token_is_401_with_www_authenticate(library: Library) -> None:
    guarded = TestClient(
        create_app(library, token="s3cret"), base_url="http://127.0.0.1"
    )
    answer = guarded.get("/api/status")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_openapi_declares_images_statuses_and_the_token(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    thumb = spec["paths"]["/api/images/{image_id}/thumbnail"]["get"]
    assert set(thumb["responses"]["200"]["content"]) == {"image/jpeg"}
    size = next(p for p in thumb["parameters"] if p["name"] == "size")
    assert size["schema"]["enum"] == [320, 1280]
    original = spec["paths"]["/api/images/{image_id}/original"]["get"]
    # Photos and videos, whole or the part a Range header asks for.
    for status in ("200", "206"):
        assert set(original["responses"][status]["content"]) == {"image/*", "video/*"}
    assert "416" in original["responses"]
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            assert {"404", "422", "500"} <= set(operation["responses"]), path
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    term = spec["components"]["schemas"]["SearchRequest"]["properties"]["terms"]
    assert len(term["items"]["anyOf"]) == 2  # a text term or an image term


def test_json_bodies_take_numbers_only_as_numbers(client: TestClient) -> None:
    for body in (
        {"terms": [{"text": "a", "weight": True}]},
        {"terms": [{"text": "a", "weight": "2"}]},
        {"terms": [{"text": "a"}], "limit": "5"},
        {"terms": [{"text": "a"}], "surprise": 1},
    ):
        answer = client.post("/api/search", json=body)
        assert answer.status_code == 422, (body, answer.text)


def test_results_sorted_by_date_among_the_matches(client: TestClient) -> None:
    def names(sort: str) -> list[str]:
        answer = client.get(
            "/api/search", params={"q": "anything", "limit": 6, "sort": sort}
        )
        assert answer.status_code == 200, answer.text
        return [h["name"] for h in answer.json()["results"]]

    assert names("newest")[:2] == ["new.jpg", "old.jpg"]
    assert names("oldest")[:2] == ["old.jpg", "new.jpg"]
    assert sorted(names("newest")) == sorted(names("score"))  # the same matches
    assert len(names("score")) == 6
    assert (
        client.get("/api/search", params={"q": "x", "sort": "random"}).status_code
        == 422
    )


def test_similar_to_a_region_of_a_photo(
    client: TestClient, library: Library, photos: Path
) -> None:
    """Two photos side by side in one: the left half finds the left one, the right half
    the right one."""
    left = Image.open(photos / "red.png").convert("RGB")
    right = Image.open(photos / "trips" / "blue.png").convert("RGB")
    both = Image.new("RGB", (left.width + right.width, left.height))
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    both.save(photos / "both.png")
    index_folders(library, [str(photos)])
    both_id = ids_by_name(library)["both.png"]

    def first(box: str) -> str:
        answer = client.get(f"/api/images/{both_id}/similar", params={"box": box})
        assert answer.status_code == 200, answer.text
        return answer.json()["results"][0]["name"]

    assert first("0,0,0.5,1") in ("red.png", "red-copy.jpg")
    assert first("0.5,0,0.5,1") == "blue.png"
    assert first(f"{left.width},0,{right.width},{right.height}") == "blue.png"  # pixels
    outside = client.get(
        f"/api/images/{both_id}/similar", params={"box": "500,0,10,10"}
    )
    assert outside.status_code == 400 and "outside" in outside.json()["error"]
    # The same through a combined query, and an upload with a region.
    combined = client.post(
        "/api/search", json={"terms": [{"image_id": both_id, "box": [0.5, 0, 0.5, 1]}]}
    )
    assert combined.json()["results"][0]["name"] == "blue.png"
    buffer = io.BytesIO()
    both.save(buffer, format="PNG")
    upload = client.post(
        "/api/search/image",
        params={"box": "0.5,0,0.5,1"},
        files={"file": ("both.png", buffer.getvalue(), "image/png")},
    )
    assert upload.json()["results"][0]["name"] in ("blue.png", "both.png")


def test_feedback_by_image_id_moves_the_results(
    client: TestClient, library: Library
) -> None:
    """Marking a result good (+) or bad (-) refines the query: the photo most like the
    one marked good comes first; most like one marked bad, last."""
    red = ids_by_name(library)["red.png"]

    def names(*feedback: dict[str, object]) -> list[str]:
        body = {"terms": [{"text": "a weak query"}, *feedback], "limit": 6}
        answer = client.post("/api/search", json=body)
        assert answer.status_code == 200, answer.text
        return [h["name"] for h in answer.json()["results"]]

    assert names({"image_id": red, "weight": 3})[0] == "red-copy.jpg"
    assert names({"image_id": red, "weight": -3})[-1] == "red-copy.jpg"
    assert "red.png" not in names({"image_id": red, "weight": 3})  # the query itself


def test_errors_name_the_apis_own_fields_not_the_command_lines(
    client: TestClient, library: Library
) -> None:
    """What the API refuses it refuses in its own words (`near`, `box`, `texts`), and
    what a schema can say it says: those refusals are 422s the description predicts."""
    red = ids_by_name(library)["red.png"]
    answers = [
        client.get("/api/search", params={"q": "x", "near": "95,10"}),
        client.get("/api/search", params={"q": "x", "near": "10,190,5"}),
        client.get("/api/search", params={"q": "x", "near": "10,10,0"}),
        client.get(f"/api/images/{red}/similar", params={"box": "0,0,0,0"}),
        client.post(f"/api/images/{red}/describe", json={"texts": ["  ", "\t"]}),
        client.post(
            "/api/search", json={"terms": [{"image_id": red, "box": [0, 0, 0, 1]}]}
        ),
    ]
    for answer in answers:
        assert answer.status_code == 422, (answer.request.url, answer.text)
        assert "--" not in answer.json()["error"], answer.json()
    outside = client.get(f"/api/images/{red}/similar", params={"box": "500,0,10,10"})
    assert outside.status_code == 400
    message = outside.json()["error"]
    assert message.startswith("box ") and "--box" not in message
    spec = client.get("/api/openapi.json").json()
    upload = spec["components"]["schemas"]["Body_search_upload_api_search_image_post"]
    assert upload["properties"]["file"]["minLength"] == 1


def test_dates_mean_the_same_here_as_on_the_command_line(
    client: TestClient, photos: Path, library: Library
) -> None:
    """`date_to` and the command line's `--before` both include their day."""
    from photosearch.warm.answer import run_request
    from tests.helpers import query_request

    save(photos / "solstice.jpg", RED, when="2024:06:30 23:59:00")
    save(photos / "after.jpg", RED, when="2024:07:01 00:00:00")
    index_folders(library, [str(photos)])

    def api(**params: str) -> set[str]:
        answer = client.get("/api/images", params=params)
        return {r["name"] for r in answer.json()["results"]}

    def cli(**fields: str) -> set[str]:
        request = query_request("search", "", "/", **fields)
        return {Path(r["path"]).name for r in run_request(library, request)}

    assert api(date_to="2024-06-30", date_from="2024-06-30") == {"solstice.jpg"}
    assert cli(date_to="2024-06-30", date_from="2024-06-30") == {"solstice.jpg"}
    assert cli(date_from="2024-06", date_to="2024-06") == {"solstice.jpg"}
    assert cli(date_from="2024-07-01") == api(date_from="2024-07-01") == {"after.jpg"}
