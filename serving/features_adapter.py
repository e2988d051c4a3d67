"""Online feature reads and pushes for the service, with a deadline and a circuit breaker.

Features make recommendations better but are never required: when the online store
(SQLite or Redis) is down or slow, the caller still answers with the model alone and
reports why. :meth:`OnlineFeatures.get_mentee_features` and :meth:`OnlineFeatures.push`
(the ``/events`` write path) therefore never raise for a store problem and never wait
longer than their deadline:

- ``"ok"``: the read finished in time (mentees without features map to all-``None``);
- ``"timeout"``: the read did not finish within ``timeout_s`` (or every worker is busy);
- ``"unavailable"``: the store failed, or the breaker is open after repeated failures
  and is not asking it again until ``cooldown_s`` has passed (then one trial read).

On a plain Redis online store, reads and pushes of the adapter's table skip the SDK's per-call
work (:class:`features.redis_rows.RedisRows`: Feast's client, keys and protobufs, the same bytes):
a one-row push cost ~12 ms of CPU through ``FeatureStore.push`` because it deserialises the whole
registry each time. Other stores and push sources go through the SDK.

Feast is imported by the store factory, on the first read, not when this module loads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Literal

from features.redis_rows import redis_rows_for
from features.store import read_online
from features.tables import ENGAGEMENT_PUSH_SOURCE, MENTEE_ENGAGEMENT, TableSpec

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
    push_timeout_s : float
        Deadline of one push (a write), in seconds; writes cost more than reads.
    failure_threshold : int
        Consecutive failures (timeouts or errors) that open the breaker.
    cooldown_s : float
        How long an open breaker answers ``"unavailable"`` without touching the store.
    max_workers : int
        Reads in flight at once; beyond that a read is answered ``"timeout"`` at once
        rather than queued behind stuck ones.
    """

    def __init__(self, store_factory: Callable[[], Any], *, timeout_s: float = 0.05, push_timeout_s: float = 0.5,
                 failure_threshold: int = 3, cooldown_s: float = 5.0, max_workers: int = 4,
                 spec: TableSpec = MENTEE_ENGAGEMENT, clock: Callable[[], float] = time.monotonic) -> None:
        if timeout_s <= 0 or push_timeout_s <= 0 or cooldown_s < 0 or failure_threshold < 1 or max_workers < 1:
            raise ValueError("timeout_s > 0, push_timeout_s > 0, cooldown_s >= 0, failure_threshold >= 1, max_workers >= 1")
        self.store_factory = store_factory
        self.timeout_s = timeout_s
        self.push_timeout_s = push_timeout_s
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.max_workers = max_workers
        self.spec = spec
        #: the push source that feeds ``spec`` (the only one the direct path writes)
        self._push_source = ENGAGEMENT_PUSH_SOURCE if spec == MENTEE_ENGAGEMENT else None
        self._clock = clock
        self._lock = threading.RLock()
        self._store: Any = None
        self._rows: Any = False  # RedisRows for ``spec`` (None: the SDK path); False until the store is open
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="online-features")
        self._in_flight = 0
        self._failures = 0
        self._open_until: float | None = None
        self._trial = False
        self.counts: dict[str, int] = {"ok": 0, "timeout": 0, "unavailable": 0}
        self.cpu_s = 0.0  #: CPU seconds of the reads and pushes run on the pool (what the store costs this process)
        self._last: Status = "ok"

    @property
    def state(self) -> str:
        """``closed`` (reading), ``open`` (not reading) or ``half-open`` (one trial read allowed)."""
        with self._lock:
            if self._open_until is None:
                return "closed"
            return "open" if self._clock() < self._open_until else "half-open"

    @property
    def status(self) -> Status:
        """The store's health as last seen, without touching it: ``"unavailable"`` while the
        breaker is open, else the status of the last read, push or warm-up (``"ok"`` before any).
        Cheap enough to report on every request."""
        with self._lock:
            if self._open_until is not None and self._clock() < self._open_until:
                return "unavailable"
            return self._last

    def get_mentee_features(self, user_ids: Sequence[str]) -> tuple[dict[str, dict[str, Any]], Status]:
        """Features per mentee and a status; on any status but ``"ok"`` the dict is empty."""
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}, "ok"
        result, status = self._call(lambda store: self._read(store, ids), self.timeout_s)
        return (result if status == "ok" else {}), status

    def _read(self, store: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
        rows = self._fast(store)
        return read_online(store, self.spec, ids) if rows is None else rows.read(ids)

    def write(self, push_source: str, rows: Any) -> None:
        """Write ``rows`` through ``push_source`` now, without a deadline or the breaker (a rebuild);
        raises what the store raises."""
        store = self._get_store()
        fast = self._fast(store) if push_source == self._push_source else None
        if fast is None:
            store.push(push_source, rows)
        else:
            fast.write(rows)

    def _fast(self, store: Any) -> Any:
        """The direct Redis path for ``spec``, resolved once per store (None: use the SDK)."""
        if self._rows is False:
            rows = redis_rows_for(store, self.spec)
            with self._lock:
                self._rows = rows
        return self._rows

    def push(self, push_source: str, rows: Any) -> Status:
        """Write ``rows`` (a DataFrame) through a Feast push source to the online store, bounded by
        ``push_timeout_s``; same breaker as reads. ``"ok"`` once the store acknowledged the write.

        On ``"timeout"`` the write may still land later (it is not cancelled); the caller
        must not depend on it either way.
        """
        _, status = self._call(lambda store: self.write(push_source, rows), self.push_timeout_s)
        return status

    def _call(self, fn: Callable[[Any], Any], timeout_s: float) -> tuple[Any, Status]:
        """Run ``fn(store)`` on the pool within ``timeout_s``, through the breaker; never raises."""
        with self._lock:
            if self._open_until is not None:
                if self._clock() < self._open_until or self._trial:
                    return self._count(None, "unavailable")
                self._trial = True  # half-open: this call is the trial
            if self._in_flight >= self.max_workers:
                self._trial = False
                return self._failed("timeout")
            self._in_flight += 1
        try:
            future = self._pool.submit(self._run, fn)
        except RuntimeError:  # pool shut down
            with self._lock:
                self._in_flight -= 1
            return self._failed("unavailable")
        try:
            result = future.result(timeout=timeout_s)
        except FutureTimeout:
            return self._failed("timeout")
        except Exception:  # the store failed; the caller goes on without it
            return self._failed("unavailable")
        with self._lock:
            self._failures, self._open_until, self._trial = 0, None, False
            return self._count(result, "ok")

    def _run(self, fn: Callable[[Any], Any]) -> Any:
        c0 = time.thread_time()
        try:
            return fn(self._get_store())
        finally:
            with self._lock:
                self._in_flight -= 1
                self.cpu_s += time.thread_time() - c0

    def warm_up(self, timeout_s: float = 30.0) -> bool:
        """Open the store and its registry now (``import feast`` alone takes seconds), so the
        first request is not the one that pays for it. Failures are left to the breaker."""
        try:
            self._pool.submit(lambda: self._read(self._get_store(), ["__warm_up__"])).result(timeout=timeout_s)
        except Exception:  # down or not set up yet: the breaker decides on the next real call
            with self._lock:
                self._last = "unavailable"
            return False
        with self._lock:
            self._last = "ok"
        return True

    def store(self) -> Any:
        """The Feast store itself, opened on first use (for work without a deadline: a rebuild)."""
        return self._get_store()

    def _get_store(self) -> Any:
        with self._lock:
            store = self._store
        if store is None:
            store = self.store_factory()
            with self._lock:
                self._store = self._store or store
                store = self._store
        return store

    def _failed(self, status: Status) -> tuple[Any, Status]:
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self.failure_threshold:
                self._open_until = self._clock() + self.cooldown_s
            self._trial = False
            return self._count(None, status)

    def _count(self, result: Any, status: Status) -> tuple[Any, Status]:
        self.counts[status] += 1
        self._last = status
        return result, status

    def close(self) -> None:
        """Stop the worker threads (reads in flight finish in the background)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> "OnlineFeatures":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
