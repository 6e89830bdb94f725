# `make run` starts the product on this machine; `make test` runs lint and the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000
# The suite runs again on PostgreSQL when this server answers (its test database is created and dropped).
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/chatops

.PHONY: run test lint install

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo
	@echo "ChatOps control room: http://127.0.0.1:$(PORT)/  (admin at /admin/, health at /healthz)"
	@echo "Try it:  $(PY) manage.py chatops --as alice \"/deploy web-app staging\""
	@echo
	export DJANGO_DEBUG=$${DJANGO_DEBUG:-true}; \
		$(PY) manage.py qcluster & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
		$(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest
	@if $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), timeout=1).close()" 2>/dev/null; then \
		echo "== PostgreSQL is reachable: the suite again on PostgreSQL =="; \
		DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest; \
	else \
		echo "== PostgreSQL is not reachable on 127.0.0.1:5432: skipped the PostgreSQL run =="; \
	fi
