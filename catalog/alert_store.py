"""Durable monitor alerts, their acknowledgements and the webhook outbox, beside the event log.

Three tables live in the event log's database (the data dir's SQLite file, or PostgreSQL
when ``database_url`` is set: :mod:`catalog.sqldb`), so one backup holds them all and every
worker and replica of the service shares them:

- ``monitor_alerts``: one row per alert id (``analysis.monitoring.alert_id``: mentee, kind
  and episode), first and last seen, the alert as JSON;
- ``monitor_acks``: the latest acknowledgement of an alert (``ack``, or ``snooze`` until a
  time), who made it and when;
- ``monitor_outbox``: one row per (alert id, webhook URL), written in the same
  transaction as the alert's first sighting, so an alert is never recorded without its
  deliveries nor delivered without being recorded. A sender claims a due row with a
  lease (a conditional UPDATE: two workers or replicas never send it at once), posts it,
  and marks it delivered; a failure sets the next try with exponential backoff.

Recording is idempotent (``ON CONFLICT DO NOTHING`` on the id), so several workers that see
the same alert record it, and enqueue its deliveries, once. Times are integer UTC
microseconds passed in by the caller (no clock here).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.errors import InvalidValueError, UnknownIdError
from catalog.sqldb import open_db

__all__ = ["AlertStore", "AlertRecord", "Ack", "OutboxRow", "UnknownAlertError", "forget_user", "ACK_STATES",
           "MIGRATIONS", "PG_MIGRATIONS"]

ACK_STATES = ("ack", "snooze")

#: SQLite schema steps (recorded in ``monitor_migrations``); append, never edit.
MIGRATIONS: tuple[tuple[int, str], ...] = ((1, """
CREATE TABLE IF NOT EXISTS monitor_alerts (
    alert_id      TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    severity      INTEGER NOT NULL,
    first_seen_us INTEGER NOT NULL,
    last_seen_us  INTEGER NOT NULL,
    body          TEXT NOT NULL              -- the alert as JSON (what the webhook receives)
);
CREATE INDEX IF NOT EXISTS monitor_alerts_user ON monitor_alerts (user_id);
CREATE TABLE IF NOT EXISTS monitor_acks (
    alert_id  TEXT PRIMARY KEY,
    user_id   TEXT NOT NULL,
    state     TEXT NOT NULL,                 -- 'ack' or 'snooze'
    until_us  INTEGER,                       -- snooze end (NULL for an ack)
    by_whom   TEXT NOT NULL,
    at_us     INTEGER NOT NULL,
    note      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS monitor_outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    url          TEXT NOT NULL,
    payload      TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_try_us  INTEGER NOT NULL,
    lease_us     INTEGER NOT NULL DEFAULT 0, -- claimed by a sender until then
    delivered_us INTEGER,
    last_error   TEXT NOT NULL DEFAULT '',
    UNIQUE (alert_id, url)
);
CREATE INDEX IF NOT EXISTS monitor_outbox_due ON monitor_outbox (delivered_us, next_try_us);
"""),)

#: The same tables in PostgreSQL (component ``monitor`` in ``skillpath_schema``).
PG_MIGRATIONS: tuple[str, ...] = ("""
CREATE TABLE IF NOT EXISTS monitor_alerts (
    alert_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, kind TEXT NOT NULL, severity INTEGER NOT NULL,
    first_seen_us BIGINT NOT NULL, last_seen_us BIGINT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS monitor_alerts_user ON monitor_alerts (user_id);
CREATE TABLE IF NOT EXISTS monitor_acks (
    alert_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, state TEXT NOT NULL, until_us BIGINT, by_whom TEXT NOT NULL,
    at_us BIGINT NOT NULL, note TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS monitor_outbox (
    seq BIGSERIAL PRIMARY KEY, alert_id TEXT NOT NULL, user_id TEXT NOT NULL, url TEXT NOT NULL,
    payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_try_us BIGINT NOT NULL,
    lease_us BIGINT NOT NULL DEFAULT 0, delivered_us BIGINT, last_error TEXT NOT NULL DEFAULT '',
    UNIQUE (alert_id, url));
CREATE INDEX IF NOT EXISTS monitor_outbox_due ON monitor_outbox (delivered_us, next_try_us);
""",)


class UnknownAlertError(UnknownIdError):
    kind = "alert"


@dataclass(frozen=True, slots=True)
class AlertRecord:
    alert_id: str
    user_id: str
    kind: str
    severity: int
    first_seen_us: int
    last_seen_us: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ack:
    alert_id: str
    state: str
    until_us: int | None
    by: str
    at_us: int
    note: str = ""

    def silences(self, now_us: int) -> bool:
        """True while the alert should stay out of the open list (an ack, or a snooze not yet over)."""
        return self.state == "ack" or (self.until_us is not None and now_us < self.until_us)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    alert_id: str
    url: str
    payload: str
    attempts: int


class AlertStore:
    """The monitor's tables in ``path`` (the event log's SQLite file) or, with ``database_url``, PostgreSQL."""

    def __init__(self, path: str | Path, *, database_url: str | None = None) -> None:
        self.path, self.database_url = Path(path), database_url
        self._db = open_db(path, database_url, name="monitor", migrations=MIGRATIONS, pg_steps=PG_MIGRATIONS)
        self._tx = self._db.tx

    def close(self) -> None:
        self._db.close()

    def __repr__(self) -> str:
        return f"AlertStore({self._db.where!r})"

    def __enter__(self) -> AlertStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ alerts
    def record(self, alerts: Iterable[Mapping[str, Any]], *, now_us: int, urls: Sequence[str] = ()) -> list[str]:
        """Store alerts (dicts with ``alert_id``, ``user_id``, ``kind``, ``severity``); return the ids new here.

        Each new alert gets one outbox row per URL in the same transaction; an alert seen
        before only has its ``last_seen_us`` moved.
        """
        rows = list(alerts)
        if not rows:
            return []
        new: list[str] = []
        with self._tx() as db:
            for a in rows:
                body = json.dumps(a, sort_keys=True, default=str)
                cur = db.execute(
                    "INSERT INTO monitor_alerts (alert_id, user_id, kind, severity, first_seen_us, "
                    "last_seen_us, body) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (a["alert_id"], a["user_id"], a["kind"], int(a["severity"]), now_us, now_us, body))
                if cur.rowcount:
                    new.append(a["alert_id"])
                    db.executemany(
                        "INSERT INTO monitor_outbox (alert_id, user_id, url, payload, next_try_us) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", [(a["alert_id"], a["user_id"], u, body, now_us) for u in urls])
                else:
                    db.execute("UPDATE monitor_alerts SET last_seen_us = ? WHERE alert_id = ? AND last_seen_us < ?",
                               (now_us, a["alert_id"], now_us))
        return new

    def get(self, alert_id: str) -> AlertRecord:
        rows = self._db.read("SELECT alert_id, user_id, kind, severity, first_seen_us, last_seen_us, body "
                             "FROM monitor_alerts WHERE alert_id = ?", (alert_id,))
        row = rows[0] if rows else None
        if row is None:
            raise UnknownAlertError(alert_id, "list open alerts with GET /monitor/alerts or `skillpath monitor alerts`")
        return AlertRecord(*row[:6], json.loads(row[6]))

    def first_seen(self, ids: Sequence[str]) -> dict[str, int]:
        """When each of ``ids`` was first recorded (ids never recorded are absent)."""
        out: dict[str, int] = {}
        for k in range(0, len(ids), 900):
            chunk = list(ids[k:k + 900])
            marks = ",".join("?" * len(chunk))
            out.update(self._db.read(f"SELECT alert_id, first_seen_us FROM monitor_alerts WHERE alert_id IN ({marks})",
                                     chunk))
        return out

    def first_seen_all(self) -> dict[str, int]:
        """Every recorded alert id with when it was first recorded (a service loads it once at start)."""
        return dict(self._db.read("SELECT alert_id, first_seen_us FROM monitor_alerts"))

    def count(self) -> int:
        return int(self._db.read("SELECT COUNT(*) FROM monitor_alerts")[0][0])

    # ------------------------------------------------------------ acknowledgements
    def ack(self, alert_id: str, *, by: str, now_us: int, until_us: int | None = None, note: str = "") -> Ack:
        """Acknowledge ``alert_id`` (or snooze it until ``until_us``); the latest call wins."""
        if until_us is not None and until_us <= now_us:
            raise InvalidValueError("until", "a snooze must end in the future")
        rec = self.get(alert_id)
        state = "ack" if until_us is None else "snooze"
        with self._tx() as db:
            db.execute("INSERT INTO monitor_acks (alert_id, user_id, state, until_us, by_whom, at_us, note) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET user_id = excluded.user_id, "
                       "state = excluded.state, until_us = excluded.until_us, by_whom = excluded.by_whom, "
                       "at_us = excluded.at_us, note = excluded.note",
                       (alert_id, rec.user_id, state, until_us, by, now_us, note))
        return Ack(alert_id, state, until_us, by, now_us, note)

    def acks(self, user_id: str | None = None) -> dict[str, Ack]:
        """Acknowledgements (of ``user_id``'s alerts, else all), by alert id: one row per alert someone acted on."""
        sql, params = "SELECT alert_id, state, until_us, by_whom, at_us, note FROM monitor_acks", []
        if user_id is not None:
            sql, params = sql + " WHERE user_id = ?", [user_id]
        return {r[0]: Ack(*r) for r in self._db.read(sql, params)}

    # ------------------------------------------------------------ outbox
    def claim_due(self, *, now_us: int, lease_us: int, limit: int = 50) -> list[OutboxRow]:
        """Rows due now and not leased by another sender, leased to the caller for ``lease_us``.

        The lease is a conditional UPDATE per row: of two senders (on two replicas) racing for
        a row, the second finds it leased and skips it.
        """
        out = []
        with self._tx() as db:
            rows = db.execute(
                "SELECT seq, alert_id, url, payload, attempts FROM monitor_outbox WHERE delivered_us IS NULL "
                "AND next_try_us <= ? AND lease_us <= ? ORDER BY next_try_us, seq LIMIT ?",
                (now_us, now_us, limit)).fetchall()
            for r in rows:
                if db.execute("UPDATE monitor_outbox SET lease_us = ? WHERE seq = ? AND lease_us <= ? "
                              "AND delivered_us IS NULL", (now_us + lease_us, r[0], now_us)).rowcount:
                    out.append(OutboxRow(*r))
        return out

    def delivered(self, seq: int, *, now_us: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE monitor_outbox SET delivered_us = ?, attempts = attempts + 1, lease_us = 0, "
                       "last_error = '' WHERE seq = ?", (now_us, seq))

    def failed(self, seq: int, *, error: str, next_try_us: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE monitor_outbox SET attempts = attempts + 1, next_try_us = ?, lease_us = 0, "
                       "last_error = ? WHERE seq = ?", (next_try_us, error[:500], seq))

    def outbox(self) -> list[dict[str, Any]]:
        """Every outbox row (for tests, the CLI and operators)."""
        names = ["seq", "alert_id", "url", "attempts", "next_try_us", "delivered_us", "last_error"]
        return [dict(zip(names, r)) for r in self._db.read(f"SELECT {', '.join(names)} FROM monitor_outbox ORDER BY seq")]

    def pending(self) -> int:
        return int(self._db.read("SELECT COUNT(*) FROM monitor_outbox WHERE delivered_us IS NULL")[0][0])

    # ------------------------------------------------------------ forgetting
    def forget_user(self, user_id: str) -> int:
        """Delete every alert, acknowledgement and undelivered or delivered outbox row about ``user_id``."""
        with self._tx() as db:
            n = 0
            for table in ("monitor_outbox", "monitor_acks", "monitor_alerts"):
                n += db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,)).rowcount
        return n


def forget_user(events_db: str | Path, user_id: str, *, database_url: str | None = None) -> int:
    """Forget ``user_id`` in the monitor's tables of ``events_db`` (or PostgreSQL's); rows deleted."""
    with AlertStore(events_db, database_url=database_url) as store:
        return store.forget_user(user_id)
