"""Two real service replicas sharing one PostgreSQL event log and entity store.

Each replica is its own `bentoml serve` (own data dir copy, own port) with
``SKILLPATH_DATABASE_URL`` pointing at one real PostgreSQL server: an event or an entity
write acknowledged by one replica changes the other's next answer, a mentee forgotten
through one is gone from both, and while the database is down writes are a 503 with
``Retry-After`` (nothing acknowledged), after which the replicas recover by themselves.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import datetime, timezone

import httpx
import pytest

from catalog.eventlog import EventLog
from catalog.logs import copy_events
from catalog.pg_eventlog import PgEventLog
from skillpath_cli.serve import serve_command
from tests.serving.conftest import API_KEY
from tests.serving.live import stop_group
from tests.serving.test_integration import _free_port, _wait_ready

pytestmark = pytest.mark.integration
AUTH = {"authorization": f"Bearer {API_KEY}"}


def _start(root, model_dir, url, tmp_path, name):
    port = _free_port()
    argv, env = serve_command(root, host="127.0.0.1", port=port, workers=1, model_dir=model_dir)
    env.update(SKILLPATH_API_KEYS=API_KEY, SKILLPATH_DATABASE_URL=url)
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}", log_path


def _top(c: httpx.Client, user: str) -> list[str]:
    r = c.post("/recommend", json={"user_id": user, "k": 10})
    assert r.status_code == 200, r.text
    return [i["item_id"] for i in r.json()["items"]]


@pytest.mark.timeout(600)
def test_replicas_see_each_others_writes_and_survive_a_database_restart(served, tmp_path):
    from tests.pg_server import PostgresServer

    pg = PostgresServer().start()
    procs = []
    try:
        with EventLog(served.root / "events.db") as src, PgEventLog(pg.url) as dst:
            copy_events(src, dst)
        roots = []
        for name in ("a", "b"):
            root = tmp_path / name
            shutil.copytree(served.root, root)
            (root / "events.db").unlink()  # the replicas' only log is PostgreSQL's
            roots.append(root)
        started = [_start(r, served.model_dir, pg.url, tmp_path, n) for r, n in zip(roots, ("a", "b"))]
        procs = [p for p, _, _ in started]
        for proc, base, log_path in started:
            _wait_ready(base, proc, log_path)
        (_, a, _), (_, b, _) = started
        with httpx.Client(base_url=a, timeout=30) as ca, httpx.Client(base_url=b, timeout=30) as cb:
            lags = []
            for n, user in enumerate(("u001", "u002", "u003")):
                top = _top(cb, user)[0]
                ev = {"events": [{"event_id": f"rep-{n}", "user_id": user, "item_id": top,
                                  "event_type": "complete", "timestamp": datetime.now(timezone.utc).isoformat()}]}
                r = ca.post("/events", json=ev, headers=AUTH)
                assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
                acked = time.monotonic()
                assert top not in _top(cb, user)  # the other replica's very next answer
                lags.append(time.monotonic() - acked)
            assert max(lags) < 1.0, lags  # one request's time: no polling interval in between

            # an entity write: a resource retired through A leaves B's next answer (B was notified, no poll)
            ent_lags = []
            for user in ("u004", "u005", "u006"):
                top = _top(cb, user)[0]
                r = ca.delete(f"/resources/{top}", headers=AUTH)
                assert r.status_code == 200 and r.json()["entity"]["active"] is False, r.text
                acked = time.monotonic()
                assert top not in _top(cb, user)
                ent_lags.append(time.monotonic() - acked)
                assert cb.get(f"/resources/{top}").json()["entity"]["active"] is False
            assert max(ent_lags) < 1.0, ent_lags

            # forgetting through A: events and profile gone for B too, and a replay through B stores nothing
            with PgEventLog(pg.url) as log:
                old = log.user_events("u007")
            assert len(old) > 0 and cb.get("/mentees/u007").status_code == 200
            r = ca.delete("/mentees/u007", headers=AUTH)
            assert r.status_code == 200 and r.json()["removed"]["events"] == len(old), r.text
            assert cb.get("/mentees/u007").status_code == 404
            replay = [{"event_id": e.event_id, "user_id": "u007", "item_id": e.item_id, "event_type": e.event_type,
                       "timestamp": e.timestamp.isoformat()} for e in old.head(5).itertuples()]
            r = cb.post("/events", json={"events": replay}, headers=AUTH)
            assert r.status_code == 200 and r.json()["accepted"] == 0, r.text
            with PgEventLog(pg.url) as log:
                assert log.user_events("u007").empty

            pg.stop(kill=True)
            down = ca.post("/events", headers=AUTH, json={"events": [{
                "event_id": "rep-down", "user_id": "u001", "item_id": top, "event_type": "view",
                "timestamp": datetime.now(timezone.utc).isoformat()}]})
            assert down.status_code == 503, down.text
            assert int(down.headers["retry-after"]) >= 1 and "retry" in down.json()["error"]
            pg.start()
            deadline = time.monotonic() + 60
            while True:
                r = ca.post("/events", headers=AUTH, json={"events": [{
                    "event_id": "rep-up", "user_id": "u001", "item_id": top, "event_type": "view",
                    "timestamp": datetime.now(timezone.utc).isoformat()}]})
                if r.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert r.status_code == 200, r.text
            assert _top(cb, "u002")  # the other replica answers again too
        with PgEventLog(pg.url) as log:
            ids = set(log.read()["event_id"])
        assert {"rep-0", "rep-1", "rep-2", "rep-up"} <= ids and "rep-down" not in ids
    finally:
        for p in procs:
            stop_group(p)
        pg.close()
