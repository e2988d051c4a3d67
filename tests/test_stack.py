"""`make stack`: PostgreSQL + Redis + an MLflow server + two replicas come up, share their data, go down.

Slow (it trains a model on the MLflow server and fills Redis), so it runs on a small world.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]


def _free_base() -> int:
    for base in range(31000, 60000, 97):
        ok = True
        for port in range(base, base + 5):
            with socket.socket() as s:
                ok = ok and s.connect_ex(("127.0.0.1", port)) != 0
        if ok:
            return base
    raise RuntimeError("no 5 free ports")


@pytest.mark.timeout(1500)
def test_stack_up_shares_data_and_stops(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "STACK_PORT_BASE": str(_free_base()), "OPENBLAS_NUM_THREADS": "1"}
    synth = subprocess.run([sys.executable, "-m", "skillpath_cli.main", "--data-dir", str(data), "data", "synth",
                            "--mentees", "200", "--items", "300", "--mentors", "15", "--days", "90"],
                           cwd=REPO, env=env, capture_output=True, text=True)
    assert synth.returncode == 0, synth.stderr
    stack = [sys.executable, str(REPO / "scripts" / "stack.py")]
    try:
        up = subprocess.run([*stack, "up", "--data-dir", str(data)], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=1400)
        assert up.returncode == 0, up.stdout + up.stderr
        urls = json.loads((data / "stack" / "urls.json").read_text())
        assert httpx.get(f"{urls['mlflow']}/health", timeout=10).status_code == 200
        a, b = urls["replica-1"], urls["replica-2"]
        user = "u00001"
        top = httpx.post(f"{b}/recommend", json={"user_id": user, "k": 10}, timeout=30).json()["items"][0]["item_id"]
        ev = {"events": [{"event_id": "stack-1", "user_id": user, "item_id": top, "event_type": "complete",
                          "timestamp": datetime.now(timezone.utc).isoformat()}]}
        r = httpx.post(f"{a}/events", json=ev, headers={"authorization": "Bearer stack-key"}, timeout=30)
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
        after = httpx.post(f"{b}/recommend", json={"user_id": user, "k": 10}, timeout=30).json()
        assert top not in [i["item_id"] for i in after["items"]]
        assert after["model_version"] == "1"  # the champion the MLflow server registered
    finally:
        down = subprocess.run([*stack, "down", "--data-dir", str(data)], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=120)
    assert down.returncode == 0, down.stderr
    status = subprocess.run([*stack, "status", "--data-dir", str(data)], cwd=REPO, env=env, capture_output=True,
                            text=True)
    assert " up" not in status.stdout, status.stdout
