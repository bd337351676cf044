# The two commands of README: `make serve` and `make test`. Each makes .venv from the pinned
# requirements the first time (and again when they change), so a fresh clone needs only python3.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test lint chromium

serve: $(VENV)/.runtime
	$(PY) -m mnistdraw serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# Browser tests drive Debian's chromium; Playwright's own browser download cannot work offline.
chromium:
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime
