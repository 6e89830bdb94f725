# `make run` starts the product on this machine; `make test` runs lint (ruff, mypy) and the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000
# The suite runs again on PostgreSQL when this server answers (its test database is created and dropped).
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/chatops

.PHONY: run test lint install prod workers browser
# `make prod`: the production start (README, "Production"); settings come from the environment or .env.
QCLUSTERS ?= 2
PROMETHEUS_MULTIPROC_DIR ?= /tmp/chatops-metrics

$(VENV)/.installed: requirements.txt requirements-dev.txt examples/oncall-plugin/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# The demo's services are pinned to commits of small git repositories that seed_demo makes here.
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo
	@echo "ChatOps control room: http://127.0.0.1:$(PORT)/  (admin at /admin/, health at /healthz)"
	@echo "Try it:  $(PY) manage.py chatops --as alice \"/deploy web-app staging\""
	@echo
	export DJANGO_DEBUG=$${DJANGO_DEBUG:-true} CHATOPS_DEMO_ALARMS=$${CHATOPS_DEMO_ALARMS:-true}; \
		$(PY) manage.py qcluster & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
		$(PY) manage.py runserver 127.0.0.1:$(PORT)

prod: $(VENV)/.installed
	$(PY) manage.py check --deploy --fail-level WARNING
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	rm -rf $(PROMETHEUS_MULTIPROC_DIR) && mkdir -p $(PROMETHEUS_MULTIPROC_DIR)
	export PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR); \
		for i in $$(seq $(QCLUSTERS)); do $(PY) manage.py qcluster & done; \
		trap 'kill $$(jobs -p) 2>/dev/null' EXIT INT TERM; \
		$(BIN)/gunicorn -c gunicorn.conf.py

# More queue workers, on this or another machine (same settings; no migrate, no web).
workers: $(VENV)/.installed
	mkdir -p $(PROMETHEUS_MULTIPROC_DIR)
	export PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR); \
		for i in $$(seq $(QCLUSTERS)); do $(PY) manage.py qcluster & done; \
		trap 'kill $$(jobs -p) 2>/dev/null' EXIT INT TERM; wait

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The browser tests drive Debian's Chromium (Playwright's own browser download needs the internet):
# installed here when missing and we are root; otherwise those tests are skipped and say why.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
		else \
			echo "== Chromium is missing and this is not root: the browser tests will be skipped =="; \
		fi; \
	fi

# The suite runs in two processes (pytest-xdist), one per core of a CI machine.
PYTEST := $(BIN)/pytest -n 2

test: lint browser
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PYTEST)
	@if $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), timeout=1).close()" 2>/dev/null; then \
		echo "== PostgreSQL is reachable: the suite again on PostgreSQL =="; \
		DATABASE_URL=$(TEST_POSTGRES_URL) $(PYTEST); \
	else \
		echo "== PostgreSQL is not reachable on 127.0.0.1:5432: skipped the PostgreSQL run =="; \
	fi
