"""The page in a real browser: `photosearch serve` on a demo library, driven in headless
Chromium (the system's, Debian's `chromium` package) through Playwright.

Screenshots go to artifacts/browser/ (or $PHOTOSEARCH_ARTIFACTS). Where no Chromium is
installed the test is skipped, unless PHOTOSEARCH_REQUIRE_BROWSER=1 (as in CI), where
that is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import REPO, index_with_demo, run_cli, serving
from tests.helpers import exiftool, photo

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("PHOTOSEARCH_REQUIRE_BROWSER") == "1":
            pytest.fail("no chromium on PATH: `apt-get install chromium` (see .ci/run)")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    return found


def artifacts() -> Path:
    folder = (
        Path(os.environ.get("PHOTOSEARCH_ARTIFACTS", REPO / "artifacts")) / "browser"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`photosearch serve --port 0` on a fresh demo library: (its URL, the photos)."""
    root = tmp_path_factory.mktemp("demo")
    env = {"PHOTOSEARCH_LIBRARY": str(root / "library"), "HF_HUB_OFFLINE": "1"}
    made = run_cli("demo", str(root), "--images", "150", env=env)
    assert made.returncode == 0, made.stderr
    with serving(root / "library", env=env) as (url, process):
        yield url, root / "photos"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


@pytest.fixture
def page(server: tuple[str, Path]) -> Iterator[Any]:
    with chromium_page() as tab:
        yield tab


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A tab of headless Chromium; it fails the test if the page raised any error."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.set_default_timeout(20_000)
        yield tab
        browser.close()
        assert not errors, errors


def titles(page: Any, count: int) -> list[str]:
    return list(
        page.eval_on_selector_all(
            "#grid .tile", f"tiles => tiles.slice(0, {count}).map(t => t.title)"
        )
    )


def test_search_open_and_more_like_this(page: Any, server: tuple[str, Path]) -> None:
    url, photos = server
    page.goto(url)
    page.wait_for_selector("#grid .tile img")
    page.wait_for_function(
        "document.getElementById('status').textContent.includes('photos')"
    )
    assert "153 photos" in page.text_content("#status")

    page.fill("#q", "two red circles")  # results follow the typing, no Enter needed
    page.wait_for_function(
        "document.getElementById('summary').textContent.startsWith('Best matches')"
    )
    top = titles(page, 3)
    # Demo file names say what each picture shows: the model must put red circles first.
    assert all("red-circle" in t for t in top), top
    page.wait_for_function(
        "[...document.querySelectorAll('#grid .tile img')].slice(0, 6)"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    page.screenshot(path=str(artifacts() / "search.png"))

    first = page.locator("#grid .tile").first
    first_id = first.get_attribute("data-id")
    first.click()
    page.wait_for_selector("#viewer[open]")
    page.wait_for_function(
        "document.getElementById('v-meta').textContent.includes('×')"
    )
    shown_path = page.text_content("#v-path")
    assert shown_path.startswith(str(photos)) and "red-circle" in shown_path
    # What is in this photo: the vocabulary's concepts, each a search, and a caption.
    page.wait_for_function("document.querySelectorAll('#v-concepts li a').length > 0")
    assert "circle" in page.text_content("#v-concepts")
    assert "assembled from concepts" in page.text_content("#v-caption")
    page.screenshot(path=str(artifacts() / "viewer.png"))

    page.click("#v-similar")
    page.wait_for_function(
        "document.getElementById('summary').textContent.startsWith('Photos like')"
    )
    assert not page.is_visible("#viewer")
    similar_ids = page.eval_on_selector_all(
        "#grid .tile", "tiles => tiles.map(t => t.dataset.id)"
    )
    assert similar_ids and first_id not in similar_ids
    assert "red" in titles(page, 1)[0]
    page.screenshot(path=str(artifacts() / "similar.png"))

    # Feedback: mark the first result good and the second bad, then refine.
    page.fill("#q", "two red circles")
    page.wait_for_function(
        "document.getElementById('summary').textContent.startsWith('Best matches')"
    )
    liked = page.locator("#grid .tile").first.get_attribute("data-id")
    page.locator("#grid .tile").first.click()
    page.wait_for_selector("#viewer[open]")
    page.click("#v-good")
    assert page.get_attribute("#v-good", "aria-pressed") == "true"
    page.click("#v-next")
    page.wait_for_function(
        "document.getElementById('v-good').getAttribute('aria-pressed') === 'false'"
    )
    disliked = page.locator("#grid .tile").nth(1).get_attribute("data-id")
    page.click("#v-bad")
    page.keyboard.press("Escape")
    assert page.is_visible("#refine")
    page.click("#refine")
    page.wait_for_function(
        "document.getElementById('summary').textContent"
        ".includes('refined by 1 good and 1 bad')"
    )
    assert "red-circle" in titles(page, 1)[0]
    refined_ids = page.eval_on_selector_all(
        "#grid .tile", "tiles => tiles.map(t => t.dataset.id)"
    )
    # The photo marked good is now part of the query, so it is not among the answers;
    # the one marked bad (second before) falls back.
    assert refined_ids and liked not in refined_ids
    assert disliked not in refined_ids[:2]
    page.screenshot(path=str(artifacts() / "refined.png"))

    # Region search: drag a box on the large view.
    page.locator("#grid .tile").first.click()
    page.wait_for_selector("#viewer[open]")
    page.wait_for_function(
        "document.getElementById('v-image').complete"
        " && document.getElementById('v-image').naturalWidth > 0"
    )
    frame = page.locator("#v-image").bounding_box()
    assert frame is not None
    x, y, w, h = frame["x"], frame["y"], frame["width"], frame["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.1)
    page.mouse.down()
    page.mouse.move(x + w * 0.5, y + h * 0.5, steps=5)
    assert page.is_visible("#v-box")
    with page.expect_request(lambda r: "/similar?" in r.url) as asked:
        page.mouse.up()
    box = parse_qs(urlsplit(asked.value.url).query)["box"][0]
    x0, y0, bw, bh = (float(v) for v in box.split(","))
    # The box as fractions of the picture (the viewer letterboxes it).
    assert 0 <= x0 < 0.5 and 0 <= y0 < 0.5 and 0.2 < bw <= 0.5 and 0.2 < bh <= 0.5
    page.wait_for_function(
        "document.getElementById('summary').textContent"
        ".startsWith('Photos like a region of')"
    )
    assert not page.is_visible("#viewer")
    assert page.locator("#grid .tile").count() > 0


def test_keyboard_upload_and_phone_width(page: Any, server: tuple[str, Path]) -> None:
    url, photos = server
    page.goto(url)
    page.wait_for_selector("#grid .tile img")

    # Keyboard only: Tab to a photo, Enter opens it, arrows step, Escape closes.
    page.focus("#grid .tile >> nth=1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#viewer[open]")
    name = page.text_content("#v-name")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"document.getElementById('v-name').textContent !== {name!r}"
    )
    page.keyboard.press("Escape")
    page.wait_for_function("!document.getElementById('viewer').open")

    # Search by an image of one's own.
    probe = next(photos.glob("*-purple-star*"))
    page.set_input_files("#upload", str(probe))
    page.wait_for_function(
        "document.getElementById('summary').textContent.startsWith('Photos like your image')"
    )
    assert "star" in titles(page, 1)[0]

    # A phone-sized screen: everything fits its width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    page.screenshot(path=str(artifacts() / "phone.png"))


def test_tags_and_duplicates_views(page: Any, server: tuple[str, Path]) -> None:
    url, _ = server
    page.goto(url)
    page.click("#tab-tags")
    page.fill("#ls-name", "kinds")
    page.fill("#ls-labels", "circle\nstar\nheart\ntriangle\nsquare")
    page.click("#ls-submit")
    # Tagging fits the set to the library first: seconds, more on a loaded machine. The
    # list the tab asked for may show the new set before its photos are tagged: wait
    # for the tagging to be done, and the list drawn again.
    page.wait_for_function(
        "!document.getElementById('ls-submit').disabled", timeout=90_000
    )
    page.wait_for_function(
        "[...document.querySelectorAll('.labelset[data-name=kinds] .chip')]"
        ".some(c => !c.textContent.endsWith(' · 0'))"
    )
    chips = page.eval_on_selector_all(
        ".labelset[data-name=kinds] .chip", "chips => chips.map(c => c.textContent)"
    )
    counts = {c.split(" · ")[0]: int(c.split(" · ")[1]) for c in chips}
    assert set(counts) == {"circle", "star", "heart", "triangle", "square"}
    assert sum(counts.values()) > 100  # most of the 153 photos get their shape
    page.click("#tab-dups")
    page.fill("#dups-threshold", "0.99")
    page.click("#dups-form button")
    page.wait_for_selector(".group .tile", timeout=60_000)
    groups = page.eval_on_selector_all(
        ".group",
        "groups => groups.map(g => [...g.querySelectorAll('.tile')]"
        ".map(t => t.title.split('/').pop().split(',')[0]))",
    )
    # The demo's resized copies, each beside its original (at 0.99 the small model
    # keeps two or three of the three: see `photosearch demo`).
    assert len(groups) >= 2, groups
    for group in groups:
        stems = sorted(Path(name).stem for name in group)
        assert len(stems) == 2 and stems[1] == stems[0] + "-small", group
    page.screenshot(path=str(artifacts() / "duplicates.png"))


def test_place_camera_and_on_this_day(tmp_path: Path) -> None:
    """The phone-library parts of the page: the Place filter, the large view's place and
    camera, and "On this day"."""
    from datetime import date

    from PIL import Image

    from retrieval.media.formats import register_heif
    from tests.helpers import LISBON, TOKYO, exif_of, two_halves

    register_heif()
    photos = tmp_path / "photos"
    photos.mkdir()
    today = date.today()
    lisbon = exif_of(
        position=LISBON, make="Apple", model="iPhone 12", taken="2023:06:10 18:30:00"
    )
    two_halves().save(photos / "lisbon.heic", exif=lisbon.tobytes())
    years_ago = f"{today.year - 3}:{today.month:02d}:{today.day:02d} 09:00:00"
    tokyo = exif_of(position=TOKYO, make="Canon", model="EOS R6", taken=years_ago)
    two_halves().save(photos / "tokyo.jpg", exif=tokyo.tobytes())
    Image.new("RGB", (64, 64), (0, 200, 0)).save(photos / "plain.png")
    library = tmp_path / "library"
    env = {"PHOTOSEARCH_LIBRARY": str(library), "HF_HUB_OFFLINE": "1"}
    index_with_demo(photos, library, env=env)
    with serving(library, env=env) as (url, _), chromium_page() as page:
        page.goto(url)
        page.wait_for_function("document.querySelectorAll('#grid .tile').length === 3")
        page.wait_for_function(
            "document.getElementById('status').textContent.includes('Portugal 1')"
        )
        page.click("#filters-toggle")
        page.fill("#f-place", "Portugal")
        page.dispatch_event("#f-place", "change")
        page.wait_for_function("document.querySelectorAll('#grid .tile').length === 1")
        assert titles(page, 1) == ["lisbon.heic"]
        page.click("#grid .tile")
        page.wait_for_selector("#viewer[open]")
        page.wait_for_function(
            "document.getElementById('v-meta').textContent.includes('Lisbon, Portugal')"
        )
        assert "Apple iPhone 12" in page.text_content("#v-meta")
        page.screenshot(path=str(artifacts() / "place.png"))
        page.keyboard.press("Escape")
        page.click("#f-clear")
        page.click("#f-today")
        page.wait_for_function(
            "document.getElementById('summary').textContent.startsWith('On this day')"
        )
        page.wait_for_function("document.querySelectorAll('#grid .tile').length === 1")
        assert titles(page, 1) == ["tokyo.jpg"]


def test_a_video_result_plays_from_its_moment(tmp_path: Path) -> None:
    """A video found by a sentence opens playing from the second that matched, with its
    moments marked on the timeline."""
    from photosearch.demo.shapes import Scene
    from tests.videos import scene_frame, shapes_video

    photos = tmp_path / "photos"
    shapes_video(photos / "party.mp4")
    square = Scene("square", "yellow", 1, "large", "center", "black")
    scene_frame(square, (240, 240)).save(photos / "square.png")
    library = tmp_path / "library"
    env = {"PHOTOSEARCH_LIBRARY": str(library), "HF_HUB_OFFLINE": "1"}
    index_with_demo(photos, library, env=env)
    with serving(library, env=env) as (url, _), chromium_page() as page:
        page.goto(url)
        page.wait_for_function("document.querySelectorAll('#grid .tile').length === 2")
        page.fill("#q", "a blue star")
        page.wait_for_function(
            "document.getElementById('summary').textContent.startsWith('Best matches')"
        )
        assert titles(page, 1)[0].startswith("party.mp4")
        badge = page.text_content("#grid .tile .moment")
        assert badge is not None and badge.startswith("▶ 0:0")
        page.click("#grid .tile")
        page.wait_for_selector("#viewer[open]")
        page.wait_for_selector("#v-video:not([hidden])")
        page.wait_for_function(
            "(() => { const v = document.getElementById('v-video');"
            " return v.readyState >= 1 && v.currentTime >= 4 && v.currentTime < 8; })()"
        )
        assert page.is_hidden("#v-image")
        marks = page.eval_on_selector_all("#v-moments .mark", "m => m.length")
        assert marks >= 1
        page.screenshot(path=str(artifacts() / "video.png"))
        page.keyboard.press("Escape")
        page.wait_for_selector("#viewer:not([open])", state="attached")
        # A photo opens as a picture again.
        page.fill("#q", "a yellow square")
        page.wait_for_function(
            "document.querySelector('#grid .tile').title.startsWith('square.png')"
        )
        page.click("#grid .tile")
        page.wait_for_selector("#viewer[open]")
        page.wait_for_selector("#v-image:not([hidden])")
        assert page.is_hidden("#v-video")


# Whether the element's centre is the element itself to a click, once scrolled to: not
# covered by the footer or anything else.
UNCOVERED = """el => {
  el.scrollIntoView({block: 'center'});
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit !== null && (hit === el || el.contains(hit));
}"""


def test_a_phone_sized_screen(page: Any, server: tuple[str, Path]) -> None:
    """At 390 px wide the viewer's picture fills the width, and every control of the
    page and of the viewer can be reached: none sits under the footer."""
    url, _ = server
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    page.wait_for_function(
        "document.getElementById('status').textContent.includes('photos')"
    )
    page.fill("#q", "two red circles")
    page.wait_for_function(
        "document.getElementById('summary').textContent.startsWith('Best matches')"
    )
    controls = "button:visible, input:visible, select:visible, a.button:visible"
    covered = [
        c.evaluate("el => el.id || el.textContent.trim()")
        for c in page.locator(f"main :is({controls})").all()
        if not c.evaluate(UNCOVERED)
    ]
    assert not covered, covered

    page.locator("#grid .tile").first.click()
    page.wait_for_selector("#viewer[open]")
    page.wait_for_function("document.getElementById('v-image').naturalWidth > 0")
    picture = page.locator("#v-image").bounding_box()
    assert picture is not None and picture["width"] >= 0.95 * 390, picture
    assert page.is_visible("#v-good") and page.is_visible("#v-bad")
    covered = [
        c.evaluate("el => el.id || el.textContent.trim()")
        for c in page.locator(f"#viewer :is({controls})").all()
        if not c.evaluate(UNCOVERED)
    ]
    assert not covered, covered
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts() / "phone-viewer.png"))


def test_people_named_merged_and_corrected_on_the_page(tmp_path: Path) -> None:
    """The People view: persons as face cards; a person's photos, renamed there; the
    large view's face boxes, one named with a click; "Not this person"."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("obama1.jpg", "obama2.jpg", "biden1.jpg", "biden2.jpg"):
        shutil.copy(REPO / "data" / "faces" / "photos" / name, photos / name)
    library = tmp_path / "library"
    env = {
        "PHOTOSEARCH_LIBRARY": str(library),
        "HF_HUB_OFFLINE": "1",
        "PHOTOSEARCH_FACES": "1",
    }
    index_with_demo(photos, library, env=env)
    with serving(library, env=env) as (url, _), chromium_page() as page:
        page.goto(url)
        page.click("#tab-people")
        page.wait_for_function(
            "document.querySelectorAll('#people .tile').length === 2"
        )
        # Each card shows a face, cut from its photo.
        page.wait_for_function(
            "[...document.querySelectorAll('#people img')].every(i => i.naturalWidth === 160)"
        )
        page.screenshot(path=str(artifacts() / "people.png"))
        page.click("#people .tile >> nth=0")
        page.wait_for_function("document.querySelectorAll('#grid .tile').length === 2")
        assert page.is_visible("#person-bar")
        page.fill("#p-name", "Barack")
        page.click("#p-rename")
        page.wait_for_function(
            "document.getElementById('summary').textContent.startsWith('Photos of Barack')"
        )
        # The large view: the face is boxed and named.
        page.click("#grid .tile >> nth=0")
        page.wait_for_selector("#v-faces .face")
        assert page.text_content("#v-faces .face span") == "Barack"
        page.screenshot(path=str(artifacts() / "face-boxes.png"))
        # Not this person: the photo leaves the person's photos.
        page.click("#v-not-person")
        page.wait_for_function("document.querySelectorAll('#grid .tile').length === 1")
        # A click on a face's box says who it is: here someone new.
        page.click("#grid .tile >> nth=0")
        page.wait_for_selector("#v-faces .face")
        page.once("dialog", lambda dialog: dialog.accept("Someone else"))
        page.click("#v-faces .face")
        page.wait_for_function(
            "document.querySelector('#v-faces .face span')?.textContent === 'Someone else'"
        )


def test_a_photos_text_is_shown_copied_and_its_matching_line_boxed(
    tmp_path: Path,
) -> None:
    """The Text filter finds a photo by its words; the large view shows the photo's
    text with a Copy button, and the box of the line that matched."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("wifi.jpg", "plain.jpg", "receipt.jpg"):
        shutil.copy(REPO / "data" / "text" / "photos" / name, photos / name)
    library = tmp_path / "library"
    env = {
        "PHOTOSEARCH_LIBRARY": str(library),
        "HF_HUB_OFFLINE": "1",
        "PHOTOSEARCH_TEXT": "1",
    }
    index_with_demo(photos, library, env=env)
    with serving(library, env=env) as (url, _), chromium_page() as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.goto(url)
        page.click("#filters-toggle")
        page.fill("#f-contains", "password")
        page.fill("#q", "a sign")
        page.press("#q", "Enter")
        page.wait_for_function("document.querySelectorAll('#grid .tile').length === 1")
        assert titles(page, 1)[0].startswith("wifi.jpg")
        page.click("#grid .tile >> nth=0")
        page.wait_for_selector("#v-text-section:not([hidden])")
        assert page.text_content("#v-text-lines") == "WIFI PASSWORD\nhunter42"
        page.wait_for_selector("#v-words .word")
        box = page.eval_on_selector(
            "#v-words .word", "b => b.getBoundingClientRect().width"
        )
        assert box > 20
        page.screenshot(path=str(artifacts() / "text.png"))
        page.click("#v-copy-text")
        page.wait_for_function(
            "navigator.clipboard.readText().then(t => t.includes('hunter42'))"
        )
        # A photo without text shows no text section.
        page.keyboard.press("Escape")
        page.fill("#f-contains", "")
        page.fill("#q", "")
        page.goto(url)
        page.wait_for_selector("#grid .tile")
        names = titles(page, 3)
        plain = next(n for n, t in enumerate(names) if t.startswith("plain.jpg"))
        page.click(f"#grid .tile >> nth={plain}")
        page.wait_for_function(
            "document.getElementById('v-name').textContent === 'plain.jpg'"
        )
        page.wait_for_timeout(500)
        assert page.is_hidden("#v-text-section")


def test_what_other_programs_wrote_is_shown_and_picked_results_downloaded(
    tmp_path: Path,
) -> None:
    """Keywords and ratings from XMP filter the grid; the large view shows a photo's
    title, description, rating and keywords (each a search); picked results download
    as one ZIP and their paths copy."""
    photos = tmp_path / "photos"
    tram = photo(photos, "tram.jpg", (220, 200, 20))
    exiftool(
        "-XMP-lr:HierarchicalSubject=Places|Portugal|Lisbon",
        "-XMP-dc:Title=Tram 28",
        "-XMP-dc:Description=Climbing through Alfama",
        "-XMP-xmp:Rating=4",
        tram,
    )
    river = photo(photos, "river.jpg", (20, 60, 200))
    exiftool("-XMP-dc:Subject=Lisbon", "-XMP-xmp:Rating=2", river)
    photo(photos, "plain.jpg", (30, 200, 30))
    library = tmp_path / "library"
    env = {"PHOTOSEARCH_LIBRARY": str(library), "HF_HUB_OFFLINE": "1"}
    index_with_demo(photos, library, env=env)
    with serving(library, env=env) as (url, _), chromium_page() as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.goto(url)
        page.wait_for_selector("#grid .tile")
        page.click("#filters-toggle")
        page.fill("#f-keyword", "lisbon")
        page.press("#f-keyword", "Enter")
        page.wait_for_function("document.querySelectorAll('#grid .tile').length === 2")
        page.select_option("#f-rating", "3")
        page.wait_for_function("document.querySelectorAll('#grid .tile').length === 1")
        assert titles(page, 1)[0].startswith("tram.jpg")
        page.click("#grid .tile >> nth=0")
        page.wait_for_selector("#v-facts:not([hidden])")
        assert page.text_content("#v-title") == "Tram 28"
        assert page.text_content("#v-description") == "Climbing through Alfama"
        assert page.text_content("#v-rating") == "★★★★☆"
        assert page.text_content("#v-keywords") == "Lisbon"
        page.screenshot(path=str(artifacts() / "metadata.png"))
        page.keyboard.press("Escape")

        page.select_option("#f-rating", "")
        page.wait_for_function("document.querySelectorAll('#grid .tile').length === 2")
        page.click("#select")
        page.click("#grid .tile >> nth=0")
        page.click("#grid .tile >> nth=1")
        assert page.text_content("#picked-count") == "2 selected"
        assert not page.is_visible("#viewer")  # picking opens nothing
        with page.expect_download() as downloaded:
            page.click("#download-zip")
        archive = tmp_path / "picked.zip"
        downloaded.value.save_as(archive)
        with zipfile.ZipFile(archive) as zf:
            assert sorted(zf.namelist()) == ["river.jpg", "tram.jpg"]
            assert zf.read("tram.jpg") == tram.read_bytes()
        page.click("#copy-paths")
        page.wait_for_function(
            "navigator.clipboard.readText().then(t => t.includes('tram.jpg')"
            " && t.includes('river.jpg'))"
        )
