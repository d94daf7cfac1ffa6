# AMSS developer commands. `make run` and `make test` each work on a fresh machine on their own.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AMSS_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export AMSS_TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint typecheck pytest unit integration e2e fuzz services migrate-up migrate-down seed dev-up dev-down proto clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

services:
	bash scripts/ensure-services.sh

## run: create the database if missing, migrate, seed, and run server (:8080) and worker (:8081)
run: $(STAMP) services
	$(BIN)/amss dev

## test: lint, type check, then every test (unit, integration, e2e) against the local Postgres and Redis
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	bash scripts/gen-proto.sh --check

## proto: regenerate amss/api/grpc/gen/ from proto/amss/v1/amss.proto (commit the result)
proto: $(STAMP)
	bash scripts/gen-proto.sh

typecheck: $(STAMP)
	$(BIN)/mypy amss tests examples

pytest: $(STAMP) services
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP) services
	$(BIN)/pytest tests/integration

e2e: $(STAMP) services
	$(BIN)/pytest tests/e2e

## fuzz: only the schemathesis run against a real server and worker (part of `make test` too)
fuzz: $(STAMP) services
	$(BIN)/pytest -s tests/e2e/test_fuzz_openapi.py

migrate-up: $(STAMP) services
	$(BIN)/amss migrate up --create-database

migrate-down: $(STAMP)
	$(BIN)/amss migrate down

seed: $(STAMP)
	$(BIN)/amss seed

## dev-up / dev-down: the whole stack in Docker Compose (needs a Docker engine)
dev-up:
	docker compose -f deploy/compose.yaml up --build -d

dev-down:
	docker compose -f deploy/compose.yaml down

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
