# The two commands of the README's quick start: `make demo` and `make test`.
# Both install what they need into .venv (Python packages) and, for the tests, from Debian:
# groovy and a JRE (Groovy tests), chromium (the report page opened in a headless browser).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint test-python test-groovy bench clean

$(STAMP): python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e 'python[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kie-bluegreen demo

# Groovy first: it installs groovy, which the Python end-to-end test of the steps also uses.
test: lint test-groovy test-python

# The inner loop: the Python tests without those marked slow (crash harness, installed command).
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/python -q -m "not slow"

# The runner's core modules: the one-way flow (config, state, plan, execute, report) and aws/.
CORE := $(addprefix python/src/kie_bluegreen/,model.py steps.py planner.py executor.py journal.py state.py \
	routing.py flows.py report.py preflight.py analysis.py retry.py clock.py context.py errors.py config.py \
	parameters.py iam_policy.py secrets.py kie.py log.py phases aws notify pictures)

lint: $(STAMP)
	$(BIN)/ruff check python/src tests/python bench
	$(BIN)/ruff format --check $(CORE)
	$(BIN)/mypy $(CORE)

test-python: $(STAMP)
	tests/browser/chromium.sh >/dev/null
	$(BIN)/python -m pytest tests/python -q

test-groovy:
	tests/groovy/run.sh

# Not part of `make test`: about 8 minutes of real traffic through the sandbox (every topology the sandbox runs, a weighted release).
bench: $(STAMP)
	$(BIN)/python bench/benchmark.py

clean:
	rm -rf $(VENV)
