"""The entity store in the event log's SQLite file (WAL, ``synchronous=FULL``).

Entities live beside the events, so one file backs up and restores a deployment, and a
forget can remove a mentee's events, profile and trace in one transaction. A write
returns only after COMMIT (the WAL is fsynced): an acknowledged write survives a crash.
Several processes may share the file: SQLite serialises writers, and each process
notices the others' writes through :meth:`SQLiteEntityStore.revision`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from catalog.errors import VersionConflictError
from catalog.sqldb import migrate_sqlite, open_sqlite
from catalog.store.base import TABLES, Change, EntityStore, Stored, Write, changes_query, merge_plan
from catalog.store.migrations import MIGRATIONS

__all__ = ["SQLiteEntityStore"]

_SQL_VARS = 900


class SQLiteEntityStore(EntityStore):
    """See the module docstring; ``path`` is the data dir's ``events.db``."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = open_sqlite(self.path, timeout=timeout)
        self._last_write: tuple[int, int] | None = None
        migrate_sqlite(self._conn, "store_migrations", MIGRATIONS)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"{self!r} is closed")
        return self._conn

    def __repr__(self) -> str:
        return f"SQLiteEntityStore({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------ reads
    def get(self, kind: str, entity_id: str) -> Stored | None:
        return self.get_many(kind, [entity_id]).get(entity_id)

    def get_many(self, kind: str, ids: Sequence[str]) -> dict[str, Stored]:
        out: dict[str, Stored] = {}
        ids = list(ids)
        with self._lock:
            for start in range(0, len(ids), _SQL_VARS):
                chunk = ids[start:start + _SQL_VARS]
                sql = f"SELECT id, doc, version FROM entities WHERE kind = ? AND id IN ({','.join('?' * len(chunk))})"
                for i, doc, v in self._db.execute(sql, [kind, *chunk]):
                    out[i] = Stored(kind, i, json.loads(doc), v)
        return out

    def _versions(self, kind: str, ids: Sequence[str]) -> dict[str, int]:
        """Stored versions of ``ids`` (absent ones omitted): what a write checks, without reading documents."""
        out: dict[str, int] = {}
        for start in range(0, len(ids), _SQL_VARS):
            chunk = ids[start:start + _SQL_VARS]
            sql = f"SELECT id, version FROM entities WHERE kind = ? AND id IN ({','.join('?' * len(chunk))})"
            out.update(self._db.execute(sql, [kind, *chunk]).fetchall())
        return out

    def all(self, kind: str) -> list[Stored]:
        with self._lock:
            rows = self._db.execute("SELECT id, doc, version FROM entities WHERE kind = ? ORDER BY rowid",
                                    [kind]).fetchall()
        return [Stored(kind, i, json.loads(doc), v) for i, doc, v in rows]

    def count(self, kind: str) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM entities WHERE kind = ?", [kind]).fetchone()[0])

    def changes(self, *, since: int = 0, limit: int = 100, kind: str | None = None,
                entity_id: str | None = None) -> list[Change]:
        sql, params = changes_query("?", since=since, limit=limit, kind=kind, entity_id=entity_id)
        with self._lock:
            return [Change(*r) for r in self._db.execute(sql, params)]

    def revision(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM entity_changes").fetchone()[0])

    def changed_since(self, seq: int) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        with self._lock:
            for kind, i in self._db.execute("SELECT kind, id FROM entity_changes WHERE seq > ?", [seq]):
                out.setdefault(kind, set()).add(i)
        return out

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM store_meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO store_meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             [key, value])

    def snapshot(self) -> dict[str, list[tuple]]:
        order = {"entities": "rowid", "entity_changes": "seq", "store_meta": "key", "tombstones": "user_id"}
        with self._lock:
            db = self._db
            db.execute("BEGIN")  # one read transaction: the tables agree with each other
            try:
                return {t: db.execute(f"SELECT {', '.join(cols)} FROM {t} ORDER BY {order[t]}").fetchall()
                        for t, cols in TABLES.items()}
            finally:
                db.execute("COMMIT")

    def restore(self, rows: dict[str, list[tuple]]) -> dict[str, int]:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                mine = {r[0]: r for r in db.execute(f"SELECT {', '.join(TABLES['entity_changes'])} FROM entity_changes")}
                changes, entities = merge_plan(mine, rows, repr(self))
                db.executemany("INSERT INTO entity_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?)", changes)
                db.executemany("INSERT INTO entities (kind, id, doc, version, updated_us) VALUES (?, ?, ?, ?, ?) "
                               "ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc, version = excluded.version, "
                               "updated_us = excluded.updated_us", entities)
                db.executemany("INSERT INTO store_meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                               "value = excluded.value", rows["store_meta"])
                db.executemany("INSERT INTO tombstones VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                               "at_us = MAX(at_us, excluded.at_us)", rows["tombstones"])
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return {"entity_changes": len(changes), "entities": len(entities), "tombstones": len(rows["tombstones"])}

    # ------------------------------------------------------------ writes
    def write(self, kind: str, writes: Sequence[Write], *, actor: str, op: str, now_us: int) -> list[Stored]:
        out: list[Stored] = []
        with self._lock:
            db = self._db
            self._last_write = None
            db.execute("BEGIN IMMEDIATE")
            try:
                current = self._versions(kind, [w.id for w in writes])
                stale = [f"{w.id} (expected version {w.expected}, stored {current.get(w.id, 0)})"
                         for w in writes if w.expected is not None and current.get(w.id, 0) != w.expected]
                if stale:
                    raise VersionConflictError(kind, stale)
                changes, upserts = [], []
                for w in writes:
                    version = current.get(w.id, 0) + 1
                    if w.doc is None:
                        db.execute("DELETE FROM entities WHERE kind = ? AND id = ?", [kind, w.id])
                    else:
                        upserts.append((kind, w.id, json.dumps(w.doc, separators=(",", ":")), version, now_us))
                        out.append(Stored(kind, w.id, w.doc, version))
                    current[w.id] = version
                    changes.append((now_us, actor, op, kind, w.id, version, w.summary))
                db.executemany("INSERT INTO entities (kind, id, doc, version, updated_us) VALUES (?, ?, ?, ?, ?) "
                               "ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc, version = excluded.version, "
                               "updated_us = excluded.updated_us", upserts)
                sql = "INSERT INTO entity_changes (at_us, actor, op, kind, id, version, summary) VALUES (?, ?, ?, ?, ?, ?, ?)"
                if len(changes) == 1:  # the common single write: its sequence number without another statement
                    last = db.execute(sql, changes[0]).lastrowid
                else:
                    db.executemany(sql, changes)
                    last = db.execute("SELECT MAX(seq) FROM entity_changes").fetchone()[0]
                db.execute("COMMIT")
                # under BEGIN IMMEDIATE no other writer interleaves: this write's changes are consecutive
                self._last_write = (int(last) - len(changes) + 1, int(last))
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return out

    def tombstone(self, user_id: str, *, actor: str, now_us: int) -> None:
        with self._lock:
            self._db.execute("INSERT INTO tombstones VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                             "at_us = excluded.at_us, actor = excluded.actor", [user_id, now_us, actor])

    def tombstones(self, user_ids: Sequence[str] | None = None) -> set[str]:
        with self._lock:
            if user_ids is None:
                return {r[0] for r in self._db.execute("SELECT user_id FROM tombstones")}
            out: set[str] = set()
            ids = list(user_ids)
            for start in range(0, len(ids), _SQL_VARS):
                chunk = ids[start:start + _SQL_VARS]
                out |= {r[0] for r in self._db.execute(
                    f"SELECT user_id FROM tombstones WHERE user_id IN ({','.join('?' * len(chunk))})", chunk)}
            return out
