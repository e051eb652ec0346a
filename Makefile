# polytui developer tasks. `make test` works on a brand-new machine: it creates the venv,
# installs the package with pinned test dependencies, anvil (a real EVM node) and headless
# Chromium, then runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
ANVIL_VERSION := 1.7.1
ANVIL := .tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
STAMP := $(VENV)/.installed
# Headless Chromium for the browser test of `polytui serve`: Debian's package, like anvil
# installed when missing (as root here and in CI; through sudo elsewhere).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: test lint typecheck bench reliability screenshots clean install

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml requirements-test.txt constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-test.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $(STAMP)

$(ANVIL):
	npm install --no-audit --no-fund --prefix .tools @foundry-rs/anvil-linux-amd64@$(ANVIL_VERSION)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

install: $(STAMP) $(ANVIL) $(CHROMIUM)

lint: $(STAMP)
	$(BIN)/ruff check polytui tests bench
	$(BIN)/ruff format --check polytui tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Slow and reliability tests run here in their reduced form (POLYTUI_FULL unset), and every
# benchmark in its smoke form (a few seconds each, figures printed, nothing timed asserted).
# Two xdist workers share the cores (the tests spend much of their time waiting on sockets and
# child processes).
test: install lint typecheck
	env -u NO_COLOR -u POLYTUI_FULL $(BIN)/python -m pytest -q -n 2 tests
	env -u NO_COLOR $(BIN)/python -m bench --smoke

# Full size: chaos 1,000 fault cycles, garbage 10^5 frames per protocol, crash 100 kills, plus
# the RiskGuard property run at full size. Each test prints a "RELIABILITY <name> ..." line.
reliability: install
	POLYTUI_FULL=1 $(BIN)/python -m pytest -q -s -m reliability tests
	POLYTUI_FULL=1 $(BIN)/python -m pytest -q -s tests/strategy/test_risk_properties.py

bench: install
	$(BIN)/python -m bench

screenshots: install
	$(BIN)/python -m polytui.tui.screenshots screenshots

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
