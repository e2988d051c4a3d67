"""Regression: a process that served requests in-process and closed the app exits 0.

It used to abort at interpreter exit about half the time (exit 134, "FATAL: exception not rethrown"):
the console warm-up and the assistant build ran in threads that inherited ``daemon`` from the test
client's portal thread, so they were still inside duckdb's C++ when the interpreter ended them
(serving/background.py). Each run is a fresh interpreter, the only way to see how one exits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.serving.world import Served

RUNS = 5
REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys, threading
from starlette.testclient import TestClient
from serving.service import SkillPathService

with TestClient(SkillPathService.to_asgi()) as c:
    for mode in ("hybrid", "model", "path"):
        r = c.post("/recommend", json={"user_id": "u001", "k": 5, "mode": mode})
        if r.status_code != 200 or r.json()["mode"] != mode:
            sys.exit(f"{mode}: HTTP {r.status_code} {r.text}")
# the shutdown hook closed the app: none of its threads may outlive that
print(json.dumps(sorted(t.name for t in threading.enumerate() if t.name.startswith(("skillpath-", "console-")))))
"""


def _run(served: Served, root: Path) -> subprocess.CompletedProcess[str]:
    shutil.copytree(served.root, root)  # a data dir each: the runs overlap
    env = {k: v for k, v in os.environ.items() if k not in ("SKILLPATH_CONFIG", "SKILLPATH_PROTECT_READS")}
    env.update(SKILLPATH_DATA_DIR=str(root), SKILLPATH_MODEL_DIR=str(root / served.model_dir.relative_to(served.root)),
               OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_a_process_that_served_and_closed_the_app_exits_cleanly(served_base: Served, tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:  # two at a time: the machine's cores
        runs = list(pool.map(lambda i: _run(served_base, tmp_path / f"run{i}"), range(RUNS)))
    for p in runs:
        assert p.returncode == 0, (p.returncode, p.stderr[-2000:])
        assert json.loads(p.stdout.strip().splitlines()[-1]) == []
