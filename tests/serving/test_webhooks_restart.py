"""kill -9 of a real `bentoml serve` mid-delivery: after the restart every alert reaches the webhook exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from catalog.alert_store import AlertStore
from skillpath_cli.serve import serve_command
from tests.serving.conftest import API_KEY
from tests.serving.test_integration import _free_port, _wait_ready
from tests.serving.test_webhooks import SECRET, Receiver

pytestmark = pytest.mark.integration


def _start(served, port: int, url: str, log_path):
    argv, env = serve_command(served.root, host="127.0.0.1", port=port, workers=2, model_dir=served.model_dir)
    env.pop("SKILLPATH_CONFIG", None)
    env.update(SKILLPATH_API_KEYS=API_KEY, SKILLPATH_MONITORING__WEBHOOKS=url,
               SKILLPATH_MONITORING__WEBHOOK_SECRET=SECRET, SKILLPATH_MONITORING__WEBHOOK_TIMEOUT_S="1",
               SKILLPATH_MONITORING__WEBHOOK_BACKOFF_S="0.2", SKILLPATH_MONITORING__WEBHOOK_MAX_BACKOFF_S="0.5")
    with open(log_path, "ab") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _until(cond, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_neither_loses_nor_repeats_an_alert(served, tmp_path):
    receiver = Receiver(accept_at_most=5)
    log_path = tmp_path / "server.log"
    port = _free_port()
    proc = _start(served, port, receiver.url, log_path)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", proc, log_path)
        _until(lambda: sum(receiver.accepted.values()) == 5 and receiver.attempts >= 10, 120, "first deliveries")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        store = AlertStore(served.root / "events.db")
        assert store.pending() > 0, "the kill should leave deliveries in the outbox"
        receiver.accept_at_most = None
        proc = _start(served, port, receiver.url, log_path)
        _wait_ready(f"http://127.0.0.1:{port}", proc, log_path)
        _until(lambda: store.pending() == 0, 120, "the outbox to drain")
        recorded = {r["alert_id"] for r in store.outbox()}
        assert len(recorded) > 5
        assert set(receiver.accepted) == recorded
        assert set(receiver.accepted.values()) == {1}, "an alert was delivered twice"
        assert receiver.bad_signatures == 0
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        receiver.close()
