"""Online feature reads for the service, with a deadline and a circuit breaker.

Features make recommendations better but are never required: when the online store
(SQLite or Redis) is down or slow, the caller still answers with the model alone and
reports why. :meth:`OnlineFeatures.get_mentee_features` therefore never raises for a
store problem and never waits longer than ``timeout_s``:

- ``"ok"``: the read finished in time (mentees without features map to all-``None``);
- ``"timeout"``: the read did not finish within ``timeout_s`` (or every worker is busy);
- ``"unavailable"``: the store failed, or the breaker is open after repeated failures
  and is not asking it again until ``cooldown_s`` has passed (then one trial read).

Feast is imported by the store factory, on the first read, not when this module loads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Literal

from features.store import read_online
from features.tables import MENTEE_ENGAGEMENT, TableSpec

__all__ = ["OnlineFeatures", "Status"]

Status = Literal["ok", "unavailable", "timeout"]


class OnlineFeatures:
    """Mentee features from the online store, bounded in time, failing soft.

    Parameters
    ----------
    store_factory : callable
        Returns a ``feast.FeatureStore`` (e.g. ``lambda: open_store(data_dir)``); called
        lazily on the first read, and again after a failure to create it.
    timeout_s : float
        Deadline of one read, in seconds.
    failure_threshold : int
        Consecutive failures (timeouts or errors) that open the breaker.
    cooldown_s : float
        How long an open breaker answers ``"unavailable"`` without touching the store.
    max_workers : int
        Reads in flight at once; beyond that a read is answered ``"timeout"`` at once
        rather than queued behind stuck ones.
    """

    def __init__(self, store_factory: Callable[[], Any], *, timeout_s: float = 0.05,
                 failure_threshold: int = 3, cooldown_s: float = 5.0, max_workers: int = 4,
                 spec: TableSpec = MENTEE_ENGAGEMENT, clock: Callable[[], float] = time.monotonic) -> None:
        if timeout_s <= 0 or cooldown_s < 0 or failure_threshold < 1 or max_workers < 1:
            raise ValueError("timeout_s > 0, cooldown_s >= 0, failure_threshold >= 1, max_workers >= 1")
        self.store_factory = store_factory
        self.timeout_s = timeout_s
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.max_workers = max_workers
        self.spec = spec
        self._clock = clock
        self._lock = threading.RLock()
        self._store: Any = None
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="online-features")
        self._in_flight = 0
        self._failures = 0
        self._open_until: float | None = None
        self._trial = False
        self.counts: dict[str, int] = {"ok": 0, "timeout": 0, "unavailable": 0}

    @property
    def state(self) -> str:
        """``closed`` (reading), ``open`` (not reading) or ``half-open`` (one trial read allowed)."""
        with self._lock:
            if self._open_until is None:
                return "closed"
            return "open" if self._clock() < self._open_until else "half-open"

    def get_mentee_features(self, user_ids: Sequence[str]) -> tuple[dict[str, dict[str, Any]], Status]:
        """Features per mentee and a status; on any status but ``"ok"`` the dict is empty."""
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}, "ok"
        with self._lock:
            if self._open_until is not None:
                if self._clock() < self._open_until or self._trial:
                    return self._count({}, "unavailable")
                self._trial = True  # half-open: this read is the trial
            if self._in_flight >= self.max_workers:
                self._trial = False
                return self._failed("timeout")
            self._in_flight += 1
        try:
            future = self._pool.submit(self._read, ids)
        except RuntimeError:  # pool shut down
            with self._lock:
                self._in_flight -= 1
            return self._failed("unavailable")
        try:
            result = future.result(timeout=self.timeout_s)
        except FutureTimeout:
            return self._failed("timeout")
        except Exception:  # the store failed; the caller answers without features
            return self._failed("unavailable")
        with self._lock:
            self._failures, self._open_until, self._trial = 0, None, False
            return self._count(result, "ok")

    def _read(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        try:
            store = self._get_store()
            return read_online(store, self.spec, ids)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _get_store(self) -> Any:
        with self._lock:
            store = self._store
        if store is None:
            store = self.store_factory()
            with self._lock:
                self._store = self._store or store
                store = self._store
        return store

    def _failed(self, status: Status) -> tuple[dict, Status]:
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self.failure_threshold:
                self._open_until = self._clock() + self.cooldown_s
            self._trial = False
            return self._count({}, status)

    def _count(self, result: dict, status: Status) -> tuple[dict, Status]:
        self.counts[status] += 1
        return result, status

    def close(self) -> None:
        """Stop the worker threads (reads in flight finish in the background)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> "OnlineFeatures":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
