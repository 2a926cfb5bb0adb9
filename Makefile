# liveshop: `make demo` to try it, `make test` to check everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# npm ci writes this file last, so it marks a complete node_modules (hls.js for the player,
# swagger-ui-dist for /docs).
NODE_MODULES := node_modules/.package-lock.json
# MovieLens 100K for `liveshop feed evaluate` and its test: recbole's wheel, fetched once
# without dependencies and checked against its hash (liveshop/feed/movielens.py).
MOVIELENS := var/datasets/recbole-1.2.1-py3-none-any.whl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install demo serve migrate test lint typecheck pytest bench chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(NODE_MODULES): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

$(MOVIELENS): | $(INSTALLED)
	$(BIN)/python -m liveshop.feed.movielens $(dir $@)

install: $(INSTALLED) $(NODE_MODULES) $(MOVIELENS)

demo: install
	$(BIN)/liveshop demo

serve: install
	$(BIN)/liveshop serve

migrate: install
	$(BIN)/liveshop migrate

# Browser tests drive Debian's Chromium; install it when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-dejavu-core; }

lint: install
	$(BIN)/ruff check liveshop tests bench
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

# Test processes (pytest-xdist); `make pytest PYTEST_WORKERS=0` runs the suite in one. Each
# worker has its own databases; tests on the one Redis take turns (tests/conftest.py).
PYTEST_WORKERS ?= 2

pytest: install chromium
	$(BIN)/pytest -n $(PYTEST_WORKERS)

test: lint typecheck pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
