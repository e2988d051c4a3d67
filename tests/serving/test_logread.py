"""Bulk event-log reads in batches: the same events as one read, and the lock is free between batches."""

from __future__ import annotations

import threading

import pandas as pd

from catalog.eventlog import EventLog
from serving.logread import read_log


def _events(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)], "user_id": [f"u{i % 5}" for i in range(n)],
        "item_id": [f"i{i % 7}" for i in range(n)],
        "event_type": ["complete" if i % 3 == 0 else "view" for i in range(n)],
        "timestamp": pd.date_range("2025-01-01", periods=n, freq="min", tz="UTC")})


def test_read_log_matches_one_read_with_and_without_a_type_filter(tmp_path):
    with EventLog(tmp_path / "events.db") as log:
        assert read_log(log).empty and list(read_log(log).columns) == list(log.read().columns)
        log.append(_events(250))
        pd.testing.assert_frame_equal(read_log(log, batch_size=40), log.read())
        done = read_log(log, event_types=["complete"], batch_size=7)
        pd.testing.assert_frame_equal(done, log.read(event_types=["complete"]))
        assert len(done) == 84 and set(done["event_type"]) == {"complete"}
        assert read_log(log, event_types=["dismiss"]).empty


def test_other_threads_use_the_log_between_batches(tmp_path):
    with EventLog(tmp_path / "events.db") as log:
        log.append(_events(100))
        batches = log.iter_batches(10, event_types=["view"])
        first = next(batches)
        got = []
        t = threading.Thread(target=lambda: got.append(log.last_seq()))
        t.start()
        t.join(timeout=30)
        assert got == [100]  # not blocked behind the bulk read
        assert len(first) + sum(len(b) for b in batches) == 66
