"""A third-party OpenAPI fuzzer (schemathesis, on hypothesis) against the real app: every
operation, valid and invalid input, all of its checks (no server error, status codes and
content types and bodies as declared, invalid input refused, valid input accepted; valid
input may still be refused with a 400 or 415 where OpenAPI cannot state the rule).
Bounded: a fixed number of examples per operation, no deadline per example."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from indexer.analyzers.exif import ExifAnalyzer
from indexer.analyzers.faces import FaceAnalyzer
from indexer.analyzers.metadata import MetadataAnalyzer
from indexer.analyzers.text import TextAnalyzer
from indexer.pipeline import index_folders
from photosearch.web.app import create_app
from retrieval.library import Library
from tests.conftest import REPO
from tests.helpers import BLUE, GREEN, RED, open_library, save

EXAMPLES = 100  # per operation and mode: ~30 s in all on two cores
# The rules OpenAPI cannot state, each said in the description of what it applies to: a
# schema-valid request may be refused with 400 or 415 for one of these only (their
# messages' words). Any other refusal of valid input is a schema that says too little.
UNSTATABLE = (
    "the date range",  # date_from after date_to
    "is outside the",  # a region wholly outside the picture
    "cancel out",  # weighted terms that sum to nothing
    "the uploaded file cannot be used",  # bytes that are no image (415)
    "at least one other person",  # a merge of a person with itself alone
    "not both",  # a face given a person and a name at once
    "at most 20 words",  # contains with more words and phrases than that
)


@pytest.fixture(scope="module")
def fuzzed_library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    root = tmp_path_factory.mktemp("fuzz")
    photos = root / "photos"
    save(photos / "red.png", RED)
    save(photos / "green.png", GREEN, when="2020:02:02 10:00:00")
    save(photos / "blue.png", BLUE)
    # Two people's faces, so that the people operations have persons and faces.
    for name in ("obama1.jpg", "obama2.jpg", "biden1.jpg", "biden2.jpg"):
        shutil.copy(REPO / "data" / "faces" / "photos" / name, photos / name)
    # A photo with text, so that the text filter and a photo's lines have something.
    shutil.copy(REPO / "data" / "text" / "photos" / "wifi.jpg", photos / "wifi.jpg")
    # Files other programs wrote metadata into (ExifTool's own test files: IPTC, and
    # XMP with a face region), so that the keyword, rating and label filters, a
    # photo's metadata and the face regions have something.
    for name in ("IPTC.jpg", "MWG.jpg"):
        shutil.copy(REPO / "data" / "metadata" / "exiftool" / name, photos / name)
    library = open_library(root)
    index_folders(
        library,
        [str(photos)],
        analyzers=[
            ExifAnalyzer(),
            FaceAnalyzer(library.settings),
            TextAnalyzer(library.settings),
            MetadataAnalyzer(),
        ],
    )
    library.store.save_label_set("colours", ["red", "green"], 0.5, 1)
    yield library
    library.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed_library: Library) -> schemathesis.BaseSchema:
    app = create_app(fuzzed_library, loopback_only=False)
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


CASES: dict[GenerationMode, int] = {}


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode) -> list[str]:
    """Run the fuzzer on one operation; the failures it found, one line each."""
    found: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        CASES[mode] = CASES.get(mode, 0) + 1
        response = case.call()
        try:
            # 400 and 415 are the declared answers to rules OpenAPI cannot state; any
            # other refusal of schema-valid input is a failure.
            semantic = response.status_code in (400, 415) and any(
                words in response.text for words in UNSTATABLE
            )
            case.validate_response(
                response, excluded_checks=[positive_data_acceptance] if semantic else []
            )
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - the checks' failures
            request = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r:.200}"
            reason = " ".join(str(exc).split())[:300]
            # A body that is not text (a ZIP the API accepted) is shown by its size.
            try:
                said = response.text[:200]
            except UnicodeDecodeError:
                said = f"<{len(response.content)} bytes>"
            found.append(f"{request} -> {response.status_code} {said}: {reason}")

    try:
        run()
    except Unsatisfiable:  # nothing to get wrong: an operation that takes no input
        assert mode == GenerationMode.NEGATIVE
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001
        found.append(f"{operation.label}: {' '.join(str(exc).split())[:300]}")
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(
    api_schema: schemathesis.BaseSchema, mode: GenerationMode
) -> None:
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        # An operation the fuzzer cannot read is a broken description: fail on it.
        assert isinstance(result, Ok), result.err()
        operation = result.ok()
        operations += 1
        failures += fuzz(operation, mode)
    assert operations >= 15
    print(f"{mode.value}: {CASES[mode]} requests over {operations} operations")
    assert not failures, "\n".join(dict.fromkeys(failures))
