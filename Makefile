# bankml: `make demo` runs the DAG once against the embedded SageMaker emulator; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 4566
CONF ?= {}

.PHONY: venv demo test test-fast lint format test-compose bench emulator up down clean help

help:
	@echo "make demo [CONF='{\"feature_set\": \"tutorial\"}']  run the DAG once against the emulator"
	@echo "make test       ruff (lint, format check), then the whole pytest suite (unit, emulator conformance, end-to-end DAG runs)"
	@echo "make format     ruff format and the fixable lint findings"
	@echo "make test-compose  the docker-compose stack on Docker (Celery, two workers, faults)"
	@echo "make bench      emulator and end-to-end benchmarks"
	@echo "make emulator   the SageMaker emulator in the foreground on 127.0.0.1:$(PORT)"
	@echo "make up / down  a local Airflow (no Docker) with the emulator on 127.0.0.1:8080"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11, 4))' || { \
	  echo "bankml needs Python 3.11.4 or newer (tarfile extraction filters); $(PYTHON) is $$($(PYTHON) -V 2>&1)." \
	       "Run: make PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tools.demo --conf '$(CONF)' --port $(PORT)

# 3 workers: on 2 cores a 4th one added more contention (about 10 % more CPU) than overlap.
test: lint
	$(BIN)/python -m pytest -n 3 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not e2e and not browser"

# The docker-compose stack (CeleryExecutor, two workers) built, run and faulted on a Docker
# engine; .ci/docker-setup first provides the engine and base images where it can.
test-compose: $(STAMP)
	.ci/docker-setup
	$(BIN)/python -m pytest -m compose tests/compose -p no:xdist

bench: $(STAMP)
	$(BIN)/python -m bench

emulator: $(STAMP)
	$(BIN)/python -m sagemaker_emulator --port $(PORT) --create-bucket bankml-local --create-role bankml-sagemaker-execution

up: $(STAMP)
	$(BIN)/python -m tools.local_airflow up

down:
	$(BIN)/python -m tools.local_airflow down

clean:
	rm -rf .airflow demo-output bench-output test-artifacts
