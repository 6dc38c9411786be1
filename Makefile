# One entry point for people and CI. `make test` installs everything (uv, then the locked
# dependencies into .venv) and runs the whole suite.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
# Installed modules ship compiled: a run never pays for compiling them, even where
# PYTHONDONTWRITEBYTECODE stops Python from caching bytecode itself.
export UV_COMPILE_BYTECODE := 1

MELTANO_VERSION := 4.4.1
MELTANO := .tools/meltano/bin/meltano

.PHONY: install test lint format demo bench

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(MELTANO): $(UV)
	$(UV) venv --quiet --allow-existing .tools/meltano
	$(UV) pip install --quiet --python .tools/meltano/bin/python "meltano==$(MELTANO_VERSION)"

install: $(UV) $(MELTANO)
	$(UV) sync --locked

test: install
	$(UV) run --locked pytest

demo: install
	$(UV) run --locked python scripts/demo.py

bench: install
	$(UV) run --locked python -m benchmarks.run

lint: install
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .
	$(UV) run --locked mypy

format: install
	$(UV) run --locked ruff format .
	$(UV) run --locked ruff check --fix .
