#!/usr/bin/env bash
# The demo's catalog report (`skillpath catalog summary` and `catalog stale --limit 10`), computed in the
# background while the model trains (training uses one core; the report takes the other) and shown
# after the service answers: `start DATA_DIR` launches it, `show DATA_DIR` waits for it and prints it.
set -euo pipefail
cmd=${1:?usage: demo_report.sh start|show DATA_DIR}
DATA_DIR=${2:?usage: demo_report.sh start|show DATA_DIR}
SKILLPATH=${SKILLPATH:-.venv/bin/skillpath}
out="$DATA_DIR/catalog-report.txt"
case "$cmd" in
  start)
    rm -f "$out" "$out.rc"
    ( set +e; { echo "\$ skillpath --data-dir $DATA_DIR catalog summary"
        "$SKILLPATH" --data-dir "$DATA_DIR" catalog summary
        echo
        echo "\$ skillpath --data-dir $DATA_DIR catalog stale --limit 10"
        "$SKILLPATH" --data-dir "$DATA_DIR" catalog stale --limit 10
      } >"$out" 2>&1; echo $? >"$out.rc" ) </dev/null &
    ;;
  show)
    for _ in $(seq 1 3000); do [ -f "$out.rc" ] && break; sleep 0.2; done
    cat "$out"
    rc=$(cat "$out.rc" 2>/dev/null || echo 1)
    rm -f "$out.rc"
    exit "$rc"
    ;;
  *) echo "usage: demo_report.sh start|show DATA_DIR" >&2; exit 2 ;;
esac
