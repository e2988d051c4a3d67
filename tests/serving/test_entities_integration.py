"""The real server (`python -m bentoml serve`, two workers): entity writes over HTTP show in the next
answers of every worker within a second, and kill -9 between writes loses nothing acknowledged."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from catalog.store.sqlite import SQLiteEntityStore
from skillpath_cli.serve import serve_command
from tests.serving.conftest import API_KEY
from tests.serving.live import stop_group
from tests.serving.test_integration import _free_port, _wait_ready

pytestmark = pytest.mark.integration


def _book(item_id: str) -> dict:
    return {"title": f"Book {item_id}", "type": "book", "skills": ["block2:2"],
            "published_at": (datetime.now(timezone.utc) - timedelta(days=3)).date().isoformat()}


def _start(served, tmp_path, name: str):
    port = _free_port()
    argv, env = serve_command(served.root, host="127.0.0.1", port=port, workers=2, model_dir=served.model_dir)
    env.update(SKILLPATH_API_KEYS=API_KEY)
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    _wait_ready(base, proc, log_path)
    return proc, base


def _everywhere(c: httpx.Client, item: str, present: bool, deadline_s: float = 1.0) -> None:
    """Eight consecutive answers (both workers) agree within ``deadline_s`` of the acknowledgement."""
    end = time.monotonic() + deadline_s
    while True:
        answers = [item in [i["item_id"] for i in c.post("/recommend", json={
            "user_id": "u003", "k": 100, "goal_skills": ["block2"]}).json()["items"]] for _ in range(8)]
        if all(a == present for a in answers):
            return
        assert time.monotonic() < end, f"{item} present={answers} after {deadline_s}s"
        time.sleep(0.05)


def test_writes_show_on_every_worker_and_survive_kill_9(served, tmp_path):
    auth = {"authorization": f"Bearer {API_KEY}"}
    proc, base = _start(served, tmp_path, "server")
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.put("/resources/live-1", json=_book("live-1"), headers=auth)
            assert r.status_code == 200, r.text
            _everywhere(c, "live-1", True)
            assert c.delete("/resources/live-1", headers=auth).status_code == 200
            _everywhere(c, "live-1", False)
            r = c.patch("/mentors/m-c", json={"capacity": 0}, headers=auth)
            assert r.status_code == 200
        acked: list[str] = []
        stop = threading.Event()

        def writer() -> None:
            with httpx.Client(base_url=base, timeout=10) as w:
                n = 0
                while not stop.is_set():
                    try:
                        resp = w.put(f"/resources/k9-{n}", json=_book(f"k9-{n}"), headers=auth)
                    except httpx.HTTPError:
                        return
                    if resp.status_code == 200:
                        acked.append(f"k9-{n}")
                    n += 1

        t = threading.Thread(target=writer)
        t.start()
        while len(acked) < 5:
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)  # mid-stream: writes in flight are not acknowledged
        proc.wait(timeout=30)
        stop.set()
        t.join(timeout=30)
    finally:
        stop_group(proc)
    store = SQLiteEntityStore(served.root / "events.db")
    try:
        stored = store.get_many("resources", acked)
        assert set(stored) == set(acked) and len(acked) >= 5
        assert store.get("mentors", "m-c").doc["capacity"] == 0
        assert store.get("resources", "live-1").doc["active"] is False
    finally:
        store.close()
