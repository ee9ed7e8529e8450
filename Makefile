# Two commands matter: `make run` (local gateway on the Bedrock emulator) and `make test`.
# Both set themselves up (virtualenv, pip, npm ci) idempotently, offline from AWS.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .venv-tools
ENV ?= dev
PORT ?= 8080

# jsii warns loudly about Node 20; the CLI phones home for notices, telemetry and versions.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := 1
export CDK_DISABLE_VERSION_CHECK := 1
CDK := npx --no-install cdk --no-notices

.PHONY: help setup run emulator test checks-on-templates lint typecheck unit synth synth-check cfn-lint checkov fmt docs security-report doctor catalog-check keys ingest load bench deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.stamp: requirements.txt requirements-dev.txt lambdas/gateway/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
# The gateway's vendored distributions first and on their own (pip wants hashes for all or none),
# so the dev install finds them installed; then check that it kept the pinned versions.
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r lambdas/gateway/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -c 'import pathlib, stacks.components.gateway_bundle as b; \
		b.check_pins(pathlib.Path("lambdas/gateway/requirements.txt"))'
	@touch $@

# The clients app teams use, pinned apart (tests/compat runs each against the local gateway).
$(VENV)/.compat-stamp: $(VENV)/.stamp requirements-compat.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-compat.txt
	@touch $@

tests/compat/node_modules/.stamp: tests/compat/package.json tests/compat/package-lock.json
	npm ci --prefix tests/compat --no-audit --no-fund --loglevel=error
	@touch $@

$(TOOLS)/.stamp: requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	@touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.stamp node_modules/.stamp ## Create the virtualenv and install the pinned CDK CLI

run: setup ## Synthesize every stack, then serve the gateway on the emulator at 127.0.0.1:$(PORT)
	$(CDK) synth -q -c env=$(ENV) > /dev/null
	PORT=$(PORT) $(PY) -m local.run --env $(ENV)

emulator: setup ## Run only the Bedrock emulator (port 4010)
	$(PY) -m local.emulator --port 4010

test: setup ## Lint, types, tests, synth with 3 cdk-nag packs, cfn-lint, checkov
	@# Independent checks side by side (mypy and pytest each keep one core busy); each one's
	@# output stays together.
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck unit checks-on-templates
	@echo "make test: all checks passed"

checks-on-templates: cfn-lint checkov

lint: setup ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup ## mypy --strict on the stacks, the Lambda code, the catalog and the local tools
	$(VENV)/bin/mypy stacks lambdas local bench model_catalog app.py

unit: setup $(VENV)/.compat-stamp tests/compat/node_modules/.stamp ## The pytest suite (in-process synth, loopback end-to-end and client compatibility tests)
	$(PY) -m pytest -q

synth: setup ## cdk synth ENV (default dev) into cdk.out, with cdk-nag
	$(CDK) synth -q -c env=$(ENV)

# Every environment, each into its own folder, then cfn-lint on all of them.
synth-check: setup
	@# Start from empty folders: a stack renamed or removed must not leave a template behind.
	rm -rf cdk.out .build/cdk.out.prod
	$(CDK) synth -q -c env=dev -o cdk.out > /dev/null
	$(CDK) synth -q -c env=prod -o .build/cdk.out.prod > /dev/null

# W3005: CDK's own custom-resource provider declares a DependsOn that a GetAtt already implies.
# W3010: a config that fixes its region names its availability zones (network.availability_zones)
# because synthesis never looks them up in an account; the names come from the platform team.
cfn-lint: synth-check
	$(VENV)/bin/cfn-lint --ignore-checks W3005,W3010 -- cdk.out/*.template.json .build/cdk.out.prod/*.template.json

docs: setup ## Regenerate docs/models.md from the model catalog (model_catalog/data)
	$(PY) -m local.catalog_doc

security-report: setup ## Regenerate docs/security/report-<env>.md from each environment's templates
	$(PY) -m local.security_report

doctor: setup ## Model access pre-flight for ENV with your AWS credentials (read-only)
	$(PY) -m local.doctor --env $(ENV)

catalog-check: setup ## Compare the model catalog with what Bedrock reports for ENV (your credentials, read-only)
	$(PY) -m local.catalog_check --env $(ENV) $(if $(PRICES),--prices)

keys: setup ## API keys of ENV with your AWS credentials: make keys ARGS="create --team NAME" (list, rotate, revoke)
	$(PY) -m local.keys --env $(ENV) $(ARGS)

ingest: setup ## Sync knowledge base KB of ENV and report (AWS; or ENDPOINT=<emulator URL of make run>)
	@test -n "$(KB)" || { echo "usage: make ingest KB=NAME [ENV=dev] [ENDPOINT=http://127.0.0.1:PORT]"; exit 1; }
	$(PY) -m local.ingest --env $(ENV) --kb $(KB) $(if $(ENDPOINT),--endpoint-url $(ENDPOINT))

load: setup ## Bounded load on loopback: throughput, p50/p99, errors, memory, one log line per request
	$(PY) -m local.load

bench: setup ## Cold start, warm overhead and asset size against the raw boto3 floor
	$(PY) bench/run.py

# Zero failed checks; each skip is recorded, with its reason, in the resource's template metadata
# (reasons: stacks/components/reasons.py). --skip-download keeps checkov offline.
checkov: synth-check $(TOOLS)/.stamp
	$(TOOLS)/bin/checkov --framework cloudformation --skip-download --quiet --compact \
		-d cdk.out -d .build/cdk.out.prod

fmt: setup ## Format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

deploy: setup ## Deploy ENV with your AWS credentials (the only target that talks to AWS)
	$(CDK) deploy -c env=$(ENV) -c deploy=true --all

clean: ## Remove generated output (keeps the virtualenv and node_modules)
	rm -rf cdk.out .build .pytest_cache .mypy_cache .ruff_cache
