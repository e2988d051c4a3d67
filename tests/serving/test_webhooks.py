"""Webhook delivery through the outbox: HMAC signatures, retries with backoff, once per alert id, on a loopback receiver."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog.alert_store import AlertStore
from catalog.eventlog import EventLog
from serving.webhooks import ALERT_ID_HEADER, SIGNATURE_HEADER, WebhookSender, sign, verify

SECRET = "whsec-test"


class Receiver:
    """A loopback HTTP receiver that fails the first ``fail_first`` posts, then accepts; it checks signatures."""

    def __init__(self, *, fail_first: int = 0, secret: str = SECRET, accept_at_most: int | None = None) -> None:
        self.fail_left, self.secret = fail_first, secret
        self.accept_at_most = accept_at_most  # past this many accepted, refuse (503) until it is set to None
        self.now = time.time  # the time signatures are checked at (tests with a fake clock replace it)
        self.accepted: Counter[str] = Counter()
        self.attempts = 0
        self.bad_signatures = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok_sig = verify(outer.secret, self.headers.get(SIGNATURE_HEADER, ""), body, now=outer.now())
                with outer.lock:
                    outer.attempts += 1
                    if not ok_sig:
                        outer.bad_signatures += 1
                        code = 401
                    elif outer.fail_left > 0:
                        outer.fail_left -= 1
                        code = 503
                    elif outer.accept_at_most is not None and sum(outer.accepted.values()) >= outer.accept_at_most:
                        code = 503
                    else:
                        aid = self.headers[ALERT_ID_HEADER]
                        assert json.loads(body)["alert_id"] == aid
                        outer.accepted[aid] += 1
                        code = 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(fail_first=3)
    yield r
    r.close()


def test_signatures_verify_and_refuse_tampering_and_old_times():
    body = b'{"alert_id": "al-1"}'
    header = sign(SECRET, body, 1_000)
    assert verify(SECRET, header, body, now=1_010)
    assert not verify(SECRET, header, body + b" ", now=1_010)
    assert not verify("other", header, body, now=1_010)
    assert not verify(SECRET, header, body, now=1_000 + 301)
    assert not verify(SECRET, "garbage", body, now=1_000)


def _store(tmp_path) -> AlertStore:
    db = tmp_path / "events.db"
    EventLog(db).close()
    return AlertStore(db)


def _alerts(n: int) -> list[dict]:
    return [{"alert_id": f"al-{k:024x}", "user_id": f"u{k}", "kind": "silence", "severity": 2,
             "reason": f"no activity for {14 + k} days"} for k in range(n)]


def test_retries_with_backoff_until_delivered_exactly_once(tmp_path, receiver):
    store = _store(tmp_path)
    clock = [1_000_000.0]
    store.record(_alerts(4), now_us=int(clock[0] * 1e6), urls=(receiver.url,))
    receiver.now = lambda: clock[0]
    sender = WebhookSender(store, secret=SECRET, timeout_s=2, backoff_s=10, max_backoff_s=25, clock=lambda: clock[0])
    assert sender.run_once() == 1          # 3 refused (503), the 4th accepted
    rows = {r["alert_id"]: r for r in store.outbox()}
    waits = sorted(r["next_try_us"] / 1e6 - clock[0] for r in rows.values() if r["delivered_us"] is None)
    assert waits == pytest.approx([10, 10, 10], abs=0.1)
    assert sender.run_once() == 0          # nothing due before the backoff ends
    clock[0] += 10
    assert sender.run_once() == 3
    assert sender.run_once() == 0 and store.pending() == 0
    assert receiver.accepted == Counter({a["alert_id"]: 1 for a in _alerts(4)})
    assert receiver.bad_signatures == 0 and receiver.attempts == 7


def test_backoff_doubles_and_is_capped(tmp_path):
    store = _store(tmp_path)
    clock = [0.0]
    store.record(_alerts(1), now_us=0, urls=("http://127.0.0.1:9/refused",))
    seen = []
    sender = WebhookSender(store, secret=SECRET, backoff_s=1, max_backoff_s=5, clock=lambda: clock[0],
                           post=lambda url, body, headers, timeout: seen.append((body, headers)) or 500)
    delays = []
    for _ in range(5):
        assert sender.run_once() == 0
        nxt = store.outbox()[0]["next_try_us"] / 1e6
        delays.append(nxt - clock[0])
        clock[0] = nxt
    assert delays == [1, 2, 4, 5, 5]
    assert [b for b, _ in seen] == [seen[0][0]] * 5  # the same body every attempt, each freshly signed
    assert all(verify(SECRET, h[SIGNATURE_HEADER], b, now=clock[0]) for b, h in seen[-1:])


def test_an_unreachable_receiver_is_retried_not_lost(tmp_path):
    store = _store(tmp_path)
    store.record(_alerts(2), now_us=0, urls=("http://127.0.0.1:9/refused",))
    sender = WebhookSender(store, secret=SECRET, timeout_s=0.5, backoff_s=1, clock=lambda: 0.0)
    assert sender.run_once() == 0
    rows = store.outbox()
    assert all(r["delivered_us"] is None and r["attempts"] == 1 and r["last_error"] for r in rows)


def test_two_senders_sharing_the_outbox_never_send_a_row_twice(tmp_path, receiver):
    receiver.fail_left = 0
    receiver.now = lambda: 1.0
    store = _store(tmp_path)
    store.record(_alerts(40), now_us=0, urls=(receiver.url,))
    other = AlertStore(store.path)
    senders = [WebhookSender(s, secret=SECRET, clock=lambda: 1.0) for s in (store, other)]
    threads = [threading.Thread(target=lambda s=s: [s.run_once() for _ in range(20)]) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.pending() == 0
    assert receiver.accepted == Counter({a["alert_id"]: 1 for a in _alerts(40)})
