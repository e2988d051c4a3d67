"""The durable, idempotent event log: one SQLite file in WAL mode.

Guarantees (see ``docs/events.md``):

- **all or nothing**: a batch is validated first, then stored in one transaction; a
  bad event rejects the whole batch and stores nothing;
- **durable acknowledgement**: :meth:`EventLog.append` returns only after COMMIT with
  ``synchronous=FULL`` (the WAL is fsynced), so an acknowledged batch survives a crash
  of the process and of the machine;
- **group commit**: batches appended concurrently (threads of one process) share one
  transaction and one fsync; each is its own savepoint, so a batch that conflicts is
  rejected alone, and each call still returns only after the shared COMMIT;
- **idempotent**: ``event_id`` is the key. A replayed batch is stored once and
  acknowledged again (its events counted as duplicates). An ``event_id`` already stored
  with *different* content is a client bug (an idempotency key reused): the batch is
  rejected with a :class:`~catalog.errors.DataValidationError` naming those events;
  stored events are never overwritten.

Several processes may open the same file (SQLite's locks serialise writers; readers
never block in WAL mode) and one ``EventLog`` may be shared by threads (one connection
guarded by a lock).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from catalog.errors import DataValidationError, IntegrityError, RowError
from catalog.event_rows import (
    AppendResult, PendingBatch, conflicting_rows, dt, filters, frame, to_rows, us,
)
from catalog.event_fast import validated_rows
from catalog.sqldb import open_sqlite
from catalog.writers import atomic_write_parquet

__all__ = ["AppendResult", "EventLog", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
_SQL_VARS = 900  # parameters per IN (...) query; well under SQLite's limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order, never reused
    event_id    TEXT    NOT NULL UNIQUE,            -- the idempotency key
    user_id     TEXT    NOT NULL,
    item_id     TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    value       REAL,                               -- NULL when the event has none
    ts_us       INTEGER NOT NULL,                   -- event time, UTC microseconds
    source      TEXT    NOT NULL DEFAULT '',
    ingested_us INTEGER NOT NULL                    -- when the log stored it
);
CREATE INDEX IF NOT EXISTS events_user_ts ON events (user_id, ts_us);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts_us);
"""
_COLS = "event_id, user_id, item_id, event_type, value, ts_us, source"


class EventLog:
    """An append-only, idempotent store of interaction events.

    Parameters
    ----------
    path : str or Path
        The SQLite file (created with its parent folder if missing).
    timeout : float
        Seconds to wait for another process's write lock before failing.
    group_commit : bool
        Let concurrent appends share one transaction and one fsync (each still returns
        only after that COMMIT); False commits every batch on its own.
    """

    def __init__(self, path: str | Path, *, timeout: float = 30.0, group_commit: bool = True) -> None:
        self.path = Path(path)
        self.group_commit = group_commit
        self._group = threading.Condition()
        self._queue: list[PendingBatch] = []
        self._writing = False
        self._lock = threading.RLock()
        # We issue BEGIN/COMMIT ourselves, so a transaction is exactly one batch; the lock makes sharing safe.
        self._conn: sqlite3.Connection | None = open_sqlite(self.path, timeout=timeout)
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise IntegrityError(
                    f"{self.path}: event log schema version {version}, this SkillPath reads {SCHEMA_VERSION}"
                )
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    c.execute(stmt)
            c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            c.close()
            self._conn = None
            raise
        # A second, read-only connection with its own lock for the per-request reads
        # (last_seq of a user, user_rows): in WAL mode a reader never waits for a writer, so
        # a request never queues behind an append's lock wait or fsync (the service scores
        # on its event loop). Each statement is its own read transaction: it sees every
        # commit that returned before it started, on either connection.
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._reader.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        self._reader.execute("PRAGMA query_only = 1")

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventLog({str(self.path)!r})"

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"{self!r} is closed")
        return self._conn

    def _read_one_user(self, sql: str, params: list) -> list[tuple]:
        """Run a small read on the reader connection (see ``__init__``)."""
        with self._read_lock:
            if self._reader is None:
                raise ValueError(f"{self!r} is closed")
            return self._reader.execute(sql, params).fetchall()

    # ------------------------------------------------------------ writing

    def append(
        self,
        events: pd.DataFrame | Sequence[Mapping[str, object]],
        *,
        known_items: Collection[str] | None = None,
        known_users: Collection[str] | None = None,
        line_offset: int = 1,
        source: str = "",
        now: datetime | None = None,
    ) -> AppendResult:
        """Validate and durably store a batch; return only after COMMIT.

        ``line_offset`` numbers the first event in error messages (1: "event 1 of the
        batch"); ``source`` names the batch there. ``now`` stamps ``ingested_at``
        (default: the wall clock). Raises :class:`DataValidationError` (nothing stored)
        if any event is invalid or reuses a stored ``event_id`` with other content.
        """
        rows, lines = validated_rows(events, known_items=known_items, known_users=known_users,
                                     line_offset=line_offset, source=source)
        if not rows:
            return AppendResult(0, 0, [])
        ingested = us(now) if now is not None else time.time_ns() // 1000
        batch = PendingBatch(rows, lines, source, ingested)
        if not self.group_commit:
            with self._lock:
                self._write([batch])
            return batch.outcome()
        with self._group:  # group commit: whoever finds no writer at work commits everything queued
            self._queue.append(batch)
            while not batch.done and self._writing:
                self._group.wait()
            if batch.done:
                return batch.outcome()
            self._writing = True
            group, self._queue = self._queue, []
        try:
            with self._lock:
                self._write(group)
        finally:
            with self._group:
                self._writing = False
                self._group.notify_all()
        return batch.outcome()

    def _write(self, group: list[PendingBatch]) -> None:
        """Store ``group`` in one transaction (one fsync); a batch that conflicts is rolled back alone."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlocks
        try:
            for b in group:
                db.execute("SAVEPOINT batch")
                try:
                    ids = [r[0] for r in b.rows]
                    stored = self._stored(ids)
                    conflicts = conflicting_rows(b.rows, stored, b.lines, b.source)
                    if conflicts:
                        raise DataValidationError(conflicts, source=b.source)
                    gone = self._forgotten({r[1] for r in b.rows})  # a forgotten mentee's old events stay out
                    new = [r + (b.ingested,) for r in b.rows if r[0] not in stored
                           and not (r[1] in gone and r[5] <= gone[r[1]])]
                    cur = db.executemany(
                        f"INSERT OR IGNORE INTO events ({_COLS}, ingested_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", new
                    )
                    if cur.rowcount != len(new):  # impossible under BEGIN IMMEDIATE; never hide it
                        raise IntegrityError(f"{self.path}: stored {cur.rowcount} of {len(new)} new events")
                    db.execute("RELEASE batch")
                    b.result = AppendResult(accepted=len(new), duplicates=len(b.rows) - len(new), event_ids=ids)
                except (DataValidationError, IntegrityError) as e:
                    db.execute("ROLLBACK TO batch")
                    db.execute("RELEASE batch")
                    b.error = e
            db.execute("COMMIT")
        except BaseException as e:
            if db.in_transaction:
                db.execute("ROLLBACK")
            for b in group:  # nothing of the group is stored: every caller hears why
                b.result, b.error = None, e
            raise
        finally:
            for b in group:
                b.done = True

    def _forgotten(self, user_ids: Collection[str]) -> dict[str, int]:
        """Forgotten mentees among ``user_ids`` and when (µs): their events up to then are never stored again.

        The tombstones table belongs to the entity store (:mod:`catalog.store`); a log
        without one has forgotten nobody.
        """
        try:
            out: dict[str, int] = {}
            ids = list(user_ids)
            for start in range(0, len(ids), _SQL_VARS):
                chunk = ids[start:start + _SQL_VARS]
                out.update(self._db.execute(f"SELECT user_id, at_us FROM tombstones WHERE user_id IN "
                                            f"({','.join('?' * len(chunk))})", chunk).fetchall())
            return out
        except sqlite3.OperationalError:  # no tombstones table: no entity store in this file yet
            return {}

    def forget_user(self, user_id: str) -> int:
        """Delete every event of ``user_id`` (forgetting a mentee); returns how many were removed."""
        with self._lock:
            cur = self._db.execute("DELETE FROM events WHERE user_id = ?", [user_id])
            return int(cur.rowcount)

    def check_conflicts(self, events: pd.DataFrame, *, lines: Sequence[int] | None = None,
                        source: str = "") -> list[RowError]:
        """Events of a *canonical* frame whose ``event_id`` is stored with other content.

        Lets an importer reject a whole file before its first batch is committed.
        ``lines`` gives each row's line in the file (default: 1, 2, ...).
        """
        rows = to_rows(events)
        found: dict[str, tuple] = {}
        with self._lock:
            for start in range(0, len(rows), 50_000):
                chunk = rows[start:start + 50_000]
                found.update(self._stored([r[0] for r in chunk]))
        return conflicting_rows(rows, found, np.arange(1, len(rows) + 1) if lines is None else lines, source)

    def _stored(self, ids: list[str]) -> dict[str, tuple]:
        out: dict[str, tuple] = {}
        for start in range(0, len(ids), _SQL_VARS):
            chunk = ids[start:start + _SQL_VARS]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(f"SELECT {_COLS} FROM events WHERE event_id IN ({marks})", chunk):
                out[row[0]] = row
        return out

    # ------------------------------------------------------------ reading

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def last_seq(self, user_id: str | None = None) -> int:
        """Arrival number of the latest stored event (of ``user_id`` if given); 0 if none.

        Events are never rewritten, and deleted only when a mentee is forgotten (then the
        stamp drops to 0 with them), so this is a cheap version stamp: anything
        derived from a user's events (a folded-in vector, exclusions) stays valid while it
        is unchanged, in every process sharing the file.
        """
        sql, params = "SELECT COALESCE(MAX(seq), 0) FROM events", []
        if user_id is not None:
            sql, params = sql + " WHERE user_id = ?", [user_id]
        return int(self._read_one_user(sql, params)[0][0])

    def time_range(self) -> tuple[datetime, datetime] | None:
        """Earliest and latest event timestamps, or None for an empty log."""
        with self._lock:
            lo, hi = self._db.execute("SELECT MIN(ts_us), MAX(ts_us) FROM events").fetchone()
        if lo is None:
            return None
        return dt(lo), dt(hi)

    def read(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        user_ids: Collection[str] | None = None,
        event_types: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """Events with ``since <= timestamp < until``, ordered by timestamp then arrival."""
        where, params = filters(since, until, user_ids, event_types)
        sql = f"SELECT {_COLS} FROM events{where} ORDER BY ts_us, seq"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return frame(rows)

    def user_events(self, user_id: str) -> pd.DataFrame:
        """One user's events in time order (uses the ``(user_id, ts_us)`` index)."""
        return self.read(user_ids=[user_id])

    def user_rows(self, user_id: str) -> list[tuple[str, str, float | None, int]]:
        """One user's events as ``(item_id, event_type, value, ts_us)`` tuples in time order.

        The same rows as :meth:`user_events` without building a DataFrame (which costs
        ~5 ms whatever the size): the serving hot path rebuilds a mentee's state from this.
        """
        sql = "SELECT item_id, event_type, value, ts_us FROM events WHERE user_id = ? ORDER BY ts_us, seq"
        return self._read_one_user(sql, [user_id])

    def tail(self, n: int = 20, *, user_id: str | None = None) -> pd.DataFrame:
        """The ``n`` latest events by timestamp (optionally of one user), oldest first."""
        where, params = filters(None, None, [user_id] if user_id is not None else None, None)
        sql = f"SELECT {_COLS} FROM events{where} ORDER BY ts_us DESC, seq DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, [*params, int(n)]).fetchall()
        return frame(rows[::-1])

    def iter_batches(
        self,
        batch_size: int = 100_000,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        event_types: Collection[str] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield the log in timestamp order, ``batch_size`` events at a time.

        The set of events is fixed when iteration starts (events appended meanwhile are
        not returned), and each batch is one short query, so writers (and other readers
        of this connection) are never held up for a whole-log read.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        where, params = filters(since, until, None, event_types)
        with self._lock:
            (max_seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        cond = f"{where} AND" if where else " WHERE"
        last: tuple[int, int] = (-(2**62), -1)
        while True:
            sql = (f"SELECT {_COLS}, seq FROM events{cond} seq <= ? AND (ts_us, seq) > (?, ?) "
                   f"ORDER BY ts_us, seq LIMIT ?")
            with self._lock:
                rows = self._db.execute(sql, [*params, max_seq, *last, batch_size]).fetchall()
            if not rows:
                return
            last = (rows[-1][5], rows[-1][7])
            yield frame([r[:7] for r in rows])
            if len(rows) < batch_size:
                return

    def rows_after(self, seq: int, limit: int = 100_000) -> list[tuple[int, str, str, str, float | None, int]]:
        """Events stored after arrival number ``seq``, as ``(seq, user_id, item_id, event_type, value, ts_us)``
        in arrival order: a cursor for consumers that follow the log (the monitor's status fold)."""
        sql = ("SELECT seq, user_id, item_id, event_type, value, ts_us FROM events WHERE seq > ? "
               "ORDER BY seq LIMIT ?")
        return self._read_one_user(sql, [int(seq), int(limit)])

    def export_parquet(self, path: str | Path, *, since: datetime | str | None = None,
                       until: datetime | str | None = None) -> int:
        """Write events (timestamp order, µs UTC timestamps) to Parquet atomically; return the count."""
        df = self.read(since=since, until=until)
        atomic_write_parquet(df, path)
        return len(df)
