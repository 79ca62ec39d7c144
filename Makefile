# The gateway's two everyday commands: `make run` and `make test`. Each builds .venv first.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test worker migrate demo bench lint schema chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the API in embedded mode (SQLite under ./data, in-process tasks)
	$(BIN)/python main.py serve

PYTEST_WORKERS ?= 3  # pytest-xdist processes: the tests mostly wait on I/O, so more than cores

test: $(STAMP) chromium  ## every test, on SQLite and on PostgreSQL + Redis, and in Chromium
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

chromium:  ## Debian's Chromium for the browser tests (Playwright never downloads one)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is not installed: the browser tests will be skipped (sudo apt-get install chromium)"; \
	  fi; }

worker: $(STAMP)  ## an arq worker (needs REDIS_URL and DATABASE_URL)
	$(BIN)/python main.py worker

migrate: $(STAMP)
	$(BIN)/python main.py migrate

demo: $(STAMP)  ## the quick start against a running gateway: prints a checkout URL
	$(BIN)/python main.py demo

bench: $(STAMP)  ## the benchmarks (PostgreSQL and Redis on this machine)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.live  # live updates: a fleet of its own, after the main run

lint: $(STAMP)
	$(BIN)/ruff check .

schema: $(STAMP)  ## re-export schema.graphql (committed, for client generators)
	$(BIN)/python -m schema.export > schema.graphql
