# Ledger: every target sets up what it needs, so a fresh clone needs only
# Python 3.11 and make.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROTOS := $(wildcard protos/ledger/v1/*.proto)
GEN    := client/ledger/v1
# Exact versions of every package, tested by CI; `make lock` rewrites it.
LOCK   := constraints.txt
# `make run LISTEN=host:port` passes --listen; without it `ledger serve` reads LEDGER_LISTEN
# and then its default (127.0.0.1:50051), as it does every setting: flag > env > default.
LISTEN ?=
# Options for every benchmark, e.g. `make bench BENCH_ARGS="--quick --workers 1"`.
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install lock run migrate test lint fmt gen check-gen breaking bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# The stamp depends on the lock too: a new lock reinstalls, so .venv holds what CI tested.
$(STAMP): pyproject.toml $(LOCK)
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c $(LOCK) --upgrade pip
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install Ledger with its dev tools, versions from constraints.txt

lock: ## Resolve every dependency anew into constraints.txt (then review and commit it)
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	@set -e; fresh=$$(mktemp -d); trap 'rm -rf "$$fresh"' EXIT; \
	echo "resolving in a fresh virtualenv ($$fresh)"; \
	$(PYTHON) -m venv "$$fresh"; \
	"$$fresh/bin/pip" install --quiet --upgrade pip; \
	"$$fresh/bin/pip" install --quiet -e '.[dev]'; \
	{ echo "# Every package Ledger installs, at the versions CI tests: make install uses it"; \
	  echo "# as pip constraints (-c). Written by make lock from a fresh virtualenv"; \
	  echo "# ($$("$$fresh/bin/python" -c 'import platform; print(platform.python_implementation(), platform.python_version(), platform.system(), platform.machine())')); do not edit by hand."; \
	  "$$fresh/bin/pip" freeze --all --exclude-editable; } > $(LOCK).new; \
	mv $(LOCK).new $(LOCK); \
	echo "wrote $(LOCK): review with git diff, then commit it"

run: $(STAMP) ## Serve on LEDGER_LISTEN or 127.0.0.1:50051 (embedded PostgreSQL unless DATABASE_URL)
	$(BIN)/ledger serve $(if $(LISTEN),--listen $(LISTEN)) $(if $(DATABASE_URL),,--migrate)

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

bench: $(STAMP) ## Run every benchmark in bench/ (BENCH_ARGS=--quick: shorter, noisier)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean: ## Remove the virtualenv and .ledger: the embedded database AND the evaluation blob store under it
	@echo "removing $(VENV) and .ledger (embedded PostgreSQL, and evaluation blobs unless LEDGER_BLOB_DIR put them elsewhere)"
	rm -rf $(VENV) .ledger

.PHONY: mutate
mutate: $(STAMP) ## Mutation testing of domain/ and rpc/errors.py against tests/unit (minutes)
	$(BIN)/python tests/mutation/run.py
