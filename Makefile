# Seabridge: the only entry points people need. `make help` lists them.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP  := $(VENV)/.setup-stamp
NPM_STAMP := node_modules/.setup-stamp
CONSOLE_VENDOR := src/seabridge/web/console/vendor
# Without npm, setup still builds the Python side and says the console is incomplete.
CONSOLE_STAMP := $(if $(shell command -v npm 2>/dev/null),$(CONSOLE_VENDOR)/.stamp,console-no-npm)
DEMO_OUT ?= demo-out
DEMO_SECONDS ?= 60
BENCH ?=

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint format bench docs clean soak fuzz console-no-npm

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: $(STAMP) $(CONSOLE_STAMP)  ## create .venv, install the locked Python and console (npm) dependencies (quick when nothing changed)

# Re-run only when the lock or the project metadata changed.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

# The console's browser packages: `npm ci` only when the lock changed, then copy the files the
# page loads (maplibre-gl, Natural Earth land, CJK fonts, licences) into its vendor dir.
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CONSOLE_VENDOR)/.stamp: $(NPM_STAMP) scripts/vendor_console.mjs
	node scripts/vendor_console.mjs $(CONSOLE_VENDOR)
	@touch $@

console-no-npm:
	@echo "make setup: npm not found; the console's vendor files are missing (install Node.js 20+)" >&2

demo: setup  ## two federated nodes on built-in East China Sea data for a minute, then the summary
	$(BIN)/seabridge demo --headless --duration $(DEMO_SECONDS) --scenario ecs-mini --workdir $(DEMO_OUT)

lint: setup  ## ruff check, ruff format --check, mypy --strict
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: setup  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: setup lint  ## lint, then the whole test suite
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

soak: setup  ## reliability at full size: 200 kill -9 per process test (R1, R2), every syscall fault (R5), 10,000 messages with 50 faults (R11)
	SEABRIDGE_KILL9_RUNS=200 $(BIN)/python -m pytest -q tests/hotline/test_kill9.py
	SEABRIDGE_FAULT_ALL=1 $(BIN)/python -m pytest -q tests/hotline/test_syscall_faults.py
	SEABRIDGE_SOAK_MESSAGES=10000 SEABRIDGE_SOAK_FAULTS=50 $(BIN)/python -m pytest -q -rP tests/node/test_soak.py

fuzz: setup  ## the parser fuzzers for 60 s each (S10); prints executions per target
	SEABRIDGE_FUZZ_SECONDS=60 $(BIN)/python -m pytest -n 2 -q -rP tests/hotline/test_fuzz.py

bench: setup  ## benchmarks against baselines measured in the same run
	$(BIN)/python -m benchmarks $(BENCH)

docs: setup  ## regenerate the generated pages in docs/ (CLI reference, settings)
	$(BIN)/python -m seabridge.cli._docs docs

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis $(DEMO_OUT) node_modules $(CONSOLE_VENDOR)
