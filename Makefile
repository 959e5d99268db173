# Two commands matter: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck schema bench clean

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) and installing hisgraph with its test tools (about a minute the first time)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@# pip's own lines, one per package, so the first minute is not silent; pipefail keeps pip's exit status
	@$(BIN)/python -m pip install -e '.[dev]' 2>&1 | awk '/^(Collecting|Successfully|ERROR)/ { print "    " $$0; fflush() }'
	@touch $(STAMP)
	@echo "==> installed"

demo: $(STAMP)
	$(BIN)/hisgraph demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

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
