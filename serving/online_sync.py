"""Keeping the online feature store in step with the event log, off the request path.

``POST /events`` used to push each mentee's engagement row to the online store before
answering, so Redis latency reached the client (p99 over a second with Redis on).
:class:`OnlineSync` takes the mentees to refresh into a bounded set and answers at once
(``queued``; ``dropped`` when full, counted); one background thread computes their rows
from the log and pushes them in batches. A push that fails puts its mentees back.

The thread lingers ``linger_s`` after the first mentee arrives before it takes a batch: computing
rows from the log costs ~7 ms of CPU whether for one mentee or for twenty, and at 30 single-event
requests a second one batch per event spent that (and the GIL) thirty times a second. So an
event's features are online within about ``linger_s`` plus a push; ``flush()`` does not wait for it.

The same thread notices an online store that came back empty (Redis restarted without
persistence): a sentinel row written after each rebuild is missing while the store answers,
and so are the rows of a sample of mentees from the log (a store filled by
``skillpath features materialize`` but never marked only gets the sentinel).
It then reports ``rebuilding``, loads the offline tables again
(:func:`features.store.rebuild_online`), re-pushes every mentee in the log (their
newest events are newer than the tables) and writes the sentinel again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from typing import Any, Literal

import numpy as np
import pandas as pd

from features.snapshots import frame
from features.store import read_online, rebuild_online
from features.tables import ENGAGEMENT_PUSH_SOURCE, MENTEE_ENGAGEMENT

__all__ = ["OnlineSync", "SENTINEL"]

log = logging.getLogger("skillpath.serving")

#: The mentee id of the row that marks a built online store (ids from clients never start with two underscores
#: and end with them: the id pattern allows it, but no synthetic or imported world uses it).
SENTINEL = "__skillpath_online__"
Submitted = Literal["queued", "dropped", "unchanged"]


class OnlineSync:
    """The push queue and the rebuild watchdog of one worker.

    Parameters
    ----------
    online : OnlineFeatures
        The adapter (deadlines, breaker) pushes and reads go through.
    rows_for : callable
        ``rows_for(user_ids)``: their engagement rows now (a DataFrame for the push source).
    users : callable
        Every mentee in the event log (what a rebuild re-pushes).
    now : callable
        The clock (UTC datetime) stamping the sentinel.
    max_pending : int
        Mentees waiting at most; beyond that new ones are dropped (and counted).
    batch : int
        Mentees per push.
    check_interval_s : float
        How often the sentinel is read (and a failed push retried).
    linger_s : float
        How long the thread waits for more mentees once one is pending (0: push at once).
    """

    def __init__(self, online: Any, *, rows_for: Callable[[list[str]], pd.DataFrame],
                 users: Callable[[], list[str]], now: Callable[[], Any], max_pending: int = 10_000,
                 batch: int = 256, check_interval_s: float = 2.0, linger_s: float = 0.25) -> None:
        self.online, self.rows_for, self.users, self.now = online, rows_for, users, now
        self.max_pending, self.batch, self.check_interval_s = max_pending, batch, check_interval_s
        self.linger_s = linger_s
        self._flushing = 0
        self._pending: dict[str, None] = {}
        self._cond = threading.Condition()
        self._busy = False
        self._stop = False
        self.rebuilding = False
        self.counts = {"pushed": 0, "dropped": 0, "failed": 0, "rebuilds": 0}
        self.cpu_s = 0.0  # this thread's CPU (the adapter's threads count theirs in online.cpu_s)
        self._thread = threading.Thread(target=self._loop, name="skillpath-online-sync", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ the request side
    def submit(self, user_ids: Collection[str]) -> Submitted:
        """Queue ``user_ids`` for a push; never blocks on the store."""
        if not user_ids:
            return "unchanged"
        with self._cond:
            new = [u for u in user_ids if u not in self._pending]
            if len(self._pending) + len(new) > self.max_pending:
                self.counts["dropped"] += len(new)
                return "dropped"
            self._pending.update(dict.fromkeys(new))
            self._cond.notify_all()  # the thread, not only a flush() waiting on the same condition
        return "queued"

    @property
    def depth(self) -> int:
        with self._cond:
            return len(self._pending)

    def gauges(self) -> dict[str, tuple[str, float]]:
        """Prometheus gauges: queue depth, mentees pushed/dropped/failed, rebuilds, whether rebuilding."""
        return {
            "skillpath_online_push_queue_depth": ("Mentees waiting for an online feature push.", self.depth),
            "skillpath_online_push_dropped": ("Mentees not queued because the push queue was full.",
                                              self.counts["dropped"]),
            "skillpath_online_push_failed": ("Mentee pushes that failed (retried).", self.counts["failed"]),
            "skillpath_online_pushed": ("Mentees pushed to the online store.", self.counts["pushed"]),
            "skillpath_online_rebuilds": ("Rebuilds of an emptied online store.", self.counts["rebuilds"]),
            "skillpath_online_rebuilding": ("1 while the online store is being rebuilt.", float(self.rebuilding)),
            "skillpath_online_sync_cpu_seconds": (
                "CPU spent keeping the online store in step (rows from the log, pushes, checks, rebuilds).",
                self.cpu_s + float(getattr(self.online, "cpu_s", 0.0))),
        }

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until nothing is pending or being pushed (tests, shutdown); whether it got there."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout=timeout_s)
            finally:
                self._flushing -= 1

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop the thread and wait for it: a push or rebuild still inside the feature store's native code
        when the interpreter exits would abort the process (serving/background.py says why)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    # ------------------------------------------------------------ the background side
    def _take(self) -> list[str]:
        with self._cond:
            if not self._pending:
                self._cond.wait(self.check_interval_s)
            if self._pending and self.linger_s > 0:  # let a batch gather (see the module docstring)
                self._cond.wait_for(lambda: self._stop or self._flushing or len(self._pending) >= self.batch,
                                    timeout=self.linger_s)
            if self._stop:
                return []
            users = list(self._pending)[: self.batch]
            for u in users:
                del self._pending[u]
            self._busy = bool(users)
            return users

    def _loop(self) -> None:
        next_check = 0.0
        while not self._stop:
            users = self._take()
            c0 = time.thread_time()
            try:
                if users:
                    self._push(users)
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.check_interval_s
                    self._check()
            except Exception:  # the sync thread survives anything; the log stays the truth
                log.exception("online feature sync failed")
            finally:
                self.cpu_s += time.thread_time() - c0
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _push(self, users: list[str]) -> None:
        rows = self.rows_for(users)
        if rows.empty:
            return
        status = self.online.push(ENGAGEMENT_PUSH_SOURCE, rows)
        if status == "ok":
            self.counts["pushed"] += len(users)
            return
        self.counts["failed"] += len(users)
        with self._cond:  # put them back (bounded) and wait before the next try
            room = self.max_pending - len(self._pending)
            self._pending.update(dict.fromkeys([u for u in users if u not in self._pending][: max(room, 0)]))
            self._cond.wait(self.check_interval_s)

    def _check(self) -> None:
        """Rebuild the online store if it answers but lost the sentinel (emptied or restarted)."""
        found, status = self.online.get_mentee_features([SENTINEL])
        if status != "ok" or _has_values(found, SENTINEL):
            return
        users = self.users()
        sample = users[:: max(1, len(users) // 20)][:20]
        found, status = self.online.get_mentee_features(sample)
        if status == "ok" and any(_has_values(found, u) for u in sample):
            self.online.write(ENGAGEMENT_PUSH_SOURCE, self._sentinel_row())  # filled, just not marked
            return
        self.rebuild()

    def rebuild(self) -> None:
        """Load the offline tables, re-push every mentee in the log, then mark the store built."""
        self.rebuilding = True
        log.warning("online feature store is empty (restarted without persistence?); rebuilding it in the "
                    "background from the offline tables and the event log")
        try:
            store = self.online.store()
            try:
                rebuild_online(store)
            except Exception as e:  # no offline tables yet: the log alone still rebuilds engagement
                log.warning("offline feature tables not loaded: %s", str(e).splitlines()[0] if str(e) else e)
            users = self.users()
            for i in range(0, len(users), self.batch):
                rows = self.rows_for(users[i: i + self.batch])
                if not rows.empty:
                    self.online.write(ENGAGEMENT_PUSH_SOURCE, rows)
            self.online.write(ENGAGEMENT_PUSH_SOURCE, self._sentinel_row())
            if not _has_values(read_online(store, MENTEE_ENGAGEMENT, [SENTINEL]), SENTINEL):
                raise RuntimeError("the sentinel row did not reach the online store")
            self.counts["rebuilds"] += 1
            log.info("online feature store rebuilt (%d mentees)", len(users))
        finally:
            self.rebuilding = False

    def _sentinel_row(self) -> pd.DataFrame:
        now_us = int(pd.Timestamp(self.now()).value // 1000)
        return frame(MENTEE_ENGAGEMENT, {"user_id": [SENTINEL]}, {n: [0] for n in MENTEE_ENGAGEMENT.feature_names},
                     np.array([now_us], dtype=np.int64))


def _has_values(found: dict[str, dict[str, Any]], key: str) -> bool:
    return any(v is not None for v in found.get(key, {}).values())
