"""The entity store in PostgreSQL: the same contract as the SQLite store, shared by replicas.

Chosen when ``SKILLPATH_DATABASE_URL`` is set (docs/deploy.md); the tables sit beside the
event log's in one database, so a forget removes a mentee's events and profile from the
same place. The guarantees:

- **all or nothing, durable**: a write is one transaction and returns after COMMIT;
- **one writer at a time**: writes take an advisory lock, so change-log sequence numbers
  are handed out in commit order and a store that has seen change ``n`` has seen all before it;
- **replicas learn of writes at once**: each write ends with ``NOTIFY skillpath_entities``
  carrying its last sequence number; a listener thread per store keeps
  :meth:`PgEntityStore.revision` current from those notifications, so
  :meth:`~catalog.store.entities.Entities.sync` costs no query per request and another
  replica's write is seen within milliseconds. If the listening connection drops,
  :meth:`revision` queries the change log until it is back.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence

from catalog.errors import StorageUnavailableError, VersionConflictError
from catalog.pgdb import PgPool, migrate, printable
from catalog.store.base import TABLES, Change, EntityStore, Stored, Write, changes_query, merge_plan

__all__ = ["PgEntityStore", "MIGRATIONS", "CHANNEL"]

log = logging.getLogger("skillpath.store")

CHANNEL = "skillpath_entities"
LISTENER_NAME = "skillpath-entity-listener"  # the listening connection's application_name (pg_stat_activity)
_WRITE_LOCK = 7_110_043  # serialises entity writes across replicas (sequence numbers in commit order)

#: Ordered schema steps of the ``entities`` component (catalog.store.migrations is the SQLite twin).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS entities (
        kind        TEXT   NOT NULL,
        id          TEXT   NOT NULL,
        doc         TEXT   NOT NULL,
        version     BIGINT NOT NULL,
        updated_us  BIGINT NOT NULL,
        pos         BIGSERIAL,          -- creation order (SQLite's rowid)
        PRIMARY KEY (kind, id)
    );
    CREATE INDEX IF NOT EXISTS entities_kind_pos ON entities (kind, pos);
    CREATE TABLE IF NOT EXISTS entity_changes (
        seq      BIGSERIAL PRIMARY KEY,
        at_us    BIGINT NOT NULL,
        actor    TEXT   NOT NULL,
        op       TEXT   NOT NULL,
        kind     TEXT   NOT NULL,
        id       TEXT   NOT NULL,
        version  BIGINT NOT NULL,
        summary  TEXT   NOT NULL DEFAULT ''
    );
    CREATE INDEX IF NOT EXISTS entity_changes_entity ON entity_changes (kind, id);
    CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS tombstones (user_id TEXT PRIMARY KEY, at_us BIGINT NOT NULL, actor TEXT NOT NULL);
    """,
)


class PgEntityStore(EntityStore):
    """See the module docstring; ``url`` is a ``postgresql://`` URL, ``listen`` False turns the listener off."""

    def __init__(self, url: str, *, pool_size: int = 4, timeout: float = 3.0, listen: bool = True) -> None:
        self.url = url
        self._db = PgPool(url, what="entity database", pool_size=pool_size, timeout=timeout)
        with self._db.conn() as conn:
            migrate(conn, "entities", MIGRATIONS)
        self._rev_lock = threading.Lock()
        self._rev = 0
        self._last_write: tuple[int, int] | None = None
        self._listening = False
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self._heard = threading.Event()  # set once the listener's first catch-up ran (tests wait on it)
        if listen:
            self._listener = threading.Thread(target=self._listen, name="entity-store-listener", daemon=True)
            self._listener.start()
            self._heard.wait(5.0)

    def __repr__(self) -> str:
        return f"PgEntityStore({printable(self.url)!r})"

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5.0)
            self._listener = None
        self._db.close()

    # ------------------------------------------------------------ change notifications
    @property
    def pushes_changes(self) -> bool:
        return self._listening

    def _saw(self, seq: int) -> None:
        with self._rev_lock:
            self._rev = max(self._rev, int(seq))

    def _listen(self) -> None:
        """LISTEN until closed; reconnect after a lost connection (a restarted server), catching up first."""
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5,
                                     application_name=LISTENER_NAME) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._saw(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM entity_changes").fetchone()[0])
                    self._listening = True
                    self._heard.set()
                    while not self._stop.is_set():
                        for n in conn.notifies(timeout=0.5):
                            self._saw(int(n.payload))
            except Exception as e:  # the server went away: poll the change log until it is back
                was, self._listening = self._listening, False
                self._heard.set()
                if was:  # once per outage
                    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    log.warning("entity change listener on %s lost its connection (%s); polling until it is back",
                                printable(self.url), first)
                self._stop.wait(1.0)
        self._listening = False

    # ------------------------------------------------------------ reads
    def get(self, kind: str, entity_id: str) -> Stored | None:
        return self.get_many(kind, [entity_id]).get(entity_id)

    def get_many(self, kind: str, ids: Sequence[str]) -> dict[str, Stored]:
        rows = self._db.fetch("SELECT id, doc, version FROM entities WHERE kind = %s AND id = ANY(%s)",
                              [kind, list(ids)])
        return {i: Stored(kind, i, json.loads(doc), int(v)) for i, doc, v in rows}

    def all(self, kind: str) -> list[Stored]:
        rows = self._db.fetch("SELECT id, doc, version FROM entities WHERE kind = %s ORDER BY pos", [kind])
        return [Stored(kind, i, json.loads(doc), int(v)) for i, doc, v in rows]

    def count(self, kind: str) -> int:
        return int(self._db.fetch("SELECT COUNT(*) FROM entities WHERE kind = %s", [kind])[0][0])

    def changes(self, *, since: int = 0, limit: int = 100, kind: str | None = None,
                entity_id: str | None = None) -> list[Change]:
        rows = self._db.fetch(*changes_query("%s", since=since, limit=limit, kind=kind, entity_id=entity_id))
        return [Change(int(s), int(at), a, o, k, i, int(v), m) for s, at, a, o, k, i, v, m in rows]

    def revision(self) -> int:
        """The latest change heard of; with the listener down, asked of the database (and, with that down too,
        the latest known: readers keep serving what they hold while writes fail with 503)."""
        if self._listening:
            return self._rev
        try:
            rev = int(self._db.fetch("SELECT COALESCE(MAX(seq), 0) FROM entity_changes")[0][0])
        except StorageUnavailableError:
            return self._rev
        self._saw(rev)
        return rev

    def changed_since(self, seq: int) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for kind, i in self._db.fetch("SELECT kind, id FROM entity_changes WHERE seq > %s", [seq]):
            out.setdefault(kind, set()).add(i)
        return out

    def get_meta(self, key: str) -> str | None:
        rows = self._db.fetch("SELECT value FROM store_meta WHERE key = %s", [key])
        return None if not rows else str(rows[0][0])

    def set_meta(self, key: str, value: str) -> None:
        with self._db.conn() as conn:
            conn.execute("INSERT INTO store_meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                         (key, value))

    def snapshot(self) -> dict[str, list[tuple]]:
        order = {"entities": "pos", "entity_changes": "seq", "store_meta": "key", "tombstones": "user_id"}
        with self._db.conn() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # the tables agree with each other
            return {t: conn.execute(f"SELECT {', '.join(cols)} FROM {t} ORDER BY {order[t]}").fetchall()
                    for t, cols in TABLES.items()}

    def restore(self, rows: dict[str, list[tuple]]) -> dict[str, int]:
        with self._db.conn() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
            mine = {r[0]: r for r in cur.execute(f"SELECT {', '.join(TABLES['entity_changes'])} FROM entity_changes")}
            new, entities = merge_plan(mine, rows, repr(self))
            cur.executemany("INSERT INTO entity_changes VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", new)
            cur.execute("SELECT setval(pg_get_serial_sequence('entity_changes', 'seq'), "
                        "GREATEST((SELECT MAX(seq) FROM entity_changes), 1))")
            cur.executemany("INSERT INTO entities (kind, id, doc, version, updated_us) VALUES (%s, %s, %s, %s, %s) "
                            "ON CONFLICT (kind, id) DO UPDATE SET doc = EXCLUDED.doc, version = EXCLUDED.version, "
                            "updated_us = EXCLUDED.updated_us", entities)
            cur.executemany("INSERT INTO store_meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET "
                            "value = EXCLUDED.value", rows["store_meta"])
            cur.executemany("INSERT INTO tombstones VALUES (%s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
                            "at_us = GREATEST(tombstones.at_us, EXCLUDED.at_us)", rows["tombstones"])
            last = cur.execute("SELECT COALESCE(MAX(seq), 0) FROM entity_changes").fetchone()[0]
            cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(last)))
        self._saw(last)
        return {"entity_changes": len(new), "entities": len(entities), "tombstones": len(rows["tombstones"])}

    # ------------------------------------------------------------ writes
    def write(self, kind: str, writes: Sequence[Write], *, actor: str, op: str, now_us: int) -> list[Stored]:
        out: list[Stored] = []
        self._last_write = None
        with self._db.conn() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
            current = {i: int(v) for i, v in conn.execute(
                "SELECT id, version FROM entities WHERE kind = %s AND id = ANY(%s)", (kind, [w.id for w in writes]))}
            stale = [f"{w.id} (expected version {w.expected}, stored {current.get(w.id, 0)})"
                     for w in writes if w.expected is not None and current.get(w.id, 0) != w.expected]
            if stale:
                raise VersionConflictError(kind, stale)
            changes, upserts, deletes = [], [], []
            for w in writes:
                version = current.get(w.id, 0) + 1
                if w.doc is None:
                    deletes.append(w.id)
                else:
                    upserts.append((kind, w.id, json.dumps(w.doc, separators=(",", ":")), version, now_us))
                    out.append(Stored(kind, w.id, w.doc, version))
                current[w.id] = version
                changes.append((now_us, actor, op, kind, w.id, version, w.summary))
            with conn.cursor() as cur:
                if deletes:
                    cur.execute("DELETE FROM entities WHERE kind = %s AND id = ANY(%s)", (kind, deletes))
                if upserts:
                    cur.executemany("INSERT INTO entities (kind, id, doc, version, updated_us) VALUES (%s, %s, %s, %s, %s) "
                                    "ON CONFLICT (kind, id) DO UPDATE SET doc = EXCLUDED.doc, version = EXCLUDED.version, "
                                    "updated_us = EXCLUDED.updated_us", upserts)
                cols = [list(c) for c in zip(*changes)]
                cur.execute("INSERT INTO entity_changes (at_us, actor, op, kind, id, version, summary) SELECT * FROM "
                            "unnest(%s::int8[], %s::text[], %s::text[], %s::text[], %s::text[], %s::int8[], %s::text[]) "
                            "RETURNING seq", cols)
                seqs = [r[0] for r in cur.fetchall()]
                last = max(seqs)
                cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(last)))
        self._saw(last)
        # under the advisory lock writes do not interleave: this one's sequence numbers are consecutive
        self._last_write = (int(min(seqs)), int(last))
        return out

    def tombstone(self, user_id: str, *, actor: str, now_us: int) -> None:
        with self._db.conn() as conn:
            conn.execute("INSERT INTO tombstones VALUES (%s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
                         "at_us = EXCLUDED.at_us, actor = EXCLUDED.actor", (user_id, now_us, actor))

    def tombstones(self, user_ids: Sequence[str] | None = None) -> set[str]:
        if user_ids is None:
            return {r[0] for r in self._db.fetch("SELECT user_id FROM tombstones")}
        return {r[0] for r in self._db.fetch("SELECT user_id FROM tombstones WHERE user_id = ANY(%s)",
                                             [list(user_ids)])}
