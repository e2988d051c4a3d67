#!/usr/bin/env bash
# The MLflow UI on a data dir's embedded tracking store, opening on the experiment's runs.
# Used by `make mlflow-ui [PORT=5000] [WORKERS=1]`; stop it with Ctrl-C.
set -euo pipefail
DATA_DIR=${1:?usage: mlflow_ui.sh DATA_DIR [PORT] [WORKERS]}
PORT=${2:-5000}
WORKERS=${3:-1}
PY=${PY:-.venv/bin/python}
root=$(cd "$DATA_DIR" 2>/dev/null && pwd) || { echo "error: no data dir $DATA_DIR; run make demo first" >&2; exit 2; }
db="$root/mlflow/mlflow.db"
[ -f "$db" ] || { echo "error: no tracking store in $root/mlflow; run \`skillpath train\` first" >&2; exit 2; }
# The experiment's id, and the tag that makes the UI open it on its runs (stores made before the tag existed).
exp=$("$PY" - "$db" <<'PYEOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
row = con.execute("SELECT experiment_id FROM experiments WHERE name = 'skillpath' AND lifecycle_stage = 'active'").fetchone()
if row is None:
    row = con.execute("SELECT experiment_id FROM experiments WHERE lifecycle_stage = 'active' ORDER BY experiment_id DESC").fetchone()
exp = row[0]
con.execute("INSERT OR REPLACE INTO experiment_tags (key, value, experiment_id) VALUES "
            "('mlflow.experimentKind', 'custom_model_development', ?)", (exp,))
con.commit()
print(exp)
PYEOF
)
echo "MLflow UI: http://127.0.0.1:$PORT/#/experiments/$exp/runs  ($WORKERS worker(s); Ctrl-C stops it)"
exec .venv/bin/mlflow ui --backend-store-uri "sqlite:///$db" --default-artifact-root "$root/mlflow/artifacts" \
  --host 127.0.0.1 --port "$PORT" --workers "$WORKERS"
