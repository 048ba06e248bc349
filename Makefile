# Quorum: `make run` brings up the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test lint format ci bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The demo: Quorum's own error pages (not Django's debug pages), a secret key kept in var/,
# warnings and errors only (LOG_LEVEL=INFO make run for requests and more), and the demo
# sign-ins printed last, once the web server and the worker are up.
run: $(VENV)/.installed
	QUORUM_DEMO=1 PORT=$(PORT) $(PY) manage.py run_demo

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

ci:
	bash .ci/run

clean:
	rm -rf var/test-* var/broker var/cache
