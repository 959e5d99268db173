# Two commands matter: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck schema bench clean browser lock

# Installs are reproducible: the exact versions (and hashes) in requirements-dev.lock, the runtime and dev
# dependencies as tested; a region deploys requirements.lock. `make lock` writes both from pyproject.toml.
$(STAMP): pyproject.toml requirements-dev.lock
	@echo "==> creating $(VENV) and installing hisgraph with its test tools from requirements-dev.lock (about a minute the first time)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@# pip's own lines, one per package, so the first minute is not silent; pipefail keeps pip's exit status
	@$(BIN)/python -m pip install --require-hashes -r requirements-dev.lock 2>&1 | awk '/^(Collecting|Successfully|ERROR)/ { print "    " $$0; fflush() }'
	@$(BIN)/python -m pip install --no-deps -e . 2>&1 | awk '/^(Successfully|ERROR)/ { print "    " $$0; fflush() }'
	@touch $(STAMP)
	@echo "==> installed"

# Re-lock after changing pyproject.toml's dependencies (tests/test_lock_file.py fails until then). Pins already
# in the lock files are kept unless pyproject.toml rules them out; `make lock UPGRADE=--upgrade` takes the newest.
UV_COMPILE = $(BIN)/python -m uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command "make lock" $(UPGRADE)
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet 'uv>=0.5'
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra dev -o requirements-dev.lock

demo: $(STAMP)
	$(BIN)/hisgraph demo

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Debian's chromium for tests/browser (driven by Playwright, never `playwright install`): installed when missing and
# root (CI runs as root); otherwise those tests skip locally and fail in CI, saying why.
browser:
	@if ! test -x /usr/bin/chromium; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "==> installing Debian's chromium for the browser tests (tests/browser)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "==> apt-get could not install chromium: tests/browser will say so"; \
	  else \
	    echo "==> no /usr/bin/chromium and not root: tests/browser skip (as root: apt-get install -y chromium chromium-driver)"; \
	  fi; \
	fi
	@# Chinese glyphs for the dashboard's screenshots (tests/browser/test_dashboard.py, docs/dashboard.png)
	@if ! test -d /usr/share/fonts/opentype/noto && [ "$$(id -u)" = 0 ]; then \
	  echo "==> installing fonts-noto-cjk so the dashboard's Chinese renders in chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null) \
	    || echo "==> apt-get could not install fonts-noto-cjk: screenshots show boxes for Chinese"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/hisgraph schema > schema.graphql

bench: $(STAMP)
	$(BIN)/python bench/fanout_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
