# The two commands a newcomer needs: `make up` and `make test`.
# Everything they need is installed or started from here; nothing is done by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

.PHONY: venv up test bench lint typecheck lock clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)

# The environment follows the hash-pinned lock file exactly (runtime and development tools).
$(VENV)/.synced: requirements-dev.lock | $(BIN)/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --require-hashes requirements-dev.lock
	touch $@

venv: $(VENV)/.synced

up: $(VENV)/.synced
	$(BIN)/python -m devstack up

# Lint, architecture and types first: a change that is not clean does not reach the suite.
test: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m devstack test

bench: $(VENV)/.synced
	$(BIN)/python -m devstack bench

lint: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.synced
	$(BIN)/mypy

# Re-pin after editing pyproject.toml's dependencies: the runtime lock (what the image
# installs), then the development lock constrained to the same versions.
COMPILE := $(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --quiet
lock: | $(BIN)/uv
	$(COMPILE) -o requirements.lock
	$(COMPILE) --group dev -c requirements.lock -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .devstack
