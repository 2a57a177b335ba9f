# Relay: the two commands a newcomer needs are `make up` and `make test`; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv system-deps test lint

help:
	@echo "make up        start the local production topology (https://localhost:8443)"
	@echo "make down      stop what make up started (data kept)"
	@echo "make test      set up and run every test suite"

# One virtualenv for the service, the Pulumi program and the test tools; rebuilt when a pin changes.
$(STAMP): app/requirements.lock app/pyproject.toml requirements-dev.txt $(wildcard requirements.txt)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r app/requirements.lock -r requirements-dev.txt $(if $(wildcard requirements.txt),-r requirements.txt)
	$(BIN)/pip install -q --no-deps -e app
	touch $@

venv: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

lint: venv
	$(BIN)/ruff check app/src app/migrations tests

# pytest exits 5 when it collected nothing: no tests is a failure, not a pass.
test: venv system-deps lint
	$(BIN)/pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: no tests collected" >&2; exit 1; fi; exit $$status
