"""catalog.sqldb: the one SQLite opener of the stores beside the event log."""

from __future__ import annotations

import threading

from catalog.sqldb import open_sqlite


def test_processes_opening_a_new_database_at_once_all_get_wal(tmp_path, at_once):
    """Switching a new file to WAL takes a lock SQLite does not wait for: the opener retries, so two
    replicas starting on a fresh data dir never fail with "database is locked"."""
    for n in range(30):
        path = tmp_path / f"new-{n}.db"
        gate, modes = threading.Barrier(4), []

        def open_one(_k: int) -> None:
            gate.wait()
            conn = open_sqlite(path, timeout=10.0)
            modes.append(conn.execute("PRAGMA journal_mode").fetchone()[0])
            conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
            conn.close()

        errors = at_once(open_one, 4)
        assert not errors, errors
        assert modes == ["wal"] * 4
