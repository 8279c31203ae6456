# The only commands people need; CI calls the same ones (.ci/run).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: setup run serve test lint format bench bench-setup bench-peers clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

setup: $(BIN)/.installed ## create .venv and install the pinned stack

run: setup ## set up, then the main job on embedded defaults (SQLite + local MLflow), ending with the API on 127.0.0.1:8000
	$(BIN)/cadence run --serve

serve: setup ## serve the API on 127.0.0.1:8000 (after `make run`)
	$(BIN)/cadence serve

test: setup ## set up, then the test suite (SQLite and, when reachable, PostgreSQL)
	$(BIN)/pytest -q

lint: setup ## ruff, formatting, mypy, import contracts
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	if [ -x $(BIN)/hadolint ]; then $(BIN)/hadolint Dockerfile; fi

format: setup
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: setup ## figures against the peers (prints; asserts nothing)
	$(BIN)/python benchmarks/ingest.py --rows 200000

bench-setup: setup ## the benchmark extra: statsforecast for benchmarks/peers.py (declares pandas<3, so installed --no-deps)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python -m pip install --quiet -c constraints.txt --no-deps statsforecast

bench-peers: bench-setup ## Cadence's models against statsforecast peers on the same rolling origins (prints; asserts nothing)
	$(BIN)/python benchmarks/peers.py

clean:
	rm -rf $(VENV) .cadence .pytest_cache .mypy_cache .ruff_cache
