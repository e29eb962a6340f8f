# Restorable: the one entry point. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
TOOLS_VENV ?= .venv-tools
PY := $(VENV)/bin/python
TOOLS := $(TOOLS_VENV)/bin
# sam build for python3.13 needs a python3.13 on PATH; pyenv provides one on our machines.
SAM_PYENV ?= $(shell command -v pyenv >/dev/null 2>&1 && pyenv versions --bare | grep -q '^3.13' && echo "$$(pyenv version-name):$$(pyenv versions --bare | grep '^3.13' | tail -1)")
export SAM_CLI_TELEMETRY = 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help install tools test-servers db-servers test lint format build validate demo simulate bench bench-prune clean

help:
	@echo "make demo      run the whole system on the embedded AWS emulator (moto): 100 simulated days, report in demo-output/"
	@echo "make simulate  policy simulator: snapshot counts, quotas, storage and cost over 3 years (SIMULATE_ARGS=...)"
	@echo "make install   the test environment in .venv, with the operator's command: .venv/bin/restorable --help"
	@echo "make test      run the whole test suite (installs what it needs)"
	@echo "make lint      ruff, mypy, sam validate --lint, cfn-lint"
	@echo "make build     sam build (python3.13, arm64)"
	@echo "make bench     benchmarks: API calls per run, cold-start import time"
	@echo "make bench-prune  prune pass API calls over 100 x 40 recovery points in two Regions; 100k-point planning time"

$(VENV)/.installed: requirements/dev.txt layers/core/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	# the `restorable` command (operator_cli + the core package from layers/core), editable
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(TOOLS_VENV)/.installed: requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS)/python -m pip install --quiet --upgrade pip
	$(TOOLS)/python -m pip install --quiet -r requirements/tools.txt
	touch $@

install: $(VENV)/.installed
tools: $(TOOLS_VENV)/.installed

# PostgreSQL, MariaDB (drill SQL-check tests) and Chromium (the demo's HTML report test).
test-servers:
	bash scripts/install-test-servers.sh

db-servers: test-servers

test: install tools test-servers
	STATELINT="$(abspath $(TOOLS))/statelint" $(PY) -m pytest -n 2 $(PYTEST_ARGS)

demo: install
	$(PY) -m local_runtime $(DEMO_ARGS)

simulate: install
	$(PY) -m policy_simulator $(SIMULATE_ARGS)

bench: install
	$(PY) -m benchmarks
	$(PY) -m benchmarks.elasticache
	$(PY) -m benchmarks.simulation

bench-prune: install
	$(PY) -m benchmarks.prune

lint: install tools
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/core/restorable functions local_runtime policy_simulator operator_cli
	$(TOOLS)/sam validate --lint --region $(AWS_DEFAULT_REGION)
	$(TOOLS)/cfn-lint template.yaml
	$(TOOLS)/statelint statemachines/*.asl.json

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

build: tools
	PATH="$(abspath $(TOOLS_VENV))/bin:$$PATH" PYENV_VERSION="$(SAM_PYENV)" $(TOOLS)/sam build --region $(AWS_DEFAULT_REGION)

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
