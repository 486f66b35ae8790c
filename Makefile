# The single entry point. `make run` serves the embedded demo; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Development runs use DEBUG=true unless the caller says otherwise.
DEV    := DEBUG=$${DEBUG:-true}
# Links in e-mails and pages point at the address `make run` serves.
SITE   := SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)}

.PHONY: run test lint format worker beat bench migrate clean

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BIN)/.dev-installed: $(BIN)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The development settings, read by the checkout's manage.py and pytest too (git-ignored).
.env:
	printf '%s\n' '# Written by make: development settings for manage.py and pytest in this checkout.' \
	  '# The environment overrides them. Never deploy a checkout that has this file.' \
	  'DEBUG=true' >$@

migrate: $(BIN)/.installed .env
	$(DEV) $(BIN)/python manage.py migrate --noinput

run: migrate
	$(DEV) $(SITE) $(BIN)/python manage.py seed_demo
	@echo "Serving http://$(HOST):$(PORT)/"
	$(DEV) $(SITE) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The suite runs in TEST_PROCESSES processes (pytest-xdist), a whole test file to one
# process: each has its own test database, Celery worker and queue; a file's module-wide
# fixtures (the reliability suite's stacks) stay in one process.
TEST_PROCESSES ?= 2
test: $(BIN)/.dev-installed .env
	$(DEV) $(BIN)/python -m pytest --numprocesses=$(TEST_PROCESSES) --dist=loadfile $(PYTEST_ARGS)

lint: $(BIN)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(BIN)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: $(BIN)/.installed
	$(BIN)/celery -A governance worker --loglevel=INFO

beat: $(BIN)/.installed
	$(BIN)/celery -A governance beat --loglevel=INFO

bench: $(BIN)/.dev-installed
	@for script in bench/*.py; do echo "== $$script"; $(DEV) $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .env
