# casework: every target bootstraps .venv itself (Python 3.11+, nothing else needed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test test-fast bench lint fmt clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: the engine with its embedded Temporal dev server, worker, web/API and demo data
run: $(STAMP)
	$(BIN)/casework up

## demo: drive demo cases (hardship relief, legal aid) to their outcomes, then exit
demo: $(STAMP)
	$(BIN)/casework demo

## test: the whole suite (SQLite and PostgreSQL, time-skipping and dev-server Temporal),
## on three processes (most of it waits on servers, on two cores), then the few that run in order
test: $(STAMP)
	$(BIN)/pytest -q -n 3 --dist loadfile -m "not serial"
	$(BIN)/pytest -q -m serial

## bench: the benchmarks named in the issues; prints a table and updates BENCHMARKS.md
bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy casework workflows activities worker.py tests benchmarks

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .casework .pytest_cache .mypy_cache .ruff_cache
