from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from catalog.errors import DataValidationError
from catalog.eventlog import AppendResult, EventLog

UTC = timezone.utc
REPO = Path(__file__).resolve().parents[2]


def _batch(prefix: str, n: int, *, day: int = 1) -> list[dict]:
    return [
        {"event_id": f"{prefix}-{i}", "user_id": f"u{i % 5}", "item_id": f"i{i % 7}",
         "event_type": "assess" if i % 4 == 0 else "view", "value": 60.0 if i % 4 == 0 else None,
         "timestamp": f"2025-01-{day:02d}T00:00:{i % 60:02d}Z", "source": "test"}
        for i in range(n)
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def log(request, tmp_path):
    """The same contract on both backends: SQLite in the data dir, and a real PostgreSQL server."""
    if request.param == "sqlite":
        with EventLog(tmp_path / "events.db") as lg:
            yield lg
    else:
        from catalog.pg_eventlog import PgEventLog

        with PgEventLog(request.getfixturevalue("pg_url")) as lg:
            yield lg


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}


def test_pragmas_make_commits_durable(tmp_path):
    log = EventLog(tmp_path / "events.db")
    db = sqlite3.connect(log.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert log._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db.close()
    log.close()


def test_append_then_read_back_the_canonical_frame(log):
    res = log.append(_batch("a", 10))
    assert res == AppendResult(10, 0, [f"a-{i}" for i in range(10)])
    df = log.read()
    assert len(df) == 10 and log.count() == 10
    assert str(df["timestamp"].dtype) == "datetime64[us, UTC]"
    assert df["value"].isna().sum() == 7 and set(df["value"].dropna()) == {60.0}
    assert (df["source"] == "test").all()
    assert df["timestamp"].is_monotonic_increasing
    assert log.time_range() == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, 0, 0, 9, tzinfo=UTC))


def test_replayed_batch_is_stored_once_and_acknowledged_twice(log):
    first = log.append(_batch("a", 50))
    again = log.append(pd.DataFrame(_batch("a", 50)))
    assert (first.accepted, first.duplicates) == (50, 0)
    assert (again.accepted, again.duplicates) == (0, 50)
    assert again.event_ids == first.event_ids
    assert log.count() == 50
    mixed = log.append(_batch("a", 60))  # 50 old + 10 new
    assert (mixed.accepted, mixed.duplicates) == (10, 50) and log.count() == 60


def test_bad_event_rejects_the_whole_batch(log):
    rows = _batch("a", 20)
    rows[7]["event_type"] = "clicked"
    rows[13]["value"] = 3.0  # a view with a value
    with pytest.raises(DataValidationError) as ei:
        log.append(rows)
    assert [e.line for e in ei.value.errors] == [8, 14]
    assert log.count() == 0


def test_reused_event_id_with_other_content_is_rejected_never_overwritten(log):
    log.append(_batch("a", 5))
    rows = _batch("b", 3) + [{**_batch("a", 5)[2], "item_id": "other"}]
    with pytest.raises(DataValidationError) as ei:
        log.append(rows)
    (err,) = ei.value.errors
    assert err.line == 4 and err.column == "event_id" and "'a-2' is already stored" in err.reason
    assert log.count() == 5  # the three new b-events were not stored either
    assert log.read().set_index("event_id").loc["a-2", "item_id"] == "i2"
    assert log.check_conflicts(log.read().assign(item_id="x").head(2), lines=[10, 11])[1].line == 11


def test_read_filters_and_user_events(log):
    log.append(_batch("d1", 20, day=1))
    log.append(_batch("d3", 20, day=3))
    assert len(log.read(since="2025-01-02")) == 20
    assert len(log.read(until=datetime(2025, 1, 3, tzinfo=UTC))) == 20
    assert set(log.read(event_types=["assess"])["event_type"]) == {"assess"}
    assert len(log.read(user_ids=[])) == 0
    u = log.user_events("u1")
    assert len(u) == 8 and set(u["user_id"]) == {"u1"} and u["timestamp"].is_monotonic_increasing
    t = log.tail(3, user_id="u1")
    assert t["event_id"].tolist() == u["event_id"].tolist()[-3:]
    rows = log.user_rows("u1")  # the same events, as tuples, for the serving hot path
    assert [r[0] for r in rows] == u["item_id"].tolist() and [r[1] for r in rows] == u["event_type"].tolist()
    assert [r[3] for r in rows] == u["timestamp"].astype("int64").tolist()  # datetime64[us]
    assert [r[2] for r in rows if r[2] is not None] == u["value"].dropna().tolist()
    assert log.user_rows("nobody") == []


def test_iter_batches_covers_everything_once_in_order(log):
    for b in range(5):
        log.append(_batch(f"b{b}", 37, day=5 - b))
    chunks = list(log.iter_batches(40))
    assert [len(c) for c in chunks] == [40, 40, 40, 40, 25]
    allrows = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(allrows, log.read())
    it = log.iter_batches(100)
    first = next(it)
    log.append(_batch("late", 10, day=1))  # appended during iteration: not returned
    assert len(first) + sum(len(c) for c in it) == 185


def test_export_parquet_round_trip(log, tmp_path):
    import pyarrow.parquet as pq

    log.append(_batch("a", 30, day=2))
    log.append(_batch("b", 30, day=4))
    out = tmp_path / "exports" / "events.parquet"
    assert log.export_parquet(out, since="2025-01-03") == 30
    assert str(pq.read_schema(out).field("timestamp").type) == "timestamp[us, tz=UTC]"
    assert log.export_parquet(out) == 60
    pd.testing.assert_frame_equal(pd.read_parquet(out), log.read())
    assert not [p for p in out.parent.iterdir() if p.name != "events.parquet"]  # no temp files left


def test_threads_share_one_log(log, at_once):
    def work(t: int) -> None:
        for b in range(10):
            log.append(_batch(f"t{t}-b{b}", 20))
            log.append(_batch(f"shared-b{b}", 20))  # every thread replays these
            log.count()

    errors = at_once(work, 4)
    assert not errors, errors
    assert log.count() == 4 * 10 * 20 + 10 * 20


_WRITER = """
import json, sys
from catalog.eventlog import EventLog
path, name = sys.argv[1], sys.argv[2]
accepted = duplicates = 0
with EventLog(path) as log:
    for b in range(30):
        own = [{"event_id": f"{name}-{b}-{i}", "user_id": "u", "item_id": "i", "event_type": "view",
                "timestamp": "2025-01-01"} for i in range(20)]
        shared = [{"event_id": f"shared-{b}-{i}", "user_id": "u", "item_id": "i", "event_type": "start",
                   "timestamp": "2025-01-02"} for i in range(20)]
        for batch in (own, shared):
            r = log.append(batch)
            accepted += r.accepted
            duplicates += r.duplicates
print(json.dumps({"accepted": accepted, "duplicates": duplicates}))
"""


@pytest.mark.timeout(120)
def test_concurrent_writers_from_two_processes(tmp_path):
    path = tmp_path / "events.db"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), str(path), name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_child_env()) for name in ("p1", "p2")]
    outs = [p.communicate(timeout=110) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    res = [json.loads(o[0]) for o in outs]
    with EventLog(path) as lg:
        assert lg.count() == 2 * 30 * 20 + 30 * 20
    assert sum(r["accepted"] for r in res) == 3 * 30 * 20  # each shared event accepted exactly once
    assert sum(r["duplicates"] for r in res) == 30 * 20


_CRASHER = """
import json, sys
from catalog.eventlog import EventLog
path, first, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
log = EventLog(path)
for b in range(first, first + 100_000):
    rows = [{"event_id": f"b{b}-{i}", "user_id": f"u{i % 13}", "item_id": f"i{i % 17}",
             "event_type": "view", "timestamp": f"2025-02-01T00:{b % 60:02d}:{i % 60:02d}Z"}
            for i in range(size)]
    res = log.append(rows)
    print(json.dumps({"batch": b, "ids": res.event_ids}), flush=True)  # acknowledged
"""


@pytest.mark.timeout(180)
def test_sigkill_mid_ingestion_loses_no_acknowledged_event_and_leaves_no_partial_batch(tmp_path):
    """THE crash test: acknowledged batches survive SIGKILL; no batch is half-stored.

    Writers in turn are killed at different points into the same file (so each also
    starts from a log recovered after a crash); the delays after the last read
    acknowledgement spread the kill over validation, INSERTs and COMMIT.
    """
    path, size = tmp_path / "events.db", 250
    script = tmp_path / "crasher.py"
    script.write_text(_CRASHER)
    acked: dict[int, list[str]] = {}
    for round_no, (kill_after, delay) in enumerate(((1, 0.0), (6, 0.004), (11, 0.009), (16, 0.016))):
        first = round_no * 1_000_000
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(first), str(size)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env())
        seen = 0
        while seen < kill_after:
            line = proc.stdout.readline()
            assert line, f"writer died early: {proc.stderr.read()}"
            msg = json.loads(line)
            acked[msg["batch"]] = msg["ids"]
            seen += 1
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)  # while it is inside a later append
        rest, _ = proc.communicate(timeout=60)
        for line in rest.splitlines():  # acknowledgements printed before the kill landed
            msg = json.loads(line)
            acked[msg["batch"]] = msg["ids"]
        assert proc.returncode == -signal.SIGKILL

        with EventLog(path) as lg:
            stored = lg.read()["event_id"].tolist()
            assert lg._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts = Counter(stored)
        assert max(counts.values()) == 1
        for b, ids in acked.items():  # every acknowledged event is there, exactly once
            assert all(counts[i] == 1 for i in ids), f"acknowledged batch {b} lost events"
        per_batch = Counter(i.split("-")[0] for i in stored)
        assert set(per_batch.values()) == {size}, "a batch is partially stored"
        assert {f"b{b}" for b in acked} <= set(per_batch)
        # At most the one batch in flight may be stored without an acknowledgement.
        assert len(set(per_batch) - {f"b{b}" for b in acked}) <= round_no + 1


def test_per_user_reads_never_wait_for_a_writer(tmp_path):
    """The service reads a mentee's stamp and rows on its event loop: they must not queue
    behind an append that is waiting for another process's write lock (or its fsync)."""
    path = tmp_path / "events.db"
    log = EventLog(path, timeout=10)
    first = _batch("a", 3)
    log.append(first)
    user = first[0]["user_id"]
    stamp = log.last_seq(user)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    writer = threading.Thread(target=log.append, args=(_batch("b", 2, day=2),))
    writer.start()
    time.sleep(0.3)  # the append now waits in BEGIN IMMEDIATE, holding the log's write lock
    got: dict = {}
    reader = threading.Thread(target=lambda: got.update(seq=log.last_seq(user), rows=log.user_rows(user)))
    reader.start()
    reader.join(5)
    blocked = reader.is_alive()
    other.execute("COMMIT")
    other.close()
    writer.join(10)
    reader.join(10)
    assert not blocked, "per-user reads waited for the writer"
    assert got["seq"] == stamp and len(got["rows"]) == sum(e["user_id"] == user for e in first)
    assert log.count() == 5  # the waiting append went through afterwards
    log.close()


def test_group_commit_shares_one_transaction_and_keeps_each_batch_apart(tmp_path):
    """Concurrent appends share commits (fewer fsyncs than batches); every acknowledged event is stored once,
    and a batch that reuses an id with other content is refused alone."""
    import threading

    from catalog.errors import DataValidationError
    from catalog.eventlog import EventLog

    log = EventLog(tmp_path / "events.db")
    commits = []
    real_write = log._write

    def counting(group):
        commits.append(len(group))
        real_write(group)

    log._write = counting  # type: ignore[method-assign]
    t = "2026-01-01T00:00:00Z"

    def ev(i, item="i1"):
        return {"event_id": f"e{i}", "user_id": "u1", "item_id": item, "event_type": "view", "timestamp": t}

    acked, refused = [], []

    def worker(n):
        for k in range(20):
            i = n * 100 + k
            try:
                res = log.append([ev(i), ev(i)] if k % 7 else [ev(i)])
                acked.extend(res.event_ids)
            except DataValidationError:
                refused.append(i)

    log.append([ev(5)])
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    bad = threading.Thread(target=lambda: refused.append(
        pytest.raises(DataValidationError, log.append, [ev(5, item="i2")])))
    for th in threads + [bad]:
        th.start()
    for th in threads + [bad]:
        th.join()
    stored = log.read()
    assert stored["event_id"].is_unique
    assert set(acked) <= set(stored["event_id"])
    assert len(stored) == 1 + 8 * 20 - 1  # e5 was stored before; worker 0 sends it again as a replay
    assert sum(commits) == 1 + 8 * 20 + 1 and len(commits) < sum(commits)  # batches shared commits
    assert stored.set_index("event_id").loc["e5", "item_id"] == "i1"
    log.close()


def test_rows_after_follows_the_log_in_arrival_order(log):
    log.append(_batch("a", 5))
    rows = log.rows_after(0)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows) and len(rows) == 5
    assert log.rows_after(rows[1][0], limit=2) == rows[2:4]
    assert rows[0][3] in {"view", "assess"} and isinstance(rows[0][5], int)
    log.append(_batch("b", 3))
    assert len(log.rows_after(rows[-1][0])) == 3 and log.rows_after(log.last_seq()) == []
