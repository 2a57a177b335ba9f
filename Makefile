# Relay: the two commands a newcomer needs are `make up` and `make test`; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv system-deps test lint up down clean status token js-deps web bench loadtest bench-deps bench-compare preview deploy verify

help:
	@echo "make up        start the local production topology (https://localhost:8443)"
	@echo "make down      stop what make up started (data kept)"
	@echo "make clean     make down, then remove the local state in .local/"
	@echo "make test      set up and run every test suite"
	@echo "make status    what the local topology runs (pids, ports)"
	@echo "make token USER=alice   print a session token for the local topology"
	@echo "make verify URL=https://...   post-deployment checks end to end (runbooks/procedures/post-deployment-verification.md)"
	@echo "make bench [BENCH_ARGS=--find-max]   fan-out benchmark against make up"
	@echo "make bench-compare [BENCH_COMPARE_ARGS=...]   Relay vs a Node socket.io reference, 3 rounds (~15 min)"
	@echo "make loadtest URL=... SCENARIO=mixed USERS=50 DURATION=1m [SHAPE=ramp] [SLO=path]   locust run with the SLO gate"
	@echo "make preview STACK=prod   pulumi preview with the policy pack (needs the Pulumi CLI and AWS credentials)"
	@echo "make deploy STACK=prod    pulumi up with the policy pack (same needs)"

# One virtualenv for the service, the Pulumi program and the test tools; rebuilt when a pin changes.
# loadtests/requirements.lock pins the load generator's transitive dependencies (constraints only).
$(STAMP): app/requirements.lock app/pyproject.toml requirements-dev.txt loadtests/requirements.lock $(wildcard requirements.txt)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r app/requirements.lock -r requirements-dev.txt $(if $(wildcard requirements.txt),-r requirements.txt) \
	  -c loadtests/requirements.lock
	$(BIN)/pip install -q --no-deps -e app
	touch $@

venv: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

lint: venv
	$(BIN)/ruff check app/src app/migrations infra tests topology loadtests runbooks

# The local production topology (topology/): haproxy -> 2 supervised replicas -> Postgres, Redis, moto.
up: venv system-deps web
	$(BIN)/python -m topology up

down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m topology down; else echo "make down: nothing to stop"; fi

# Local state only (.local/: certificates, keys, logs, an own Redis/Postgres if make up started one);
# the machine's shared Postgres keeps the relay database.
clean: down
	rm -rf .local

status: venv
	@$(BIN)/python -m topology status

# Post-deployment verification of any deployment (python -m runbooks verify). Tokens come from
# RELAY_TEST_TOKEN_COMMAND or RELAY_TEST_TOKEN_FILE, else the local topology's minter; CA=path
# trusts a private CA (for localhost the topology's own CA is found by itself).
verify: venv
ifndef URL
	$(error make verify needs the deployment's URL: make verify URL=https://localhost:8443)
endif
	$(BIN)/python -m runbooks verify "$(URL)" $(if $(CA),--ca-cert "$(CA)")

# USER is also the login name in the environment: only an explicit USER=... on the command line counts.
token:
ifneq ($(origin USER),command line)
	$(error make token needs a user name: make token USER=alice)
endif
	@$(MAKE) -s --no-print-directory venv >&2
	@$(BIN)/python -m topology token --user "$(USER)"

# The official JavaScript Socket.IO client the e2e tests drive (tests/e2e/js/package-lock.json).
JS_STAMP := tests/e2e/js/node_modules/.installed
$(JS_STAMP): tests/e2e/js/package.json tests/e2e/js/package-lock.json
	npm ci --prefix tests/e2e/js --no-audit --no-fund --loglevel=error
	touch $@

js-deps: $(JS_STAMP)

# The web client (app/web): fingerprinted assets in app/web/dist, as the Dockerfile's web stage builds them.
WEB_DIST := app/web/dist/index.html
$(WEB_DIST): app/web/package.json app/web/package-lock.json app/web/build.mjs $(wildcard app/web/src/*)
	npm ci --prefix app/web --no-audit --no-fund --loglevel=error
	node app/web/build.mjs

web: $(WEB_DIST)

# Fan-out benchmark against the running `make up` topology (README, "Performance").
# BENCH_ARGS, e.g. "--find-max --p99-limit-ms 250"; the default is the 4,000 deliveries/s gate.
FANOUT_STAMP := loadtests/fanout/node_modules/.installed
$(FANOUT_STAMP): loadtests/fanout/package.json loadtests/fanout/package-lock.json
	npm ci --prefix loadtests/fanout --no-audit --no-fund --loglevel=error
	touch $@

bench: venv $(FANOUT_STAMP)
	$(BIN)/python -m loadtests.bench_fanout $(BENCH_ARGS)

# The Node reference server of bench-compare (loadtests/node-reference/package-lock.json).
NODE_REFERENCE_STAMP := loadtests/node-reference/node_modules/.installed
$(NODE_REFERENCE_STAMP): loadtests/node-reference/package.json loadtests/node-reference/package-lock.json
	npm ci --prefix loadtests/node-reference --no-audit --no-fund --loglevel=error
	touch $@

# The generator and the reference, for bench-compare and tests/loadtests/test_node_reference.py.
bench-deps: $(FANOUT_STAMP) $(NODE_REFERENCE_STAMP)

# Relay (against `make up`, or BENCH_COMPARE_ARGS="--topology own") against the Node reference,
# alternating for 3 rounds; outside `make test` (README, "Performance").
bench-compare: venv bench-deps
	$(BIN)/python -m loadtests.bench_compare $(BENCH_COMPARE_ARGS)

# Locust, headless, with the SLO gate (loadtests/README.md). With SHAPE, USERS is the peak and DURATION
# the total; URL defaults to make up's; LOADTEST_ARGS passes more options to loadtests/run.py (e.g. --processes 2).
SCENARIO ?= mixed
USERS ?= 50
DURATION ?= 1m
loadtest: venv
	$(BIN)/python -m loadtests.run --url "$(or $(URL),https://localhost:8443)" --scenario "$(SCENARIO)" --users "$(USERS)" \
	  --duration "$(DURATION)" $(if $(SHAPE),--shape "$(SHAPE)") $(if $(SLO),--slo "$(SLO)") $(LOADTEST_ARGS)

# pytest exits 5 when it collected nothing: no tests is a failure, not a pass.
test: venv system-deps js-deps web bench-deps lint
	$(BIN)/pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: no tests collected" >&2; exit 1; fi; exit $$status

# Infrastructure (docs/platform-engineers.md). The Pulumi CLI and cloud credentials are the
# operator's: nothing here installs them or reads them. The policy pack runs on every preview and
# deploy; staging relaxes only what infra/policy/config/staging.json lists.
STACK ?= prod
PULUMI ?= pulumi
define pulumi_stack
	@case "$(STACK)" in prod|staging) ;; *) echo "make $@: STACK must be prod or staging (Pulumi.<stack>.yaml), not '$(STACK)'" >&2; exit 2;; esac
	@command -v $(PULUMI) >/dev/null 2>&1 || { \
	  echo "make $@: the Pulumi CLI is not installed, so nothing was previewed or deployed." >&2; \
	  echo "  It needs: the Pulumi CLI (https://www.pulumi.com/docs/install/), 'pulumi login' to the state backend," >&2; \
	  echo "  and AWS credentials for the $(STACK) account (e.g. 'aws sso login --profile relay-$(STACK)'," >&2; \
	  echo "  then AWS_PROFILE=relay-$(STACK)). See docs/platform-engineers.md, 'Prerequisites'." >&2; \
	  exit 1; }
	$(PULUMI) $(1) --stack $(STACK) --policy-pack infra/policy $(POLICY_PACK_CONFIG)
endef
# The pack's per-stack config (infra/policy/config/<stack>.json), when the pack ships one.
POLICY_PACK_CONFIG = $(if $(wildcard infra/policy/config/$(STACK).json),--policy-pack-config infra/policy/config/$(STACK).json)

preview: venv
	$(call pulumi_stack,preview)

deploy: venv
	$(call pulumi_stack,up)
