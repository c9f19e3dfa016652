# Lotwise: `make run` serves the app with demo data, `make test` runs the whole suite.
# Both set everything up on a fresh machine: .venv, the project with its test extras, npm packages.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup migrate bench clean

setup: $(STAMP) pwa/node_modules/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

# npm packages for the PWA, once pwa/ has a package.json.
pwa/node_modules/.installed: $(wildcard pwa/package.json pwa/package-lock.json)
	@if [ -f pwa/package.json ]; then cd pwa && npm ci --no-audit --no-fund && touch node_modules/.installed; \
	else mkdir -p pwa/node_modules && touch $@; fi

migrate: setup
	$(BIN)/lotwise db upgrade

run: migrate
	$(BIN)/lotwise demo
	$(BIN)/lotwise serve --host $(HOST) --port $(PORT)

test: setup
	node --test pwa/tests/
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/decode.py
	$(BIN)/python bench/sync_push.py
	$(BIN)/python bench/pwa.py

clean:
	rm -rf $(VENV) pwa/node_modules .pytest_cache .hypothesis
