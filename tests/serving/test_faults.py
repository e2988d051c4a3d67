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
from tests.serving.test_last_good import _artifact_dir, _corrupt, _two_versions

pytestmark = pytest.mark.integration

AUTH = {"authorization": f"Bearer {API_KEY}"}


def test_corrupt_champion_then_kill_9_during_ingestion(served, tmp_path):
    uri, v1, v2 = _two_versions(served)
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


def test_redis_killed_and_restarted_under_load(served, tmp_path):
    """Redis (no persistence) dies and comes back empty while /recommend and /events run: 0 5xx,
    the online store is rebuilt without anyone re-materialising."""
    from features.store import open_store, read_online
    from features.tables import MENTEE_ENGAGEMENT
    from tests.features.redis_server import RedisServer
    from training.feature_store import apply, materialize, tables_time_range
    from training.features import compute_feature_frames, write_feature_frames

    with EventLog(served.root / "events.db") as log:
        events = log.read()
    write_feature_frames(compute_feature_frames(events, served.world), served.root)
    quiet = "u004"  # a mentee the traffic never touches: only a rebuild brings its row back
    with RedisServer() as redis:
        url = f"{redis.url}/0?socket_timeout=0.5&socket_connect_timeout=0.5"
        store = open_store(served.root, online=url)
        apply(store)
        materialize(store, *tables_time_range(served.root))

        def quiet_row() -> dict:
            try:
                return read_online(open_store(served.root, online=url), MENTEE_ENGAGEMENT, [quiet])[quiet]
            except ValueError:  # Feast refuses reads while the rebuild materialises the view
                return {"events_30d": None}

        assert quiet_row()["events_30d"] is not None
        (served.root / "mlflow").mkdir()
        register(embedded_uri(served.root), served.root / "mlflow" / "artifacts", served.model_dir, served.sha256)
        live = start(served.root, tmp_path, workers=1,
                     env={"SKILLPATH_ONLINE_FEATURES": "1", "SKILLPATH_ONLINE_STORE": url})
        errors: list[tuple[int, str]] = []
        statuses: set[str] = set()
        stop = threading.Event()
        items = served.world.catalog.items.ids.tolist()
        now = datetime.now(timezone.utc).isoformat()

        def traffic() -> None:
            with httpx.Client(base_url=live.base, timeout=10, headers=AUTH) as c:
                i = 0
                while not stop.is_set():
                    i += 1
                    if i % 5 == 0:
                        r = c.post("/events", json={"events": [{"event_id": f"redis-{i}", "user_id": "u001",
                                                                "item_id": items[i % len(items)],
                                                                "event_type": "view", "timestamp": now}]})
                    else:
                        r = c.post("/recommend", json={"user_id": "u002", "k": 5})
                        if r.status_code == 200:
                            statuses.add(r.json()["online_features"])
                    if r.status_code >= 500:
                        errors.append((r.status_code, r.text))
                    time.sleep(0.01)

        try:
            live.wait_ready()
            worker = threading.Thread(target=traffic)
            worker.start()
            try:
                time.sleep(2)
                redis.stop()
                time.sleep(2)
                redis.start()  # back, empty
                deadline = time.monotonic() + 90
                while quiet_row()["events_30d"] is None and time.monotonic() < deadline:
                    time.sleep(0.5)
                assert quiet_row()["events_30d"] is not None, live.log_path.read_text()[-3000:]
                ready = httpx.get(f"{live.base}/readyz").json()
                deadline = time.monotonic() + 30
                while ready["online_features"] != "ok" and time.monotonic() < deadline:
                    time.sleep(0.3)
                    ready = httpx.get(f"{live.base}/readyz").json()
                assert ready["online_features"] == "ok"
            finally:
                stop.set()
                worker.join(30)
            assert not errors, errors[:3]
            assert "unavailable" in statuses or "timeout" in statuses or "rebuilding" in statuses, statuses
            assert "skillpath_online_rebuilds 1.0" in httpx.get(f"{live.base}/metrics").text
        finally:
            live.stop()
