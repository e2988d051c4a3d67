"""Vectorised "how many events before time t" over many (group, t) queries at once.

Point-in-time features are sums over the events of one group (a mentee, an item, a
mentee-skill pair) whose timestamp is strictly before a cut-off. Sorting events and
queries together once answers every query with prefix sums, so a million snapshot rows
cost a few sorts instead of a Python loop. Strictly before: a query at ``t`` never sees
an event stamped ``t`` (that is what keeps training rows free of leakage).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["PrefixIndex", "Positions"]


class Positions:
    """Where each query falls in the sorted events: ``start`` of its group, ``pos`` after the
    last event strictly before its time (``pos - start`` events qualify)."""

    __slots__ = ("start", "pos")

    def __init__(self, start: NDArray[np.int64], pos: NDArray[np.int64]) -> None:
        self.start = start
        self.pos = pos

    @property
    def count(self) -> NDArray[np.int64]:
        return self.pos - self.start


class PrefixIndex:
    """Events grouped by an integer key and sorted by time, with prefix sums on demand.

    Parameters
    ----------
    keys : int64 array
        Group of each event (dense, >= 0).
    ts : int64 array
        Event time in microseconds since the epoch.
    """

    def __init__(self, keys: NDArray[np.integer], ts: NDArray[np.integer]) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        ts = np.asarray(ts, dtype=np.int64)
        if keys.shape != ts.shape:
            raise ValueError("keys and ts must have the same length")
        self.order = np.lexsort((ts, keys))
        self.keys = keys[self.order]
        self.ts = ts[self.order]

    def __len__(self) -> int:
        return len(self.keys)

    def positions(self, q_keys: NDArray[np.integer], q_ts: NDArray[np.integer]) -> Positions:
        """Locate queries ``(key, t)``: events of ``key`` with time ``< t`` are ``[start, pos)``."""
        q_keys = np.asarray(q_keys, dtype=np.int64)
        q_ts = np.asarray(q_ts, dtype=np.int64)
        n, q = len(self.keys), len(q_keys)
        start = np.searchsorted(self.keys, q_keys, side="left").astype(np.int64)
        if q == 0 or n == 0:
            return Positions(start, start.copy())
        # Merge events and queries; on equal (key, time) queries sort first, so an event
        # stamped exactly t is not counted for a query at t.
        all_keys = np.concatenate([self.keys, q_keys])
        all_ts = np.concatenate([self.ts, q_ts])
        flag = np.concatenate([np.ones(n, np.int8), np.zeros(q, np.int8)])
        merged = np.lexsort((flag, all_ts, all_keys))
        is_event = flag[merged].astype(np.int64)
        events_before = np.cumsum(is_event) - is_event
        pos = np.empty(q, dtype=np.int64)
        qmask = is_event == 0
        pos[merged[qmask] - n] = events_before[qmask]
        return Positions(start, pos)

    def prefix(self, weights: ArrayLike | None = None) -> NDArray[np.float64]:
        """Cumulative sums of ``weights`` (given in the caller's original event order)."""
        w = np.ones(len(self.keys)) if weights is None else np.asarray(weights, dtype=np.float64)[self.order]
        return np.concatenate([[0.0], np.cumsum(w)])

    @staticmethod
    def window(prefix: NDArray[np.float64], hi: Positions, lo: Positions | None = None) -> NDArray[np.float64]:
        """Sum over events in ``[lo time, hi time)``; ``lo=None`` means since the beginning."""
        base = prefix[hi.start] if lo is None else prefix[lo.pos]
        return prefix[hi.pos] - base

    def last_ts_before(self, p: Positions) -> NDArray[np.int64]:
        """Time of the last event strictly before each query; INT64_MIN where there is none."""
        out = np.full(len(p.pos), np.iinfo(np.int64).min, dtype=np.int64)
        has = p.pos > p.start
        out[has] = self.ts[p.pos[has] - 1]
        return out
