"""What every PostgreSQL-backed store shares: a connection pool, migrations, unreachable = 503.

The event log (:mod:`catalog.pg_eventlog`) and the entity store (:mod:`catalog.store.pg`)
each keep their tables as a *component* of one database: ordered SQL steps, applied on
open under one advisory lock (replicas starting together migrate once), with the version
per component in ``skillpath_schema``. A step is never edited once released: append one.
A database that cannot be reached raises :class:`~catalog.errors.StorageUnavailableError`
(the service answers 503 with ``Retry-After``): nothing was stored, the caller retries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from catalog.errors import IntegrityError, StorageUnavailableError

__all__ = ["PgPool", "migrate", "printable"]

_LOCK_ID = 7_110_042  # the advisory lock that serialises migrations across replicas


def printable(url: str) -> str:
    """``host:port/db`` of a URL: never the password."""
    return url.split("@")[-1]


def migrate(conn: Any, component: str, steps: Sequence[str]) -> int:
    """Apply the steps of ``component`` not applied yet, in order, in one transaction; return the version."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        conn.execute("CREATE TABLE IF NOT EXISTS skillpath_schema (component TEXT PRIMARY KEY, version INT NOT NULL)")
        row = conn.execute("SELECT version FROM skillpath_schema WHERE component = %s", (component,)).fetchone()
        have = row[0] if row else 0
        if have > len(steps):
            raise IntegrityError(f"the database's {component} schema is version {have}; this SkillPath knows "
                                 f"{len(steps)}: upgrade SkillPath")
        for step in steps[have:]:
            conn.execute(step)
        conn.execute("INSERT INTO skillpath_schema VALUES (%s, %s) ON CONFLICT (component) DO UPDATE "
                     "SET version = EXCLUDED.version", (component, len(steps)))
    return len(steps)


class PgPool:
    """A small psycopg 3 pool (autocommit connections) that names the database when it is unreachable.

    ``timeout`` bounds the wait for a connection: with the database down a call fails
    after that long instead of holding the request.
    """

    def __init__(self, url: str, *, what: str, pool_size: int = 4, timeout: float = 3.0) -> None:
        from psycopg_pool import ConnectionPool

        self.url, self.what, self.where = url, what, printable(url)
        self._pool: Any = ConnectionPool(url, min_size=1, max_size=pool_size, timeout=timeout,
                                         kwargs={"autocommit": True, "connect_timeout": 5}, open=True)

    @property
    def closed(self) -> bool:
        return self._pool is None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @contextmanager
    def conn(self) -> Iterator[Any]:
        """A pooled connection; a database that cannot be reached is :class:`StorageUnavailableError`."""
        import psycopg
        from psycopg_pool import PoolTimeout

        if self._pool is None:
            raise ValueError(f"the {self.what} at {self.where} is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as e:
            self._pool.check()  # drop every dead idle connection now (a restarted server), not one per request
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise StorageUnavailableError(f"the {self.what} {self.where} is unreachable ({first}); nothing "
                                          "was stored: retry shortly") from None

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """A read; once more on a fresh connection if the pooled one died (a restarted server)."""
        for attempt in (0, 1):
            try:
                with self.conn() as conn:
                    return conn.execute(sql, list(params)).fetchall()
            except StorageUnavailableError:
                if attempt:
                    raise
        raise AssertionError("unreachable")
