"""The event log on PostgreSQL: the same contract as :class:`catalog.eventlog.EventLog`.

For several service replicas sharing one log (``SKILLPATH_DATABASE_URL=postgresql://...``,
docs/deploy.md). The guarantees are the SQLite log's, across processes and machines:

- **all or nothing**: a batch is validated first, then stored in one transaction;
- **durable acknowledgement**: :meth:`PgEventLog.append` returns after COMMIT, which
  PostgreSQL acknowledges only once the WAL is flushed (``synchronous_commit`` on, the default);
- **idempotent across replicas**: ``event_id`` is a unique key and rows are inserted with
  ``ON CONFLICT DO NOTHING``; two replicas storing the same event concurrently store it
  once, and an id reused with other content is refused whichever replica saw it first.

Forgetting: :meth:`PgEventLog.forget_user` deletes a mentee's events, and an append drops
events of a mentee tombstoned by the entity store (dated up to the forget), as the SQLite
log does. A forget locks the table against new inserts while it deletes, and an append
takes its own (shared) lock before it reads the tombstones, so no replica's concurrent
append can bring back an event the forget has removed.

Schema changes are ordered SQL steps (:func:`catalog.pgdb.migrate`); connections come from
a small pool (psycopg 3), so request threads never share one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from catalog.errors import DataValidationError, RowError
from catalog.event_rows import AppendResult, conflicting_rows, dt, filters, frame, to_rows, us
from catalog.event_fast import validated_rows
from catalog.pgdb import PgPool, migrate
from catalog.writers import atomic_write_parquet

__all__ = ["PgEventLog", "MIGRATIONS", "migrate"]

#: Ordered schema steps of the ``eventlog`` component; a step is never edited once released.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS events (
        seq         BIGSERIAL PRIMARY KEY,
        event_id    TEXT NOT NULL UNIQUE,
        user_id     TEXT NOT NULL,
        item_id     TEXT NOT NULL,
        event_type  TEXT NOT NULL,
        value       DOUBLE PRECISION,
        ts_us       BIGINT NOT NULL,
        source      TEXT NOT NULL DEFAULT '',
        ingested_us BIGINT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS events_user_ts ON events (user_id, ts_us);
    CREATE INDEX IF NOT EXISTS events_ts ON events (ts_us);
    """,
    # The entity store's tombstones (catalog.store.pg creates the same table): an append reads them.
    """
    CREATE TABLE IF NOT EXISTS tombstones (user_id TEXT PRIMARY KEY, at_us BIGINT NOT NULL, actor TEXT NOT NULL);
    """,
)
_COLS = "event_id, user_id, item_id, event_type, value, ts_us, source"
def _pg(sql: str) -> str:
    """The SQLite log's SQL in PostgreSQL's dialect: ``%s`` placeholders, ``FALSE`` for an empty filter."""
    return re.sub(r"\b(WHERE|AND) 0(?= AND| ORDER|$)", r"\1 FALSE", sql.replace("?", "%s"))


class PgEventLog:
    """An append-only, idempotent event store in PostgreSQL (``url``: a ``postgresql://`` URL).

    ``timeout`` bounds the wait for a pooled connection: with the database down a call fails
    with :class:`StorageUnavailableError` after that long (the service answers 503 with
    ``Retry-After``) instead of holding the request.
    """

    def __init__(self, url: str, *, pool_size: int = 4, timeout: float = 3.0) -> None:
        self.url = url
        self._db = PgPool(url, what="event database", pool_size=pool_size, timeout=timeout)
        self.path = Path(self._db.where)  # printable, never the password
        with self._conn() as conn:
            migrate(conn, "eventlog", MIGRATIONS)

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PgEventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PgEventLog({str(self.path)!r})"

    def _conn(self) -> Any:
        return self._db.conn()

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._db.fetch(_pg(sql), params)

    # ------------------------------------------------------------ writing
    def append(self, events: pd.DataFrame | Sequence[Mapping[str, object]], *,
               known_items: Collection[str] | None = None, known_users: Collection[str] | None = None,
               line_offset: int = 1, source: str = "", now: datetime | None = None) -> AppendResult:
        """Validate and durably store a batch; return only after COMMIT (see the module docstring)."""
        rows, lines = validated_rows(events, known_items=known_items, known_users=known_users,
                                     line_offset=line_offset, source=source)
        if not rows:
            return AppendResult(0, 0, [])
        ids = [r[0] for r in rows]
        ingested = us(now) if now is not None else time.time_ns() // 1000
        with self._conn() as conn, conn.transaction():
            conn.execute("LOCK TABLE events IN ROW EXCLUSIVE MODE")  # before the tombstones: see forget_user
            stored = self._stored(conn, ids)
            conflicts = conflicting_rows(rows, stored, lines, source)
            if conflicts:
                raise DataValidationError(conflicts, source=source)
            gone = dict(conn.execute("SELECT user_id, at_us FROM tombstones WHERE user_id = ANY(%s)",
                                     (list({r[1] for r in rows}),)).fetchall())
            new = [r + (ingested,) for r in rows if r[0] not in stored
                   and not (r[1] in gone and r[5] <= gone[r[1]])]  # a forgotten mentee's old events stay out
            cols = list(zip(*new)) if new else [()] * 8
            with conn.cursor() as cur:  # one statement, eight array parameters: cheap to send at any size
                cur.execute(f"INSERT INTO events ({_COLS}, ingested_us) SELECT * FROM unnest(%s::text[], "
                            "%s::text[], %s::text[], %s::text[], %s::float8[], %s::int8[], %s::text[], %s::int8[]) "
                            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id", [list(c) for c in cols])
                inserted = {r[0] for r in cur.fetchall()}
            raced = [r[0] for r in new if r[0] not in inserted]
            if raced:  # another replica stored some of them meanwhile: the same content is a replay
                late = conflicting_rows([r[:7] for r in new], self._stored(conn, raced), lines, source)
                if late:
                    raise DataValidationError(late, source=source)
        return AppendResult(accepted=len(inserted), duplicates=len(rows) - len(inserted), event_ids=ids)

    def forget_user(self, user_id: str) -> int:
        """Delete every event of ``user_id`` (forgetting a mentee); returns how many were removed.

        The caller tombstoned the mentee first. SHARE ROW EXCLUSIVE waits for appends in
        flight (they commit, then are deleted here) and holds new ones until this commits
        (they then read the tombstone and drop the mentee's events).
        """
        with self._conn() as conn, conn.transaction():
            conn.execute("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE")
            return int(conn.execute("DELETE FROM events WHERE user_id = %s", (user_id,)).rowcount)

    def check_conflicts(self, events: pd.DataFrame, *, lines: Sequence[int] | None = None,
                        source: str = "") -> list[RowError]:
        """Events of a canonical frame whose ``event_id`` is stored with other content."""
        rows = to_rows(events)
        with self._conn() as conn:
            found = self._stored(conn, [r[0] for r in rows])
        return conflicting_rows(rows, found, np.arange(1, len(rows) + 1) if lines is None else lines, source)

    @staticmethod
    def _stored(conn: Any, ids: list[str]) -> dict[str, tuple]:
        out: dict[str, tuple] = {}
        for start in range(0, len(ids), 10_000):
            for row in conn.execute(f"SELECT {_COLS} FROM events WHERE event_id = ANY(%s)",
                                    (ids[start:start + 10_000],)):
                out[row[0]] = row
        return out

    # ------------------------------------------------------------ reading
    def count(self) -> int:
        return int(self._fetch("SELECT COUNT(*) FROM events")[0][0])

    def last_seq(self, user_id: str | None = None) -> int:
        """Arrival number of the latest stored event (of ``user_id`` if given); 0 if none."""
        if user_id is None:
            return int(self._fetch("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0])
        return int(self._fetch("SELECT COALESCE(MAX(seq), 0) FROM events WHERE user_id = ?", [user_id])[0][0])

    def rows_after(self, seq: int, limit: int = 100_000) -> list[tuple[int, str, str, str, float | None, int]]:
        """Events stored after arrival number ``seq`` in arrival order (see ``EventLog.rows_after``)."""
        return self._fetch("SELECT seq, user_id, item_id, event_type, value, ts_us FROM events WHERE seq > ? "
                           "ORDER BY seq LIMIT ?", [int(seq), int(limit)])

    def time_range(self) -> tuple[datetime, datetime] | None:
        lo, hi = self._fetch("SELECT MIN(ts_us), MAX(ts_us) FROM events")[0]
        return None if lo is None else (dt(lo), dt(hi))

    def read(self, *, since: datetime | str | None = None, until: datetime | str | None = None,
             user_ids: Collection[str] | None = None,
             event_types: Collection[str] | None = None) -> pd.DataFrame:
        """Events with ``since <= timestamp < until``, ordered by timestamp then arrival."""
        where, params = filters(since, until, user_ids, event_types)
        return frame(self._fetch(f"SELECT {_COLS} FROM events{where} ORDER BY ts_us, seq", params))

    def user_events(self, user_id: str) -> pd.DataFrame:
        return self.read(user_ids=[user_id])

    def user_rows(self, user_id: str) -> list[tuple[str, str, float | None, int]]:
        """One user's events as ``(item_id, event_type, value, ts_us)`` tuples in time order."""
        return self._fetch("SELECT item_id, event_type, value, ts_us FROM events WHERE user_id = ? "
                           "ORDER BY ts_us, seq", [user_id])

    def tail(self, n: int = 20, *, user_id: str | None = None) -> pd.DataFrame:
        where, params = filters(None, None, [user_id] if user_id is not None else None, None)
        rows = self._fetch(f"SELECT {_COLS} FROM events{where} ORDER BY ts_us DESC, seq DESC LIMIT ?",
                           [*params, int(n)])
        return frame(rows[::-1])

    def iter_batches(self, batch_size: int = 100_000, *, since: datetime | str | None = None,
                     until: datetime | str | None = None,
                     event_types: Collection[str] | None = None) -> Iterator[pd.DataFrame]:
        """The log in timestamp order, ``batch_size`` events at a time (events appended meanwhile left out)."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        where, params = filters(since, until, None, event_types)
        max_seq = self.last_seq()
        cond = f"{where} AND" if where else " WHERE"
        last: tuple[int, int] = (-(2**62), -1)
        while True:
            rows = self._fetch(f"SELECT {_COLS}, seq FROM events{cond} seq <= ? AND (ts_us, seq) > (?, ?) "
                               "ORDER BY ts_us, seq LIMIT ?", [*params, max_seq, *last, batch_size])
            if not rows:
                return
            last = (rows[-1][5], rows[-1][7])
            yield frame([r[:7] for r in rows])
            if len(rows) < batch_size:
                return

    def export_parquet(self, path: str | Path, *, since: datetime | str | None = None,
                       until: datetime | str | None = None) -> int:
        df = self.read(since=since, until=until)
        atomic_write_parquet(df, path)
        return len(df)
