# The single entry point. `make run` serves the embedded demo; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Development runs use DEBUG=true unless the caller says otherwise.
DEV    := DEBUG=$${DEBUG:-true}

.PHONY: run test lint format worker beat bench migrate clean

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BIN)/.dev-installed: $(BIN)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

migrate: $(BIN)/.installed
	$(DEV) $(BIN)/python manage.py migrate --noinput

run: migrate
	$(DEV) $(BIN)/python manage.py seed_demo
	@echo "Serving http://$(HOST):$(PORT)/"
	$(DEV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(BIN)/.dev-installed
	$(DEV) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
