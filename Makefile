# One task runner. On a fresh clone, `make demo` and `make test` are all it takes: each
# creates and fills the virtualenv first when it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Written once the virtualenv holds everything pyproject.toml asks for.
STAMP := $(VENV)/.installed
DEMO_DIR ?= photosearch-demo

.PHONY: install browser postgres exiftool test test-postgres lint format typecheck docs docs-serve demo train-demo wheel-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium, for the browser test (tests/test_browser.py); Playwright drives it and
# never downloads a browser of its own. Needs root or sudo; skipped if already installed.
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }
	@chromium --version 2>/dev/null || true

# Debian's PostgreSQL server, for the tests of libraries kept in PostgreSQL
# (tests/postgres.py starts a throwaway server with its initdb and pg_ctl). Needs root or
# sudo; skipped if already installed.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends postgresql; }
	@ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null || command -v initdb

# ExifTool, the reference the metadata tests write XMP and IPTC with
# (tests/test_metadata.py): Debian's libimage-exiftool-perl. Needs root or sudo; skipped if
# already installed.
exiftool:
	@command -v exiftool >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends libimage-exiftool-perl; }
	@exiftool -ver

# pytest exits 5 when it collects nothing; that must fail here, and it does, since
# only 0 counts as success.
test: $(STAMP)
	$(BIN)/python -m pytest

# The tests whose libraries are in-process fixtures, again with each library's tables in
# PostgreSQL (a fresh database per test on a throwaway server: `make postgres` first).
test-postgres: $(STAMP)
	PHOTOSEARCH_TEST_BACKEND=postgres $(BIN)/python -m pytest tests/test_store.py \
	  tests/test_pipeline.py tests/test_watch.py tests/test_web.py tests/test_web_video.py \
	  tests/test_video.py tests/test_bad_files.py tests/test_offline.py \
	  tests/test_index_types.py tests/test_open_world.py tests/test_query.py \
	  tests/test_formats.py tests/test_faces.py tests/test_text.py tests/test_metadata.py \
	  tests/test_sidecars.py tests/test_collect.py tests/test_two_passes.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy

# The manual (docs/, mkdocs.yml) as a site in site/. --strict: a broken link, a missing
# anchor or a page left out of the nav is an error (not with --quiet: it hides the
# warnings strict mode counts, and the build passes).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

demo: $(STAMP)
	$(BIN)/photosearch demo $(DEMO_DIR)

train-demo:
	$(BIN)/python -m photosearch.demo.train

# The wheel users install (pipx install photosearch-*.whl): built, installed in a fresh
# virtualenv outside the checkout, and run (demo and a search) from there.
wheel-check: $(STAMP)
	VENV_PYTHON=$(BIN)/python .ci/wheel-check
