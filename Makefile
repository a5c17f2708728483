# One target per job. Everything installs into .venv; PostgreSQL is embedded unless
# DATABASE_URL names a server; Celery needs no broker unless CELERY_BROKER_URL names one.
# These targets are a development machine's: what production must set (DATABASE_URL,
# DJANGO_SECRET_KEY) falls back to local defaults under .data/ (README: Settings).
export CANGO_DEVELOPMENT ?= true
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test fuzz lint format bench bench-10m bench-reports load setup clean browser

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) -m cango_treasury.launch

# The suite runs in TEST_WORKERS processes (pytest-xdist), each on a test database of its
# own on the same PostgreSQL, a file's tests in one process; TEST_WORKERS=0 runs it in one.
TEST_WORKERS ?= 2
test: $(STAMP) browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Schemathesis against every API operation for every role (tests/ledger/api/test_fuzz.py),
# FUZZ_EXAMPLES generated requests per operation and role rather than the suite's 3.
FUZZ_EXAMPLES ?= 100
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -n $(TEST_WORKERS) tests/ledger/api/test_fuzz.py $(PYTEST_ARGS)

# The browser test drives Debian's headless Chromium; installed once, as root (CI is).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  test "$$(id -u)" = 0 || { echo "the browser test needs chromium and chromium-driver: apt-get install them as root"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy cango_treasury ledger holdings
	$(VENV)/bin/lint-imports --no-cache

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/run.py --legs $${LEGS:-1000000}

bench-10m: $(STAMP)
	$(PY) bench/run.py --legs 10000000

# The reports over a world ten times the demonstration's (440 pool accounts, five years,
# 10,000,000 postings), built through the services; REPORTS_ARGS=--reuse times them again.
bench-reports: $(STAMP)
	$(PY) bench/reports.py $(REPORTS_ARGS)

# Locust, headless, against a `make run` instance of its own for LOAD_SECONDS (bench/load.py);
# Locust lives in bench/.load-venv, outside the project's environment and `make test`.
LOAD_VENV := bench/.load-venv
$(LOAD_VENV)/.installed: bench/requirements-load.txt
	test -x $(LOAD_VENV)/bin/python || $(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/python -m pip install --quiet -r bench/requirements-load.txt
	touch $@

load: $(STAMP) $(LOAD_VENV)/.installed
	$(PY) bench/load.py --users $${LOAD_USERS:-50} --seconds $${LOAD_SECONDS:-120}

clean:
	rm -rf $(VENV) bench/.venv $(LOAD_VENV) .pytest_cache .mypy_cache .ruff_cache
