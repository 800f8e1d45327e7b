# TVR Dashboard. `make run` to try it, `make test` to check it. Needs Python 3.12 or newer.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A .env file, if present, sets the environment for every target.
ifneq (,$(wildcard .env))
include .env
export
endif
HOST ?= 127.0.0.1
PORT ?= 8000

# The first Python >= 3.12: on PATH first, then any pyenv-installed version.
define find_python
for c in python3.14 python3.13 python3.12 python3 python; do \
  p=$$(command -v $$c 2>/dev/null) || continue; \
  "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo "$$p"; exit 0; }; \
done; \
if command -v pyenv >/dev/null 2>&1; then \
  for v in $$(pyenv versions --bare 2>/dev/null | sort -rV); do \
    p="$$(pyenv root)/versions/$$v/bin/python3"; \
    [ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo "$$p"; exit 0; }; \
  done; \
fi
endef

.PHONY: run test lint format bench install worker clean

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then \
	  python=$$($(find_python)); \
	  if [ -z "$$python" ]; then \
	    echo "TVR Dashboard needs Python 3.12 or newer (Django 6.1). None was found on PATH or in pyenv." >&2; \
	    echo "Install one (e.g. 'pyenv install 3.12') and run make again." >&2; exit 1; \
	  fi; \
	  echo "Creating $(VENV) with $$python"; "$$python" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Installs, migrates, seeds the sandbox, creates demo users, starts the task worker and serves
# on http://$(HOST):$(PORT) (make run PORT=8001 HOST=0.0.0.0). Stopping it (Ctrl-C, or the
# server ending) stops the worker it started, and nothing else.
run: $(STAMP)
	@$(PY) -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("$(HOST)", $(PORT)))' 2>/dev/null \
	  || { echo "port $(PORT) is in use: make run PORT=$$(( $(PORT) + 1 ))" >&2; exit 1; }
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_sandbox --if-empty
	$(PY) manage.py create_demo_users
	$(PY) manage.py sync_requests --quiet || true
	@DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(PY) manage.py db_worker --interval 0.5 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(PY) manage.py runserver $(HOST):$(PORT)

worker: $(STAMP)
	$(PY) manage.py db_worker

# Lint, then every test including the browser tests (they skip, saying why, without Chromium).
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run >/dev/null || { echo "Model changes without a migration: run manage.py makemigrations" >&2; exit 1; }
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Benchmarks (bench/, outside the product) print figures; they are never part of `make test`.
# Their own databases: a throwaway SQLite file and BENCH_POSTGRES (created if missing).
# Results in .bench/.
BENCH_POSTGRES ?= postgres://postgres@127.0.0.1:5432/tvr_bench
BENCH_WHAT ?= sync pages
bench: $(STAMP)
	@mkdir -p .bench && rm -f .bench/bench.sqlite3*
	DATABASE_URL=sqlite:///$(CURDIR)/.bench/bench.sqlite3 $(PY) -m bench $(BENCH_WHAT)
	DATABASE_URL=$(BENCH_POSTGRES) $(PY) -m bench $(BENCH_WHAT)

clean:
	rm -rf $(VENV) staticfiles .bench
