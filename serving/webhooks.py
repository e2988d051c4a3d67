"""Webhook delivery of new alerts from the outbox: signed, retried with backoff, once per alert id and URL.

Each configured URL receives ``POST`` with the alert as its JSON body and the headers

- ``X-SkillPath-Alert-Id``: the alert id (stable; a receiver may use it as an idempotency key);
- ``X-SkillPath-Signature``: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under
  monitoring.webhook_secret>`` (the time is signed so a captured request cannot be
  replayed later; :func:`verify` checks both).

A delivery counts when the receiver answers 2xx; anything else (or no answer within
``webhook_timeout_s``) is retried after ``webhook_backoff_s * 2**(attempts-1)``, capped at
``webhook_max_backoff_s``. The outbox row is leased while it is being sent, so workers
sharing the database never send it twice at once, and it is marked delivered right
after the 2xx: a restart resends only rows never acknowledged by the receiver. (A
crash in the instant between the receiver's 2xx and that mark resends that one alert
once; the alert id header lets the receiver drop it.)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from catalog.alert_store import AlertStore, OutboxRow

__all__ = ["sign", "verify", "WebhookSender", "SIGNATURE_HEADER", "ALERT_ID_HEADER"]

log = logging.getLogger("skillpath.monitoring")

SIGNATURE_HEADER = "X-SkillPath-Signature"
ALERT_ID_HEADER = "X-SkillPath-Alert-Id"

Post = Callable[[str, bytes, dict[str, str], float], int]


def sign(secret: str, body: bytes, t: int) -> str:
    """The signature header value of ``body`` sent at unix time ``t``."""
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance_s: float = 300.0) -> bool:
    """True if ``header`` signs ``body`` under ``secret`` and was made within ``tolerance_s`` of ``now``."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - t) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, t), header)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (configured http(s) URLs only)
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


class WebhookSender:
    """Sends due outbox rows; :meth:`run` loops until ``stop`` is set (a daemon thread of each worker)."""

    def __init__(self, store: AlertStore, *, secret: str, timeout_s: float = 5.0, backoff_s: float = 2.0,
                 max_backoff_s: float = 3600.0, clock: Callable[[], float] = time.time, post: Post = _post) -> None:
        self.store, self.secret = store, secret
        self.timeout_s, self.backoff_s, self.max_backoff_s = timeout_s, backoff_s, max_backoff_s
        self.clock, self.post = clock, post

    def _send(self, row: OutboxRow) -> str | None:
        """Post one row; None when delivered, else the reason it was not."""
        body = row.payload.encode()
        headers = {"Content-Type": "application/json", ALERT_ID_HEADER: row.alert_id,
                   SIGNATURE_HEADER: sign(self.secret, body, int(self.clock())), "User-Agent": "SkillPath-webhooks/1"}
        try:
            status = self.post(row.url, body, headers, self.timeout_s)
        except (OSError, ValueError) as e:  # refused, timed out, bad URL
            return f"{type(e).__name__}: {e}"
        return None if 200 <= status < 300 else f"HTTP {status}"

    def run_once(self, limit: int = 5) -> int:
        """Send the rows due now; the number delivered."""
        now_us = int(self.clock() * 1e6)
        lease_us = int(3 * self.timeout_s * 1e6) * max(1, limit)
        done = 0
        for row in self.store.claim_due(now_us=now_us, lease_us=lease_us, limit=limit):
            error = self._send(row)
            t_us = int(self.clock() * 1e6)
            if error is None:
                self.store.delivered(row.seq, now_us=t_us)
                done += 1
            else:
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** row.attempts)
                self.store.failed(row.seq, error=error, next_try_us=t_us + int(delay * 1e6))
                log.warning("webhook %s for alert %s failed (%s); retry in %.1fs", row.url, row.alert_id, error, delay)
        return done

    def run(self, stop: threading.Event, interval_s: float = 1.0) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the loop must survive anything; rows stay in the outbox
                log.exception("webhook delivery failed")
                busy = 0
            if not busy:
                stop.wait(interval_s)
