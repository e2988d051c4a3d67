# SkillPath — `make demo` and `make test` work from a fresh clone on a fresh machine.
# The environment is created on first use (uv, from the committed uv.lock) and reused.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
DATA_DIR ?= skillpath-data
SEED ?= 7

export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export UV_LINK_MODE := copy
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install demo stop stack test test-fast redis chromium postgres clean mlflow-ui
PORT ?= 3000
# `make mlflow-ui PORT=5001` picks its port; without PORT= it uses 5000 (the demo service has 3000).
MLFLOW_PORT = $(if $(filter command line environment,$(origin PORT)),$(PORT),5000)
WORKERS ?= 1

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(PYTHON) -m uv sync --frozen --extra test --extra bench --compile-bytecode
	@touch $@

install: $(VENV)/.installed  ## create or update the environment (.venv) from uv.lock

redis:  ## install redis-server (Debian package) if it is missing
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; }

chromium:  ## install Debian's chromium (the browser test drives it with Playwright) if it is missing
	@test -x /usr/bin/chromium || { \
	  echo "installing chromium (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

postgres:  ## install PostgreSQL (Debian package; tests start their own server in a temp dir) if it is missing
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing postgresql (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

demo: install  ## the main job on embedded defaults: data, training, service, then the catalog report
	@$(PY) -m compileall -q -j 2 catalog recommender analysis features training serving skillpath_cli >/dev/null || true
	@echo "== 1/4 a synthetic mentorship world (seed $(SEED))"
	$(VENV)/bin/skillpath --data-dir $(DATA_DIR) data synth --seed $(SEED) --force
	@echo "== 2/4 train, compare and register a champion (MLflow in $(DATA_DIR)/mlflow; see it with make mlflow-ui)"
	@echo "   (the catalog report of step 4 is computed beside it, on the second core)"
	@scripts/demo_report.sh start $(DATA_DIR)
	$(VENV)/bin/skillpath --data-dir $(DATA_DIR) train
	@echo "== 3/4 the recommendation service (online features off: docs/features.md builds and serves them)"
	@scripts/demo_serve.sh $(DATA_DIR) $(PORT)
	@echo "== 4/4 the catalog: summary, and what curators should refresh"
	@scripts/demo_report.sh show $(DATA_DIR)

stop:  ## stop the service started by `make demo` and the stack started by `make stack`
	@if [ -f $(DATA_DIR)/serve.pid ]; then kill -TERM -- -$$(cat $(DATA_DIR)/serve.pid) 2>/dev/null || true; rm -f $(DATA_DIR)/serve.pid; echo stopped; else echo "no demo service running"; fi
	@if [ -d $(DATA_DIR)/stack ]; then $(PY) scripts/stack.py down --data-dir $(DATA_DIR); fi

stack: install redis postgres  ## the production set-up on loopback: PostgreSQL + Redis + MLflow server + two replicas (docs/deploy.md)
	$(PY) scripts/stack.py up --data-dir $(DATA_DIR)

mlflow-ui: install  ## the MLflow UI on the embedded tracking store, on the training runs (PORT=5000, WORKERS=1)
	@scripts/mlflow_ui.sh $(DATA_DIR) $(MLFLOW_PORT) $(WORKERS)

test: install redis chromium postgres  ## run the whole test suite (unit + integration, browser included)
	$(PY) -m pytest -q

test-fast: install  ## unit tests only
	$(PY) -m pytest -q -m "not integration"

clean:  ## remove the environment and generated data
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache
