"""PostgreSQL event log beyond the shared contract: replicas, crashes, restarts, migrations.

The shared contract (append, idempotency, filters, batches) runs on both backends in
test_eventlog.py; these cover what only a server shared by several processes has.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from catalog.errors import StorageUnavailableError
from catalog.pg_eventlog import MIGRATIONS, PgEventLog, migrate
from tests.catalog.test_eventlog import _WRITER as _SQLITE_WRITER

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]

# The SQLite test's two-writer script, on the PostgreSQL log (its first argument becomes the URL).
_WRITER = _SQLITE_WRITER.replace("from catalog.eventlog import EventLog",
                                 "from catalog.pg_eventlog import PgEventLog as EventLog")

_CRASHER = """
import json, sys
from catalog.pg_eventlog import PgEventLog
url, first, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
log = PgEventLog(url)
for b in range(first, first + 100_000):
    rows = [{"event_id": f"b{b}-{i}", "user_id": f"u{i % 13}", "item_id": f"i{i % 17}",
             "event_type": "view", "timestamp": "2025-02-01T00:00:00Z"} for i in range(size)]
    res = log.append(rows)
    print(json.dumps({"batch": b, "ids": res.event_ids}), flush=True)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}


@pytest.mark.timeout(180)
def test_two_replicas_store_each_shared_event_once(pg_url, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    with PgEventLog(pg_url):  # migrate once before the race (the race on migration is tested below)
        pass
    procs = [subprocess.Popen([sys.executable, str(script), pg_url, name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env()) for name in ("r1", "r2")]
    outs = [p.communicate(timeout=170) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    res = [json.loads(o[0]) for o in outs]
    with PgEventLog(pg_url) as lg:
        assert lg.count() == 2 * 30 * 20 + 30 * 20
        assert lg.read()["event_id"].is_unique
    assert sum(r["accepted"] for r in res) == 3 * 30 * 20
    assert sum(r["duplicates"] for r in res) == 30 * 20


def test_migrations_run_once_and_refuse_a_newer_database(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert migrate(conn, "eventlog", MIGRATIONS) == len(MIGRATIONS)
        assert migrate(conn, "eventlog", MIGRATIONS) == len(MIGRATIONS)  # idempotent
        conn.execute("UPDATE skillpath_schema SET version = 99 WHERE component = 'eventlog'")
        with pytest.raises(Exception, match="version 99"):
            migrate(conn, "eventlog", MIGRATIONS)


@pytest.mark.timeout(240)
def test_sigkill_of_a_replica_loses_no_acknowledged_event(pg_url, tmp_path):
    script = tmp_path / "crasher.py"
    script.write_text(_CRASHER)
    size, acked = 200, {}
    for round_no, kill_after in enumerate((1, 5, 9)):
        proc = subprocess.Popen([sys.executable, str(script), pg_url, str(round_no * 1_000_000), str(size)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        for _ in range(kill_after):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            msg = json.loads(line)
            acked[msg["batch"]] = msg["ids"]
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=60)
        for line in rest.splitlines():
            msg = json.loads(line)
            acked[msg["batch"]] = msg["ids"]
    with PgEventLog(pg_url) as lg:
        stored = Counter(lg.read()["event_id"])
    assert max(stored.values()) == 1
    for b, ids in acked.items():
        assert all(stored[i] == 1 for i in ids), f"acknowledged batch {b} lost events"
    per_batch = Counter(i.split("-")[0] for i in stored)
    assert set(per_batch.values()) == {size}, "a batch is partially stored"


@pytest.mark.timeout(180)
def test_a_crashed_server_keeps_every_acknowledged_event_and_the_log_recovers(tmp_path):
    from tests.pg_server import PostgresServer

    pg = PostgresServer().start()
    try:
        log = PgEventLog(pg.url, timeout=5)
        batch = [{"event_id": f"c-{i}", "user_id": "u", "item_id": "i", "event_type": "view",
                  "timestamp": "2025-01-01"} for i in range(100)]
        assert log.append(batch).accepted == 100
        pg.stop(kill=True)  # SIGKILL: no clean shutdown, recovery from the WAL
        with pytest.raises(StorageUnavailableError, match="retry"):
            log.append([{"event_id": "c-down", "user_id": "u", "item_id": "i", "event_type": "view",
                         "timestamp": "2025-01-01"}])
        pg.start()
        deadline = time.monotonic() + 30
        while True:  # the pool replaces its dead connections by itself
            try:
                assert log.count() == 100
                break
            except AssertionError:
                raise
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert log.append(batch).duplicates == 100
        log.close()
    finally:
        pg.close()
