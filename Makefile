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

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(PYTHON) -m uv sync --frozen --extra test --extra bench
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

demo: install  ## the main job on embedded defaults: data, stale report, training, features, service
	@echo "== 1/5 a synthetic mentorship world (seed $(SEED))"
	$(VENV)/bin/skillpath --data-dir $(DATA_DIR) data synth --seed $(SEED) --force
	$(VENV)/bin/skillpath --data-dir $(DATA_DIR) catalog summary
	@echo "== 2/5 what curators should refresh"
	$(VENV)/bin/skillpath --data-dir $(DATA_DIR) catalog stale --limit 10
	@echo "== 3/5 train, compare and register a champion (MLflow in $(DATA_DIR)/mlflow)"
	$(VENV)/bin/skillpath --data-dir $(DATA_DIR) train
	$(VENV)/bin/skillpath --data-dir $(DATA_DIR) models list
	@echo "== 4/5 the feature store (Feast: duckdb offline, SQLite online)"
	$(VENV)/bin/skillpath --data-dir $(DATA_DIR) features build
	$(VENV)/bin/skillpath --data-dir $(DATA_DIR) features apply
	$(VENV)/bin/skillpath --data-dir $(DATA_DIR) features materialize
	@echo "== 5/5 the recommendation service"
	@scripts/demo_serve.sh $(DATA_DIR) $(PORT)

stop:  ## stop the service started by `make demo` and the stack started by `make stack`
	@if [ -f $(DATA_DIR)/serve.pid ]; then kill -TERM -- -$$(cat $(DATA_DIR)/serve.pid) 2>/dev/null || true; rm -f $(DATA_DIR)/serve.pid; echo stopped; else echo "no demo service running"; fi
	@if [ -d $(DATA_DIR)/stack ]; then $(PY) scripts/stack.py down --data-dir $(DATA_DIR); fi

stack: install redis postgres  ## the production set-up on loopback: PostgreSQL + Redis + MLflow server + two replicas (docs/deploy.md)
	$(PY) scripts/stack.py up --data-dir $(DATA_DIR)

mlflow-ui: install  ## open the MLflow UI on the embedded tracking store (http://127.0.0.1:5000)
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(abspath $(DATA_DIR))/mlflow/mlflow.db \
	  --default-artifact-root $(abspath $(DATA_DIR))/mlflow/artifacts --host 127.0.0.1 --port 5000

test: install redis chromium postgres  ## run the whole test suite (unit + integration, browser included)
	$(PY) -m pytest -q

test-fast: install  ## unit tests only
	$(PY) -m pytest -q -m "not integration"

clean:  ## remove the environment and generated data
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache
