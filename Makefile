# The two commands of README: `make serve` and `make test`. Each makes .venv from the pinned
# requirements the first time (and again when they change), so a fresh clone needs only python3.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Python 3.11 to 3.14 (numpy 2.4 needs 3.11; the classic mode's `http.server --cgi` is gone in
# 3.15). Checked before .venv is made: an older Python stops here, not halfway through pip.
CHECK_PYTHON = test -x $(PY) || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) \
  and "mnist-draw needs Python 3.11 to 3.14, and $(PYTHON) is %s: run make PYTHON=python3.11" \
  " (or 3.12, 3.13, 3.14)" % sys.version.split()[0])'

.PHONY: serve test lint debian-packages chromium fonts cgi-access

serve: $(VENV)/.runtime
	$(PY) -m mnistdraw serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev debian-packages cgi-access
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# README's picture, docs/screenshot.png: a separate command, so that `make test` writes nothing.
.PHONY: screenshot
screenshot: $(VENV)/.dev chromium
	MNISTDRAW_SCREENSHOT=$(CURDIR)/docs/screenshot.png $(PY) -m pytest -q \
	  "tests/test_browser.py::test_screenshot[light]"

# Debian's packages that the tests and training need, installed when missing: chromium for
# the browser tests (Playwright's own browser download cannot work offline), and the fonts
# that typed non-digits come from (data/negatives/README.md).
DEBIAN_PACKAGES := chromium fonts-dejavu-core fonts-liberation fonts-freefont-ttf \
  fonts-comic-neue fonts-urw-base35 fonts-dkg-handwriting fonts-breip fonts-bwht \
  fonts-dancingscript fonts-femkeklaver fonts-humor-sans fonts-ecolier-court
debian-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update && apt-get install -y $$missing; fi
chromium fonts: debian-packages

# Started by root, http.server runs each CGI script as `nobody`, who must be able to reach
# the interpreter and this folder (a pyenv under /root is out of nobody's reach by default):
# grant search (x) permission on the folders on the way, nothing more. (http.server keeps
# the root group when it drops to nobody, so the group bit matters too.)
cgi-access: $(VENV)/.runtime
	@if [ "$$(id -u)" = 0 ] && ! runuser -u nobody -g root -- $(abspath $(PY)) -c "" 2>/dev/null; then \
	  for d in "$$(dirname "$$(readlink -f $(PY))")" "$(CURDIR)"; do \
	    while [ "$$d" != / ]; do chmod go+x "$$d"; d=$$(dirname "$$d"); done; \
	  done; echo "cgi-access: let nobody reach $$(readlink -f $(PY)) for CGI scripts"; fi

$(VENV)/.runtime: requirements.txt
	@$(CHECK_PYTHON)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt
	@$(CHECK_PYTHON)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime
