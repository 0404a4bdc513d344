# Ledger: every target sets up what it needs, so a fresh clone needs only
# Python 3.11 and make.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROTOS := $(wildcard protos/ledger/v1/*.proto)
GEN    := client/ledger/v1
LISTEN ?= 127.0.0.1:50051

.DEFAULT_GOAL := help
.PHONY: help install run migrate test lint fmt gen check-gen breaking bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install Ledger with its dev tools

run: $(STAMP) ## Serve on 127.0.0.1:50051 (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/ledger serve --listen $(LISTEN) $(if $(DATABASE_URL),,--migrate)

migrate: $(STAMP) ## Apply migrations to DATABASE_URL (or the embedded database)
	$(BIN)/ledger migrate

test: $(STAMP) ## Run the whole suite against real PostgreSQL
	$(BIN)/pytest -q

lint: $(STAMP) ## ruff, mypy --strict, buf lint, buf format
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/buf lint
	$(BIN)/buf format -d --exit-code

fmt: $(STAMP) ## Format Python and protos in place
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/buf format -w

gen: $(STAMP) ## Generate client/ledger/v1 from protos/
	rm -f $(GEN)/*_pb2*.py $(GEN)/*_pb2*.pyi
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc -I protos \
	  --python_out=client --mypy_out=client \
	  --grpc_python_out=client --mypy_grpc_out=client \
	  $(PROTOS)

check-gen: gen ## Regenerate and fail if the committed code differs
	@git diff --exit-code -- $(GEN) && test -z "$$(git status --porcelain -- $(GEN))" \
	  || { echo "generated code is stale: run 'make gen' and commit"; exit 1; }

breaking: $(STAMP) ## buf breaking against main
	$(BIN)/buf breaking --against '.git#branch=main'

bench: $(STAMP) ## Run the benchmarks (prints ratios to this machine's limits)
	$(BIN)/python bench/results_store.py

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) .ledger

.PHONY: mutate
mutate: $(STAMP) ## Mutation testing of domain/ and rpc/errors.py against tests/unit (minutes)
	$(BIN)/python tests/mutation/run.py
