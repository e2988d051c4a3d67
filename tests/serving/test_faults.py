"""The fault suite against the real service (issue #16): what must survive a restart or a kill.

- restart with a corrupt champion: the last good version serves, 0 5xx after ready;
- kill -9 of the `skillpath serve` process group during ingestion: every acknowledged event
  is stored exactly once, no worker survives its supervisor, the port is free within 2 s and
  the next start on the same port succeeds.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime, timezone

import httpx
import psutil
import pytest

from catalog.eventlog import EventLog
from training.tracking import embedded_uri
from tests.serving.conftest import API_KEY
from tests.serving.live import port_is_free, start
from tests.serving.mlflow_registry import register
from tests.serving.test_last_good import _artifact_dir, _corrupt
from tests.serving.world import train_model

pytestmark = pytest.mark.integration

AUTH = {"authorization": f"Bearer {API_KEY}"}


def test_corrupt_champion_then_kill_9_during_ingestion(served, tmp_path):
    uri = embedded_uri(served.root)
    (served.root / "mlflow").mkdir()
    artifacts = served.root / "mlflow" / "artifacts"
    v1 = register(uri, artifacts, served.model_dir, served.sha256)
    with EventLog(served.root / "events.db") as log:
        events = log.read()
    other = tmp_path / "als-2"
    v2 = register(uri, artifacts, other, train_model(served.world, events, other, factors=6, seed=1))
    _corrupt(_artifact_dir(uri, v2))

    live = start(served.root, tmp_path, workers=2)
    try:
        live.wait_ready()
        ready = httpx.get(f"{live.base}/readyz").json()
        assert (ready["model_version"], ready["champion_version"]) == (v1, v2), ready
        assert f'skillpath_model_fallback{{serving="{v1}",champion="{v2}"}} 1.0' in httpx.get(f"{live.base}/metrics").text
        workers = psutil.Process(live.proc.pid).children(recursive=True)
        assert len([w for w in workers if w.is_running()]) >= 2

        acked: list[str] = []
        errors: list[tuple[int, str]] = []
        stop = threading.Event()
        now = datetime.now(timezone.utc).isoformat()
        items = served.world.catalog.items.ids.tolist()

        def recommend() -> None:
            with httpx.Client(base_url=live.base, timeout=10) as c:
                while not stop.is_set():
                    try:
                        r = c.post("/recommend", json={"user_id": "u001", "k": 5})
                    except httpx.HTTPError:
                        continue  # the server was killed under us
                    if r.status_code >= 500:
                        errors.append((r.status_code, r.text))

        def ingest(n: int) -> None:
            with httpx.Client(base_url=live.base, timeout=10, headers=AUTH) as c:
                i = 0
                while not stop.is_set():
                    ids = [f"kill-{n}-{i}-{j}" for j in range(3)]
                    i += 1
                    body = {"events": [{"event_id": e, "user_id": f"u00{n}", "item_id": items[(i + j) % len(items)],
                                        "event_type": "view", "timestamp": now} for j, e in enumerate(ids)]}
                    try:
                        r = c.post("/events", json=body)
                    except httpx.HTTPError:
                        continue
                    if r.status_code == 200:
                        acked.extend(ids)
                    elif r.status_code >= 500:
                        errors.append((r.status_code, r.text))

        threads = [threading.Thread(target=recommend)] + [threading.Thread(target=ingest, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.killpg(live.proc.pid, signal.SIGKILL)  # the whole `skillpath serve` process group, mid-ingestion
        killed = time.monotonic()
        live.proc.wait(5)
        while not port_is_free(live.port) and time.monotonic() - killed < 2:
            time.sleep(0.05)
        freed = time.monotonic() - killed
        stop.set()
        for t in threads:
            t.join(15)
        assert port_is_free(live.port), f"port still taken {freed:.1f}s after kill -9"
        assert freed <= 2.0
        assert not [w.pid for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
        assert not errors, errors[:3]
        assert len(acked) >= 300
        with EventLog(served.root / "events.db") as log:
            stored = log.read()
        mine = stored[stored["event_id"].str.startswith("kill-")]["event_id"]
        assert not mine.duplicated().any()
        assert set(acked) <= set(mine)  # every acknowledged event stored, exactly once

        # the next start on the same port succeeds (no "Address already in use")
        again = start(served.root, tmp_path, port=live.port, workers=1, name="restart")
        try:
            again.wait_ready()
            r = httpx.post(f"{again.base}/recommend", json={"user_id": "u001", "k": 5})
            assert r.status_code == 200 and r.json()["model_version"] == v1
        finally:
            again.stop()
    finally:
        if live.proc.poll() is None:
            live.stop()
