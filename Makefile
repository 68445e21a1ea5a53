# DPA Registry. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help install run test test-dates lint format migrate seed worker clean bench docs

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP) ## Create .venv and install the project with its dev tools

run: $(STAMP) ## Migrate, seed the demo and serve on 127.0.0.1:$PORT (8000) with a worker and beat
	@bash scripts/run.sh

test: $(STAMP) ## Run the whole suite against real PostgreSQL and Redis
	@bash scripts/test.sh

test-dates: $(STAMP) ## Run the whole suite under faketime at leap, DST and year-end moments (DATES=name ...)
	@DATES="$(DATES)" ARGS="$(ARGS)" bash scripts/test-dates.sh

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP) ## Apply migrations to DATABASE_URL (default: SQLite under instance/)
	$(BIN)/flask --app service db upgrade

seed: $(STAMP) ## Load the demo organizations (idempotent)
	$(BIN)/flask --app service seed demo

BENCH_STAMP := $(VENV)/.bench-stamp

# The plotting dependency (the `bench` extra) is installed only for the benchmarks.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

bench: $(BENCH_STAMP) ## Run the benchmarks against their baselines (bench/RESULTS.md), with plots
	@bash bench/run.sh

docs: $(STAMP) ## Build the manual (docs/) into site/ with MkDocs; SERVE=1 serves it on 127.0.0.1:8001
	@if [ -n "$(SERVE)" ]; then $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:$${DOCS_PORT:-8001}; \
	else $(BIN)/mkdocs build --strict --site-dir site; fi

clean: ## Remove the virtualenv, the embedded database and caches
	rm -rf $(VENV) instance .tmp .pytest_cache .ruff_cache test-artifacts site
