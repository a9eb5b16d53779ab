# Sluice — the README gives two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_USERS ?= 100000
DEMO_DB := .sluice/demo.duckdb

.PHONY: setup run test lint typecheck unit bench clean services web web-types web-types-check web-test e2e-deps

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip sync --quiet -p $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet -p $(BIN)/python --no-deps -e .
	touch $(STAMP)

run: setup web
	@test -f $(DEMO_DB) || $(BIN)/sluice demo init --users $(DEMO_USERS) --path $(DEMO_DB)
	$(BIN)/sluice db upgrade
	$(BIN)/sluice demo up --warehouse $(DEMO_DB) --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

test: setup lint typecheck web-types-check web web-test e2e-deps
	bash .ci/services.sh
	$(BIN)/pytest -n 2 --dist loadfile tests

# --- web app (web/): npm ci from the committed lock, types generated from the OpenAPI document ---
WEB_STAMP := web/node_modules/.installed
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

web: web/dist/index.html

web/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run --silent build

# Regenerate web/openapi.json and web/src/api/schema.d.ts after changing the API; commit both.
web-types: setup $(WEB_STAMP)
	$(BIN)/sluice openapi -o web/openapi.json
	cd web && npx --no-install openapi-typescript openapi.json -o src/api/schema.d.ts

# Compares the committed API types with the API. Stale types fail with WEB_TYPES_STRICT=1 (fix:
# make web-types, commit both files); otherwise they are regenerated in place with a loud warning,
# so the build and its type check always run against the real API.
WEB_TYPES_STRICT ?= 0
web-types-check: setup $(WEB_STAMP)
	@tmp=$$(mktemp -d) && $(BIN)/sluice openapi -o $$tmp/openapi.json 2>/dev/null \
	  && (cd web && npx --no-install openapi-typescript $$tmp/openapi.json -o $$tmp/schema.d.ts >/dev/null) \
	  && if cmp -s $$tmp/openapi.json web/openapi.json && cmp -s $$tmp/schema.d.ts web/src/api/schema.d.ts; then \
	       echo "web API types are up to date"; rm -rf $$tmp; \
	     else diff -u web/openapi.json $$tmp/openapi.json | head -30; \
	       echo "WARNING: web/src/api/schema.d.ts is stale: run 'make web-types' and commit web/openapi.json and web/src/api/schema.d.ts"; \
	       if [ "$(WEB_TYPES_STRICT)" = 1 ]; then rm -rf $$tmp; exit 1; fi; \
	       cp $$tmp/openapi.json web/openapi.json && cp $$tmp/schema.d.ts web/src/api/schema.d.ts && rm -rf $$tmp; fi

web-test: $(WEB_STAMP)
	cd web && npx --no-install vitest run

# The e2e tests drive Debian's Chromium (never a downloaded browser build).
e2e-deps:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; }

bench: setup
	$(BIN)/sluice bench --help

# Regenerate the lock after editing dependencies in pyproject.toml.
lock:
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev -p 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .sluice .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist
