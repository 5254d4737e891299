# sora_app — `make run` serves on http://localhost:5000, `make test` runs lint + the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# Test files run side by side in this many processes (pytest-xdist; a file stays in one, so
# its module-wide servers start once): most tests wait on servers and ffmpeg, not on a core.
# PYTEST_WORKERS=0 runs everything in one process (easier to read, to debug with -x or pdb).
PYTEST_WORKERS ?= 3
XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

.PHONY: install install-server run test test-fast test-postgresql lint format pytest worker beat bench-e2e bench-reads bench-events bench-memory fake-upstreams clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "python3 is required but was not found on PATH."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is required."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "Could not create $(VENV): install the Python venv module."; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# A production server (deploy/README.md): requirements.txt only, without the test tools.
install-server: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

run: install
	$(BIN)/python -m sora_app.serve

# Distributed deployment (SORA_JOB_EXECUTOR=celery, see README "Deployment: many machines"):
# a job worker host runs `make worker`; exactly one host also runs `make beat` (maintenance).
worker: install
	$(BIN)/celery -A sora_app.celery_app worker --loglevel INFO

beat: install
	$(BIN)/celery -A sora_app.celery_app beat --loglevel INFO

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

pytest: install
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

test: lint pytest

# The same suite with every app and server on PostgreSQL (SORA_TEST_POSTGRES_URL, default the
# local `test` database; one schema per test): the distributed deployment's database.
test-postgresql: install
	SORA_TEST_DATABASE=postgresql $(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The quick local loop: everything but the long renders marked slow (CI runs those).
test-fast: lint
	$(BIN)/python -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

bench-e2e: install
	$(BIN)/python bench/e2e.py

# Issue 9: fast reads vs an in-memory reference (needs wrk), and pushed-event latency.
bench-reads: install
	$(BIN)/python bench/reads.py

bench-events: install
	$(BIN)/python bench/events.py

# Issue 12 part 5: the worker's RSS after each of 150 tiny jobs (~10 min), see BENCHMARKS.md.
bench-memory: install
	$(BIN)/python bench/memory.py --jobs 150

# Fake hosted services (chat, images, speech, stock, videos) for demos: see README "Hosted services".
fake-upstreams: install
	$(BIN)/python -m sora_app.devtools.fake_upstreams --port $(or $(FAKE_PORT),8089)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
