# Two commands: `make run` (serve the embedded default) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# Two processes by default (this machine has two cores); PYTEST_ARGS="-n 0 ..." for one.
PYTEST_ARGS ?= -n 2
# Browser tests use Debian's /usr/bin/chromium (scripts/ensure-system-deps --test installs it).
# The playwright pip package never downloads a browser by itself (only `playwright install`
# does); this makes sure nothing it pulls in tries to either.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-run

# scripts/ensure-system-deps is a few `command -v` checks when all is there; it installs
# Debian's ffmpeg (and, with --test, chromium) only when something is missing.
run: $(VENV)/.installed-run
	scripts/ensure-system-deps
	$(BIN)/videocoach serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test
	scripts/ensure-system-deps --test
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
