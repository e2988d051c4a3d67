"""``make mlflow-ui PORT=...``: the UI on the embedded store, one worker, opening on the experiment's runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from catalog.settings import load_settings
from training.tracking import EXPERIMENT_KIND, connect

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_passes_port_and_one_worker():
    r = subprocess.run(["make", "-n", "mlflow-ui", "PORT=5123"], cwd=REPO, capture_output=True, text=True)
    assert "scripts/mlflow_ui.sh skillpath-data 5123 1" in r.stdout
    r = subprocess.run(["make", "-n", "mlflow-ui"], cwd=REPO, capture_output=True, text=True)
    assert "scripts/mlflow_ui.sh skillpath-data 5000 1" in r.stdout  # not the demo service's 3000


@pytest.mark.integration
def test_mlflow_ui_serves_the_runs_of_the_experiment(tmp_path):
    data = tmp_path / "data"
    tracking = connect(load_settings(data_dir=data), data)
    port = _free_port()
    proc = subprocess.Popen(["scripts/mlflow_ui.sh", str(data), str(port), "1"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/#/experiments/{tracking.experiment_id}/runs" in first
        url = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/get?experiment_id={tracking.experiment_id}"
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    exp = json.loads(r.read())["experiment"]
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the MLflow UI did not start"
                time.sleep(1)
        tags = {t["key"]: t["value"] for t in exp.get("tags", [])}
        assert tags.get(EXPERIMENT_KIND[0]) == EXPERIMENT_KIND[1]  # the UI opens it on its runs
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
