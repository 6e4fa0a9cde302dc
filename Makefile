# xcom-lab: a local sandbox and test harness for Airflow XCom backends. `make help` lists the targets.
# Settings live in .env; any of them can be given here instead: `make up BACKEND=gcs`.
# xcomlab_harness/sandbox.py does the work: checks settings, picks the compose files, builds stand-ins offline.

SANDBOX := python3 harness/src/xcomlab_harness/sandbox.py
# Image locks resolve for Debian bookworm's Python (3.11.2), which installs them in the registry-less stand-ins.
IMAGE_COMPILE := uv pip compile --quiet --python-version 3.11.2 --python-platform x86_64-manylinux_2_36 \
  --custom-compile-command "make lock"
.DEFAULT_GOAL := help

.PHONY: help setup up down clean ps logs config test e2e check check-merge bench doctor lock lint mwaa-up mwaa-validate mwaa-freeze mwaa-packages

help: ## Show the targets and the settings they read
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Settings (.env, or on the command line): BACKEND=db|s3|gcs|azure|xcomlab-s3|xcomlab-gcs|xcomlab-azure|redis|localfs"
	@echo "  PROFILE=local|celery  WORKERS=2 (celery: workers A, B + more on the default queue)"
	@echo "  S3_EMULATOR=minio|ministack|moto"
	@echo "  OFFLINE=auto|0|1  AIRFLOW_VERSION=2.10.3|2.11.2|3.0.6|3.2.1|3.3.1|3.3.2  XCOM_THRESHOLD"
	@echo "  MWAA=1: AIRFLOW_VERSION=2.9.2|2.10.1|2.10.3|2.11.0|2.11.2|3.0.6|3.2.1|3.3.1 (MWAA's package set, compose/mwaa-packages/)"
	@echo "  MWAA=0|1  MWAA_DIR=mwaa  KEEP_STACK=1 (e2e)  SERVICE=name (logs)"
	@echo "  check: XCOM_BACKEND=module.Class BACKEND_SRC=file|folder BACKEND_ENV=file AIRFLOW_VERSIONS=2.11.2,3.3.1"
	@echo "         REQUIREMENTS=requirements.txt CONNECTIONS=my_conn=s3,wasb-default=azure FIX_FORWARD=0"
	@echo "         SCENARIOS=toy,types,... CHECK_NAME=name ALLOW_UNEXERCISED=1 MWAA=1 (docs/check.md)"

setup: ## What xcom-lab needs (Docker engine, Compose v2, uv, redis-server, Chromium, ...): as root on Debian/Ubuntu, or SETUP=1 with sudo, installs what is missing; elsewhere names it and its command
	@./setup.sh all

up: ## Start Airflow + Postgres, Redis, S3, GCS and Azure emulators; wait until all are healthy
	@./setup.sh up
	@$(SANDBOX) up

mwaa-up: ## Start the stack in MWAA mode: Airflow runs from MWAA_DIR as MWAA runs it (= make up MWAA=1)
	@./setup.sh up
	@MWAA=1 $(SANDBOX) up

lint: ## Settings Airflow ignores or that fail XComs at run time: FILES=".env airflow.cfg options.json" (default .env)
	@$(SANDBOX) lint $(or $(FILES),.env)

mwaa-validate: ## MWAA preflight of MWAA_DIR: options, plugins, requirements, core.xcom_backend (SMOKE=1: and a push/pull)
	@$(if $(filter 1,$(SMOKE)),uv run --quiet python -m xcomlab_harness.smoke,$(SANDBOX) mwaa-validate)

mwaa-freeze: ## pip freeze of MWAA mode's image against MWAA's pins, per MWAA version (VERSIONS=2.9.2,3.3.1; default all: builds each image)
	@$(SANDBOX) mwaa-freeze $(VERSIONS)

mwaa-packages: ## MWAA's package sets (compose/mwaa-packages/): re-resolve MWAA mode's image locks; MWAA_IMAGES=<checkout or bare git dir of aws/amazon-mwaa-docker-images> first rewrites MWAA's constraints, essential pins, image BOM and Python from it
	@uv run --quiet python -m xcomlab_harness.stack.mwaa_packages $(if $(MWAA_IMAGES),refresh "$(MWAA_IMAGES)",lock)

down: ## Stop the stack (data volumes are kept)
	@$(SANDBOX) down --remove-orphans

clean: ## Stop the stack and delete its volumes
	@$(SANDBOX) down --volumes --remove-orphans

ps: ## Show the services and their health
	@$(SANDBOX) compose ps --all

logs: ## Follow the logs (SERVICE=airflow-scheduler for one service)
	@$(SANDBOX) compose logs --follow $(SERVICE)

config: ## Validate and print the compose configuration in force
	@$(SANDBOX) compose config

test: ## Unit tests and the import contracts of pyproject.toml (no Docker)
	@./setup.sh test
	uv run lint-imports --no-cache --no-logo
	uv run pytest tests/unit

e2e: ## End-to-end: every backend against the real stack, report in reports/ (KEEP_STACK=1 keeps it up; SCOPE=version: only what differs by Airflow version)
	@./setup.sh e2e
	@E2E_SCOPE=$(SCOPE) $(SANDBOX) run -- sh -c 'uv run pytest tests/e2e --junitxml=reports/e2e-junit-$$AIRFLOW_VERSION.xml'

# make reports any failing recipe as 2, yet a CI job must tell a failing backend (1) from bad settings (2): so
# `make check` (and check-merge) runs while make reads this file and, when it exits 1, puts make in question
# mode (-q), whose answer for a target still to make is 1. $(shell) in make 4.3 does not get command-line variables.
COMMAND_LINE = $(foreach v,$(filter-out MAKEFLAGS,$(.VARIABLES)),$(if $(filter command line,$(origin $v)),$v='$(subst ','\'',$($v))'))
ifeq ($(MAKECMDGOALS),check)
VERDICT := sh -c './setup.sh check || exit 2; exec uv run --quiet python -m xcomlab_harness.check'
else ifeq ($(MAKECMDGOALS),check-merge)
VERDICT := uv run --quiet xcomlab-check-merge $(SHARDS)
endif
ifdef VERDICT
VERDICT_EXIT := $(shell env $(COMMAND_LINE) $(VERDICT) >&2; echo $$?)
ifeq ($(VERDICT_EXIT),1)
MAKEFLAGS += -q
endif
endif

check: ## Judge your own backend: XCOM_BACKEND=module.Class [BACKEND_SRC=file|folder] [BACKEND_ENV=file] [AIRFLOW_VERSIONS=2.11.2,3.3.1]; exit 0 pass, 1 fail, 2 bad settings
	@exit $(or $(VERDICT_EXIT),2)

check-merge: ## One side-by-side report from CI shards' reports: SHARDS="shard-3.3.1/ shard-2.11.2/" (exit codes as check)
	@exit $(or $(VERDICT_EXIT),2)

bench: ## Every backend x JSON size and a DataFrame vs the store's own client, memory, 1,000 small XComs; a 16 MB profile, 200 mapped x 1 MB; warm up, switches, the stack at rest, cleaning 10,000 XComs, time to a check verdict; writes docs/measured.md (needs `make up`; QUICK=1: 3 sizes once; BACKENDS=a,b; BASELINE=reports/bench.json of an earlier run flags ratios that got worse)
ifeq ($(QUICK),1)
	@QUICK=1 BACKENDS=$(BACKENDS) BASELINE=$(BASELINE) uv run python bench/sizes.py
else
	@mkdir -p reports && date +%s > reports/.bench-started
	@BACKENDS=$(BACKENDS) BASELINE=$(BASELINE) uv run python bench/sizes.py
	@$(SANDBOX) exec airflow-scheduler python - < bench/profile.py > reports/bench-profile.md; \
	  status=$$?; cat reports/bench-profile.md; exit $$status
	@uv run python bench/fanout.py
	@uv run python bench/stack.py
	@uv run python bench/cleanup_scale.py
	@uv run python bench/check_time.py
	@uv run python bench/measured.py
endif

doctor: ## Orphan audit of every store (ARGS="--fix" deletes orphans older than an hour; see --help)
	@$(SANDBOX) exec airflow-scheduler python -m xcomlab.doctor $(ARGS)

lock: ## Re-resolve uv.lock and compose/airflow/requirements-$AIRFLOW_VERSION.txt (+ the MiniStack stand-in's)
	uv lock
	@v=$$($(SANDBOX) check | sed -n 's/^AIRFLOW_VERSION=//p'); \
	caps=$$(ls compose/airflow/constraints/all.txt compose/airflow/constraints/$${v%%.*}.x.txt compose/airflow/constraints/$$v.txt 2>/dev/null | sed 's/^/-c /'); \
	echo "apache-airflow==$$v" | $(IMAGE_COMPILE) - compose/airflow/requirements.in $$caps -o compose/airflow/requirements-$$v.txt
	echo "ministack==1.5.33" | $(IMAGE_COMPILE) - -o compose/standins/ministack/requirements.txt
