"""One small SQL layer for the side stores (sessions, monitor alerts and outbox) on SQLite or PostgreSQL.

A store writes its SQL once, in the dialect both engines accept (``?`` placeholders,
``INSERT ... ON CONFLICT``, ``excluded.``), and runs it through a :class:`SqlDb`:

- :class:`SqliteDb`: the data dir's ``events.db`` (WAL, ``synchronous=FULL``), one
  connection behind a lock, write transactions ``BEGIN IMMEDIATE``;
- :class:`PgDb`: the shared PostgreSQL database (``SKILLPATH_DATABASE_URL``), pooled
  connections (:class:`catalog.pgdb.PgPool`), ``?`` turned into ``%s``.

Both commit before a write returns, so an acknowledged write survives a crash. Schemas are
ordered migrations per store: SQLite records them in ``<name>_migrations``, PostgreSQL in
``skillpath_schema`` (:func:`catalog.pgdb.migrate`). :func:`open_sqlite` is the one way
every SQLite store of the data dir opens its file.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["open_sqlite", "migrate_sqlite", "SqlDb", "SqliteDb", "PgDb", "open_db"]


def open_sqlite(path: str | Path, *, timeout: float = 30.0, secure_delete: bool = False) -> sqlite3.Connection:
    """A connection to ``path`` (folder created) in WAL mode with ``synchronous=FULL``: a COMMIT is on disk.

    ``isolation_level=None``: callers issue BEGIN/COMMIT themselves; ``check_same_thread=False``:
    callers share it behind their own lock.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    # Switching a fresh file to WAL takes an exclusive lock that SQLite does not wait for (no busy
    # handler): two processes opening the same new database at once may see "database is locked".
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(0.01)
    conn.execute("PRAGMA synchronous = FULL")
    if secure_delete:
        conn.execute("PRAGMA secure_delete = ON")
    return conn


def migrate_sqlite(conn: sqlite3.Connection, table: str, migrations: Sequence[tuple[int, str]]) -> None:
    """Apply the ``(version, sql)`` steps not recorded in ``table`` yet, in order, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER PRIMARY KEY, applied_us INTEGER)")
        done = {r[0] for r in conn.execute(f"SELECT version FROM {table}")}
        for version, sql in migrations:
            if version in done:
                continue
            for stmt in sql.split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            conn.execute(f"INSERT INTO {table} VALUES (?, ?)", (version, time.time_ns() // 1000))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class SqlDb:
    """What a side store needs of a database: write transactions and reads (see the module docstring)."""

    where: str

    def tx(self) -> Any:
        """A context manager: one write transaction; yields an object with ``execute`` and ``executemany``."""
        raise NotImplementedError

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SqliteDb(SqlDb):
    """A SQLite file (see :func:`open_sqlite`); thread-safe through one lock."""

    def __init__(self, path: str | Path, *, name: str, migrations: Sequence[tuple[int, str]],
                 timeout: float = 30.0, secure_delete: bool = False) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = open_sqlite(path, timeout=timeout, secure_delete=secure_delete)
        try:
            migrate_sqlite(self._conn, f"{name}_migrations", migrations)
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"the database {self.where} is closed")
        return self._conn

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")  # the write lock up front: no upgrade deadlocks
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, list(params)).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class _PgTx:
    """A transaction's connection speaking the shared dialect (``?`` placeholders)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), list(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        cur = self._conn.cursor()
        rows = list(rows)
        if rows:
            cur.executemany(sql.replace("?", "%s"), rows)
        return cur


class PgDb(SqlDb):
    """A component of the shared PostgreSQL database; ``steps`` are its ordered migrations."""

    def __init__(self, url: str, *, name: str, steps: Sequence[str], pool_size: int = 2, timeout: float = 3.0) -> None:
        from catalog.pgdb import PgPool, migrate

        self._pool = PgPool(url, what=f"{name} database", pool_size=pool_size, timeout=timeout)
        self.where = self._pool.where
        with self._pool.conn() as conn:
            migrate(conn, name, steps)

    @contextmanager
    def tx(self) -> Iterator[_PgTx]:
        with self._pool.conn() as conn, conn.transaction():
            yield _PgTx(conn)

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._pool.fetch(sql.replace("?", "%s"), params)

    def close(self) -> None:
        self._pool.close()


def open_db(path: str | Path, database_url: str | None, *, name: str, migrations: Sequence[tuple[int, str]],
            pg_steps: Sequence[str], secure_delete: bool = False) -> SqlDb:
    """The store's tables in PostgreSQL when ``database_url`` is set, else in the SQLite file ``path``."""
    if database_url:
        return PgDb(database_url, name=name, steps=pg_steps)
    return SqliteDb(path, name=name, migrations=migrations, secure_delete=secure_delete)
