# The two commands a newcomer needs: `make up` and `make test`.
# Everything they need is installed or started from here; nothing is done by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

.PHONY: venv up test lint typecheck lock clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)

# The environment follows the hash-pinned lock file exactly.
$(VENV)/.synced: requirements.lock | $(BIN)/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --require-hashes requirements.lock
	touch $@

venv: $(VENV)/.synced

up: $(VENV)/.synced
	$(BIN)/python -m devstack up

# Lint and types first: a change that is not clean does not reach the suite.
test: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m devstack test

lint: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.synced
	$(BIN)/mypy

# Re-pin after editing pyproject.toml's dependencies.
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --group dev --generate-hashes --python-version 3.11 --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .devstack
