# Two commands set everything up on a fresh machine with Python 3.11 and make:
#   make run    — install, migrate, and run the bot (the sandbox when BOT_TOKEN is not set)
#   make test   — install and run the whole test suite (PostgreSQL leg too if TEST_DATABASE_URL)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYBABEL := $(VENV)/bin/pybabel
STAMP := $(VENV)/.installed

.PHONY: install run test lint locales-update locales-compile bench seed-demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) locales-compile

run: install
	$(PY) -m bot run

test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	@echo "== SQLite leg"
	env -u TEST_DATABASE_URL $(PY) -m pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== PostgreSQL leg: $$TEST_DATABASE_URL"; \
		$(PY) -m pytest -q -p no:cacheprovider; \
	fi

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

seed-demo: install
	$(PY) -m bot seed-demo

bench: install
	$(PY) -m bench.catalog

# i18n: extract from code and merge into both catalogues (scripts/i18n.py), compile (.mo is
# build output, not committed).
locales-update: $(STAMP)
	$(PY) scripts/i18n.py sync

locales-compile: $(STAMP)
	$(PYBABEL) compile -d locales -D messages --statistics
