#!/usr/bin/env bash
# Start the SkillPath service in the background on a data dir, wait until it is ready,
# then show a sample request and its answer. Used by `make demo`; stop with `make stop`.
set -euo pipefail
DATA_DIR=${1:?usage: demo_serve.sh DATA_DIR [PORT]}
PORT=${2:-3000}
SKILLPATH=${SKILLPATH:-.venv/bin/skillpath}
PY=${PY:-.venv/bin/python}
export SKILLPATH_API_KEYS=${SKILLPATH_API_KEYS:-demo-key}
# a programme lead's key for the console (/ui), fresh for each demo
lead_key="lead-$("$PY" -c 'import secrets; print(secrets.token_hex(8))')"
SKILLPATH_API_KEYS="$SKILLPATH_API_KEYS,$lead_key:lead"
pidfile="$DATA_DIR/serve.pid"
log="$DATA_DIR/serve.log"

if [ -f "$pidfile" ]; then  # a previous demo's service: stop its whole process group
  kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
  sleep 1
fi
if "$PY" - "$PORT" <<'PYEOF'
import socket, sys
s = socket.socket()
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PYEOF
then
  echo "port $PORT is busy; choose another: make demo PORT=3001" >&2
  exit 2
fi

setsid "$SKILLPATH" --data-dir "$DATA_DIR" serve --port "$PORT" >"$log" 2>&1 < /dev/null &
echo $! > "$pidfile"
printf 'starting the service on http://127.0.0.1:%s ' "$PORT"
for _ in $(seq 1 180); do
  if curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then ready=1; break; fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then break; fi
  printf '.'; sleep 1
done
echo
if [ -z "${ready:-}" ]; then
  echo "the service did not become ready; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi

user=$(awk -F, 'NR==2{print $1}' "$DATA_DIR/mentees.csv")
body="{\"user_id\": \"$user\", \"k\": 5}"
echo
echo "\$ curl -s -X POST http://127.0.0.1:$PORT/recommend -H 'Content-Type: application/json' -d '$body'"
curl -s -X POST "http://127.0.0.1:$PORT/recommend" -H 'Content-Type: application/json' -d "$body" | "$PY" -m json.tool
echo
echo "The console: http://127.0.0.1:$PORT/ui  (sign in with the lead key $lead_key)"
echo "The service keeps running (pid $(cat "$pidfile"), log $log). Try /docs in a browser,"
echo "post events with: -H 'Authorization: Bearer ${SKILLPATH_API_KEYS%%,*}' to /events, and stop it with: make stop"
