"""Copy the side stores' tables (sessions, monitor alerts, acknowledgements, webhook outbox) between databases.

``skillpath db export|import`` moves a deployment between the data dir's SQLite file and
PostgreSQL: the entity store (:meth:`~catalog.store.base.EntityStore.restore`) and the event
log (:func:`catalog.logs.copy_events`) first, then these tables with :func:`copy_side_tables`.
Every table of :data:`SIDE_TABLES` is carried column for column, so a round trip gives equal
rows (the outbox keeps its sequence numbers whenever the target has not used them).

A copy merges, so it can simply be run again, also after the target moved on:

- ``sessions``: keyed by ``session_id``; a stored session never changes, so one already in the
  target is kept, and the same id with another digest is an :class:`IntegrityError` (the target
  holds another deployment's sessions) with nothing of the component written;
- ``monitor_alerts``: keyed by ``alert_id``; the earliest first and the latest last sighting win;
- ``monitor_acks``: the latest acknowledgement (``at_us``) wins, as in :meth:`AlertStore.ack`;
- ``monitor_outbox``: keyed by ``(alert_id, url)``; a delivery that got further (delivered, or
  more attempts) wins, so a copy never un-delivers a webhook or sends one twice by itself.

Forgetting holds across the copy: rows of a mentee tombstoned in the target, written before
the tombstone, are skipped (the entity store's restore, run first, merges the tombstones), and
an acknowledgement or delivery is only copied beside its alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from catalog import alert_store, session_store
from catalog.errors import IntegrityError
from catalog.sqldb import PgDb, SqlDb, open_db

__all__ = ["SIDE_TABLES", "copy_side_tables", "open_side_dbs"]

#: Every side table with its columns in copy order (``skillpath db`` carries exactly these).
SIDE_TABLES: dict[str, tuple[str, ...]] = {
    "sessions": ("session_id", "mentor_id", "mentee_id", "started_us", "body", "digest", "has_text", "analysis",
                 "stored_us"),
    "monitor_alerts": ("alert_id", "user_id", "kind", "severity", "first_seen_us", "last_seen_us", "body"),
    "monitor_acks": ("alert_id", "user_id", "state", "until_us", "by_whom", "at_us", "note"),
    "monitor_outbox": ("seq", "alert_id", "user_id", "url", "payload", "attempts", "next_try_us", "lease_us",
                       "delivered_us", "last_error"),
}
_COMPONENTS = (("session", session_store.MIGRATIONS, session_store.PG_MIGRATIONS),
               ("monitor", alert_store.MIGRATIONS, alert_store.PG_MIGRATIONS))


def open_side_dbs(events_db: str | Path, database_url: str | None) -> dict[str, SqlDb]:
    """The session and monitor components of one database (schemas migrated), by component name."""
    out: dict[str, SqlDb] = {}
    try:
        for name, steps, pg_steps in _COMPONENTS:
            out[name] = open_db(events_db, database_url, name=name, migrations=steps, pg_steps=pg_steps)
    except BaseException:
        for db in out.values():
            db.close()
        raise
    return out


def _rows(db: SqlDb, table: str, order: str) -> list[tuple]:
    return db.read(f"SELECT {', '.join(SIDE_TABLES[table])} FROM {table} ORDER BY {order}")


def _insert(table: str, cols: Sequence[str], tail: str = "") -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) {tail}"


def _sessions(src: SqlDb, tx: Any, gone: dict[str, int], where: str) -> int:
    rows = [r for r in _rows(src, "sessions", "session_id") if r[8] > gone.get(r[2], -1)]
    have = dict(tx.execute("SELECT session_id, digest FROM sessions").fetchall())
    clash = [r[0] for r in rows if r[0] in have and have[r[0]] != r[5]]
    if clash:
        raise IntegrityError(f"{where} holds sessions {', '.join(clash[:5])} with other contents: it is another "
                             "deployment's database; copy into an empty one")
    new = [r for r in rows if r[0] not in have]
    tx.executemany(_insert("sessions", SIDE_TABLES["sessions"]), new)
    return len(new)


def _monitor(src: SqlDb, tx: Any, gone: dict[str, int], pg: bool) -> dict[str, int]:
    alerts = [r for r in _rows(src, "monitor_alerts", "alert_id") if r[4] > gone.get(r[1], -1)]
    have = {r[0] for r in tx.execute("SELECT alert_id FROM monitor_alerts").fetchall()}
    tx.executemany(_insert("monitor_alerts", SIDE_TABLES["monitor_alerts"],
                           "ON CONFLICT (alert_id) DO UPDATE SET "
                           "first_seen_us = CASE WHEN excluded.first_seen_us < monitor_alerts.first_seen_us "
                           "THEN excluded.first_seen_us ELSE monitor_alerts.first_seen_us END, "
                           "last_seen_us = CASE WHEN excluded.last_seen_us > monitor_alerts.last_seen_us "
                           "THEN excluded.last_seen_us ELSE monitor_alerts.last_seen_us END"), alerts)
    kept = have | {r[0] for r in alerts}  # an ack or a delivery travels only beside its alert
    acks = [r for r in _rows(src, "monitor_acks", "alert_id") if r[0] in kept]
    cols = SIDE_TABLES["monitor_acks"]
    tx.executemany(_insert("monitor_acks", cols, "ON CONFLICT (alert_id) DO UPDATE SET " + ", ".join(
        f"{c} = excluded.{c}" for c in cols[1:]) + " WHERE excluded.at_us > monitor_acks.at_us"), acks)
    mine = {(a, u): (s, d, n) for s, a, u, d, n in tx.execute(
        "SELECT seq, alert_id, url, delivered_us, attempts FROM monitor_outbox").fetchall()}
    used = {v[0] for v in mine.values()}
    cols = SIDE_TABLES["monitor_outbox"]
    new, moved = 0, 0
    for r in _rows(src, "monitor_outbox", "seq"):
        if r[1] not in kept:
            continue
        if (r[1], r[3]) not in mine:
            keep_seq = r[0] not in used
            tx.execute(_insert("monitor_outbox", cols if keep_seq else cols[1:]), r if keep_seq else r[1:])
            used.add(r[0])
            new += 1
            continue
        seq, delivered, attempts = mine[(r[1], r[3])]
        further = r[8] is not None and delivered is None or (r[8] is None) == (delivered is None) and r[5] > attempts
        if further:
            tx.execute("UPDATE monitor_outbox SET attempts = ?, next_try_us = ?, delivered_us = ?, last_error = ? "
                       "WHERE seq = ?", (r[5], r[6], r[8], r[9], seq))
            moved += 1
    if pg:  # explicit sequence numbers do not move PostgreSQL's sequence (SQLite's AUTOINCREMENT follows them)
        tx.execute("SELECT setval(pg_get_serial_sequence('monitor_outbox', 'seq'), "
                   "GREATEST((SELECT MAX(seq) FROM monitor_outbox), 1))")
    return {"monitor_alerts": len(alerts), "monitor_acks": len(acks), "monitor_outbox": new + moved}


def copy_side_tables(src_db: str | Path, src_url: str | None, dst_db: str | Path,
                     dst_url: str | None) -> dict[str, int]:
    """Merge the source database's side tables into the target's (see the module docstring); rows written
    per table. Each component (sessions; the monitor's three tables) is one transaction on the target."""
    src, dst = open_side_dbs(src_db, src_url), {}
    try:
        dst = open_side_dbs(dst_db, dst_url)
        out: dict[str, int] = {}
        with dst["session"].tx() as tx:
            gone = dict(tx.execute("SELECT user_id, at_us FROM tombstones").fetchall())
            out["sessions"] = _sessions(src["session"], tx, gone, dst["session"].where)
        with dst["monitor"].tx() as tx:
            out.update(_monitor(src["monitor"], tx, gone, isinstance(dst["monitor"], PgDb)))
        return out
    finally:
        for db in (*src.values(), *dst.values()):
            db.close()
