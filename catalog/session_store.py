"""The durable session store: mentoring sessions beside the event log.

Sessions live beside the events: in the data dir's ``events.db``, or in PostgreSQL when
``database_url`` is set (:mod:`catalog.sqldb`), so one backup holds a deployment and every
replica reads the same sessions. The guarantees are the event log's:

- **durable acknowledgement**: :meth:`SessionStore.put` returns only after COMMIT with
  ``synchronous=FULL`` (the WAL is fsynced);
- **all or nothing**: a batch is checked against what is stored, then written in one
  transaction;
- **idempotent**: ``session_id`` is the key. The same session again is acknowledged as a
  duplicate and changes nothing; the same id with a different body is a
  :class:`SessionConflictError` naming the ids, and nothing of the batch is stored. Two
  replicas storing the same session at once store it once (``ON CONFLICT DO NOTHING``,
  then the raced ids are compared like the others).

Each row keeps the session as JSON (without transcript and notes when ``store_text`` is
off: they are never written to disk then), a sha256 of the full body (so idempotency
holds whether or not texts are kept), and the caller's derived signals (``analysis``),
an opaque JSON object computed before the texts are dropped. On SQLite ``secure_delete`` is
on, so :meth:`SessionStore.forget_user` overwrites what it removes (PostgreSQL reclaims the
deleted rows' space at its next VACUUM).

The platform's ``Forgetters`` registry takes :meth:`SessionStore.forget_user` as the
forgetter named :data:`FORGETTER_NAME`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from catalog.errors import SessionConflictError
from catalog.sessions import Session, parse_session
from catalog.sqldb import open_db

__all__ = ["SessionStore", "StoredSession", "PutResult", "FORGETTER_NAME", "MIGRATIONS", "PG_MIGRATIONS",
           "session_digest"]

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
#: The same table in PostgreSQL (component ``session`` in ``skillpath_schema``).
PG_MIGRATIONS: tuple[str, ...] = ("""
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, mentor_id TEXT NOT NULL, mentee_id TEXT NOT NULL, started_us BIGINT NOT NULL,
    body TEXT NOT NULL, digest TEXT NOT NULL, has_text INTEGER NOT NULL, analysis TEXT NOT NULL DEFAULT '{}',
    stored_us BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_mentee ON sessions (mentee_id, started_us);
CREATE INDEX IF NOT EXISTS sessions_mentor ON sessions (mentor_id, started_us);
""",)


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
    database_url : str, optional
        A ``postgresql://`` URL: the sessions table in that database instead of ``path``.
    """

    def __init__(self, path: str | Path, *, store_text: bool = True, database_url: str | None = None) -> None:
        self.path, self.database_url = Path(path), database_url
        self.store_text = store_text
        self._db = open_db(path, database_url, name="session", migrations=MIGRATIONS, pg_steps=PG_MIGRATIONS,
                           secure_delete=True)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SessionStore({self._db.where!r})"

    # ------------------------------------------------------------ writing
    def conflicts(self, sessions: Sequence[Session]) -> list[str]:
        """Ids of ``sessions`` stored with a different body (what :meth:`put` would refuse)."""
        digests = {s.session_id: session_digest(s) for s in sessions}
        stored = self._stored(self._db.read, list(digests))
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
        with self._db.tx() as db:  # SQLite: the write lock now, so the check and the insert see one state

            def read(sql: str, params: Sequence[Any]) -> list[tuple]:
                return db.execute(sql, params).fetchall()
            stored = self._stored(read, [r[0] for r in rows])
            clash = [r[0] for r in rows if r[0] in stored and stored[r[0]] != r[5]]
            if clash:
                raise SessionConflictError(clash)
            new = [(*r, stored_us) for r in rows if r[0] not in stored]
            inserted = 0
            for r in new:  # one row at a time: the count of rows really inserted is what was accepted
                inserted += db.execute("INSERT INTO sessions (session_id, mentor_id, mentee_id, started_us, body, "
                                       "digest, has_text, analysis, stored_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                       "ON CONFLICT DO NOTHING", r).rowcount
            if inserted < len(new):  # another replica stored some meanwhile (PostgreSQL): the same body is a replay
                again = self._stored(read, [r[0] for r in new])
                clash = [r[0] for r in new if again.get(r[0]) != r[5]]
                if clash:
                    raise SessionConflictError(clash)
        return PutResult(accepted=inserted, duplicates=len(sessions) - inserted, session_ids=list(seen))

    @staticmethod
    def _stored(read: Any, ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(ids), _SQL_VARS):
            chunk = ids[start:start + _SQL_VARS]
            marks = ",".join("?" * len(chunk))
            out.update(read(f"SELECT session_id, digest FROM sessions WHERE session_id IN ({marks})", chunk))
        return out

    def forget_user(self, user_id: str) -> int:
        """Remove every session of mentee ``user_id`` (durably); the number removed. The forgetter."""
        with self._db.tx() as db:
            n = db.execute("DELETE FROM sessions WHERE mentee_id = ?", (user_id,)).rowcount
        return int(n)

    # ------------------------------------------------------------ reading
    def count(self) -> int:
        return int(self._db.read("SELECT COUNT(*) FROM sessions")[0][0])

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
        return self._select("TRUE", [])

    def version(self) -> tuple[int, int]:
        """``(count, newest stored_us)``: changes whenever sessions are added or forgotten (a stored
        session never changes: a changed body is refused)."""
        n, newest = self._db.read("SELECT COUNT(*), COALESCE(MAX(stored_us), 0) FROM sessions")[0]
        return int(n), int(newest)

    def contacts(self) -> list[tuple[str, str, int, int | None]]:
        """Every session as ``(mentee_id, mentor_id, started_us, mentee rating or None)``, oldest first:
        what the monitor reads as mentor contact (no texts)."""
        rows = self._db.read("SELECT mentee_id, mentor_id, started_us, body FROM sessions "
                             "ORDER BY started_us, session_id")
        return [(u, m, int(t), (json.loads(b).get("ratings") or {}).get("mentee")) for u, m, t, b in rows]

    def _select(self, where: str, params: list[object]) -> list[StoredSession]:
        sql = f"SELECT body, has_text, analysis FROM sessions WHERE {where} ORDER BY started_us, session_id"
        rows = self._db.read(sql, params)
        return [StoredSession(parse_session(json.loads(body)), json.loads(analysis), bool(has_text))
                for body, has_text, analysis in rows]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _us(s: Session) -> int:
    return (s.started_at - _EPOCH) // timedelta(microseconds=1)
