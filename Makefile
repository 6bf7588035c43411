# Two commands matter: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test check lint typecheck bench bench-ingest bench-classify bench-speech bench-e2e bench-load bench-faults soak clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

## Replay the bundled 3-minute broadcast through the whole agent (no servers needed).
demo: $(STAMP)
	$(VENV)/bin/danmaku-agent demo

## Run the whole test suite (talks to Mosquitto and PostgreSQL on 127.0.0.1).
test: $(STAMP)
	$(PY) -m pytest

## Lint and type-check.
check: lint typecheck
lint: $(STAMP)
	$(VENV)/bin/ruff check agent classifiers tests benchmarks
	$(VENV)/bin/ruff format --check agent classifiers
typecheck: $(STAMP)
	$(VENV)/bin/mypy

bench-ingest: $(STAMP)
	$(PY) benchmarks/ingest.py
bench-classify: $(STAMP)
	$(PY) benchmarks/classify.py
bench-speech: $(STAMP)
	$(PY) benchmarks/speech.py
bench-e2e: $(STAMP)
	$(PY) benchmarks/e2e.py
bench-load: $(STAMP)
	$(PY) benchmarks/load.py
bench-faults: $(STAMP)
	$(PY) benchmarks/faults.py
soak: $(STAMP)
	$(PY) benchmarks/soak.py
bench: bench-ingest bench-classify bench-speech bench-e2e

clean:
	rm -rf $(VENV) out data .pytest_cache .mypy_cache .ruff_cache .hypothesis
