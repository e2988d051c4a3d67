"""The durable session store: mentoring sessions in the event log's SQLite file.

Sessions live beside the events (``events.db``), so one file backs up a deployment and
forgetting a mentee touches one file. The guarantees are the event log's:

- **durable acknowledgement**: :meth:`SessionStore.put` returns only after COMMIT with
  ``synchronous=FULL`` (the WAL is fsynced);
- **all or nothing**: a batch is checked against what is stored, then written in one
  transaction;
- **idempotent**: ``session_id`` is the key. The same session again is acknowledged as a
  duplicate and changes nothing; the same id with a different body is a
  :class:`SessionConflictError` naming the ids, and nothing of the batch is stored.

Each row keeps the session as JSON (without transcript and notes when ``store_text`` is
off: they are never written to disk then), a sha256 of the full body (so idempotency
holds whether or not texts are kept), and the caller's derived signals (``analysis``),
an opaque JSON object computed before the texts are dropped. ``secure_delete`` is on, so
:meth:`SessionStore.forget_user` overwrites what it removes.

The platform's ``Forgetters`` registry takes :meth:`SessionStore.forget_user` as the
forgetter named :data:`FORGETTER_NAME`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from catalog.errors import SessionConflictError
from catalog.sessions import Session, parse_session

__all__ = ["SessionStore", "StoredSession", "PutResult", "FORGETTER_NAME", "MIGRATIONS", "session_digest"]

#: The name the session store's forgetter registers under.
FORGETTER_NAME = "sessions"
_SQL_VARS = 900

#: Ordered schema migrations, each applied once (recorded in ``session_migrations``); append, never edit.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
CREATE TABLE IF NOT EXISTS sessions (
    session_id  TEXT    PRIMARY KEY,          -- the idempotency key
    mentor_id   TEXT    NOT NULL,
    mentee_id   TEXT    NOT NULL,
    started_us  INTEGER NOT NULL,             -- session start, UTC microseconds
    body        TEXT    NOT NULL,             -- Session.to_dict() as JSON (texts empty unless stored)
    digest      TEXT    NOT NULL,             -- sha256 of the full body, texts included
    has_text    INTEGER NOT NULL,             -- transcript or notes are in body
    analysis    TEXT    NOT NULL DEFAULT '{}',-- derived signals (JSON), computed before texts were dropped
    stored_us   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_mentee ON sessions (mentee_id, started_us);
CREATE INDEX IF NOT EXISTS sessions_mentor ON sessions (mentor_id, started_us);
"""),
)


def session_digest(session: Session) -> str:
    """sha256 of the session's full canonical JSON: equal digests, equal sessions."""
    text = json.dumps(session.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A stored session, its derived signals, and whether its texts were kept."""

    session: Session
    analysis: dict[str, Any]
    text_stored: bool


@dataclass(frozen=True, slots=True)
class PutResult:
    """What :meth:`SessionStore.put` stored: new sessions, replays, and every id acknowledged."""

    accepted: int
    duplicates: int
    session_ids: list[str] = field(default_factory=list)


class SessionStore:
    """Mentoring sessions in a SQLite file (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The data dir's ``events.db`` (created with its folder if missing).
    store_text : bool
        Keep transcripts and notes (``sessions.store_text``); off keeps only the derived signals.
    timeout : float
        Seconds to wait for another process's write lock.
    """

    def __init__(self, path: str | Path, *, store_text: bool = True, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.store_text = store_text
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        c = self._conn
        c.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        c.execute("PRAGMA journal_mode = WAL")
        c.execute("PRAGMA synchronous = FULL")
        c.execute("PRAGMA secure_delete = ON")
        try:
            self._migrate()
        except BaseException:
            c.close()
            self._conn = None
            raise

    def _migrate(self) -> None:
        c = self._db
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("CREATE TABLE IF NOT EXISTS session_migrations (version INTEGER PRIMARY KEY, "
                      "applied_us INTEGER NOT NULL)")
            done = {r[0] for r in c.execute("SELECT version FROM session_migrations")}
            for version, sql in MIGRATIONS:
                if version in done:
                    continue
                for stmt in sql.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute("INSERT INTO session_migrations VALUES (?, ?)", (version, time.time_ns() // 1000))
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------ lifecycle
    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"{self!r} is closed")
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SessionStore({str(self.path)!r})"

    # ------------------------------------------------------------ writing
    def conflicts(self, sessions: Sequence[Session]) -> list[str]:
        """Ids of ``sessions`` stored with a different body (what :meth:`put` would refuse)."""
        digests = {s.session_id: session_digest(s) for s in sessions}
        with self._lock:
            stored = self._stored(list(digests))
        return [sid for sid, d in digests.items() if sid in stored and stored[sid] != d]

    def put(self, sessions: Sequence[Session], *, analyses: Mapping[str, Mapping[str, Any]] | None = None,
            now_us: int | None = None) -> PutResult:
        """Store ``sessions`` durably and idempotently; return only after COMMIT.

        ``analyses`` maps a session id to its derived signals (stored as given). Raises
        :class:`SessionConflictError` (nothing stored) if an id is stored with another body.
        """
        analyses = analyses or {}
        rows = []
        seen: dict[str, str] = {}
        for s in sessions:
            digest = session_digest(s)
            if seen.get(s.session_id, digest) != digest:
                raise SessionConflictError([s.session_id])
            if s.session_id in seen:
                continue
            seen[s.session_id] = digest
            kept = s if self.store_text else s.without_text()
            has_text = bool(kept.transcript or kept.notes)
            rows.append((s.session_id, s.mentor_id, s.mentee_id, _us(s), json.dumps(kept.to_dict(), ensure_ascii=False),
                         digest, int(has_text), json.dumps(dict(analyses.get(s.session_id, {})), ensure_ascii=False)))
        stored_us = now_us if now_us is not None else time.time_ns() // 1000
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")  # the write lock now: the check and the insert see one state
            try:
                stored = self._stored([r[0] for r in rows])
                clash = [r[0] for r in rows if r[0] in stored and stored[r[0]] != r[5]]
                if clash:
                    raise SessionConflictError(clash)
                new = [(*r, stored_us) for r in rows if r[0] not in stored]
                db.executemany("INSERT INTO sessions (session_id, mentor_id, mentee_id, started_us, body, digest, "
                               "has_text, analysis, stored_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", new)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return PutResult(accepted=len(new), duplicates=len(sessions) - len(new), session_ids=list(seen))

    def _stored(self, ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(ids), _SQL_VARS):
            chunk = ids[start:start + _SQL_VARS]
            marks = ",".join("?" * len(chunk))
            out.update(self._db.execute(f"SELECT session_id, digest FROM sessions WHERE session_id IN ({marks})",
                                        chunk).fetchall())
        return out

    def forget_user(self, user_id: str) -> int:
        """Remove every session of mentee ``user_id`` (durably); the number removed. The forgetter."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                n = db.execute("DELETE FROM sessions WHERE mentee_id = ?", (user_id,)).rowcount
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return int(n)

    # ------------------------------------------------------------ reading
    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    def get(self, session_id: str) -> StoredSession | None:
        return next(iter(self._select("session_id = ?", [session_id])), None)

    def by_mentee(self, mentee_id: str) -> list[StoredSession]:
        """The mentee's sessions, oldest first."""
        return self._select("mentee_id = ?", [mentee_id])

    def by_mentor(self, mentor_id: str) -> list[StoredSession]:
        """The mentor's sessions, oldest first."""
        return self._select("mentor_id = ?", [mentor_id])

    def by_pair(self, mentor_id: str, mentee_id: str) -> list[StoredSession]:
        return self._select("mentor_id = ? AND mentee_id = ?", [mentor_id, mentee_id])

    def all(self) -> list[StoredSession]:
        return self._select("1", [])

    def version(self) -> tuple[int, int, int]:
        """``(count, newest stored_us, sum of started_us)``: changes whenever sessions are added or forgotten."""
        with self._lock:
            n, newest, total = self._db.execute(
                "SELECT COUNT(*), COALESCE(MAX(stored_us), 0), COALESCE(SUM(started_us % 1000003), 0) "
                "FROM sessions").fetchone()
        return int(n), int(newest), int(total)

    def contacts(self) -> list[tuple[str, str, int, int | None]]:
        """Every session as ``(mentee_id, mentor_id, started_us, mentee rating or None)``, oldest first:
        what the monitor reads as mentor contact (no texts)."""
        with self._lock:
            rows = self._db.execute("SELECT mentee_id, mentor_id, started_us, body FROM sessions "
                                    "ORDER BY started_us, session_id").fetchall()
        return [(u, m, int(t), (json.loads(b).get("ratings") or {}).get("mentee")) for u, m, t, b in rows]

    def _select(self, where: str, params: list[object]) -> list[StoredSession]:
        sql = f"SELECT body, has_text, analysis FROM sessions WHERE {where} ORDER BY started_us, session_id"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [StoredSession(parse_session(json.loads(body)), json.loads(analysis), bool(has_text))
                for body, has_text, analysis in rows]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _us(s: Session) -> int:
    return (s.started_at - _EPOCH) // timedelta(microseconds=1)
