"""The session store: idempotent puts, conflicts, lists, the privacy switch, forgetting, durability.

The contract tests run on both backends (the data dir's SQLite file, a real PostgreSQL server);
the ones reading the file's bytes are SQLite's own.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from catalog.errors import SessionConflictError
from catalog.eventlog import EventLog
from catalog.session_store import FORGETTER_NAME, SessionStore
from catalog.sessions import Ratings, Session

T0 = datetime(2026, 11, 2, 10, tzinfo=timezone.utc)
SECRET = "Mentee: my manager is impossible and I'm thinking of quitting."


def session(sid: str, mentor: str = "m1", mentee: str = "u1", day: int = 0, **kw) -> Session:
    return Session(sid, mentor, mentee, T0 + timedelta(days=day), 45, "video", **kw)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def new_store(request, tmp_path):
    """Opens the session store on the test's backend (call again for another connection, as a replica would)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return lambda: SessionStore(tmp_path / "events.db", database_url=url)


def test_put_is_idempotent_and_a_changed_body_is_a_conflict_naming_the_id(new_store):
    with new_store() as store:
        a, b = session("s-1", transcript=SECRET), session("s-2", day=7)
        first = store.put([a, b], analyses={"s-1": {"skills": ["python"]}})
        assert (first.accepted, first.duplicates, first.session_ids) == (2, 0, ["s-1", "s-2"])
        again = store.put([a, b])
        assert (again.accepted, again.duplicates) == (0, 2)
        assert store.count() == 2
        changed = replace(a, ratings=Ratings(mentee=2))
        with pytest.raises(SessionConflictError, match="'s-1'") as e:
            store.put([session("s-3", day=9), changed])
        assert e.value.session_ids == ["s-1"]
        assert store.count() == 2  # all or nothing: s-3 was not stored either
        assert store.get("s-1").session == a
        assert store.get("s-1").analysis == {"skills": ["python"]}  # the first analysis stays


def test_a_batch_that_repeats_an_id_with_two_bodies_is_refused(new_store):
    with new_store() as store:
        with pytest.raises(SessionConflictError):
            store.put([session("s-1"), session("s-1", day=1)])
        assert store.count() == 0
        assert store.put([session("s-1"), session("s-1")]).accepted == 1


def test_lists_by_mentee_and_by_mentor_oldest_first(new_store):
    with new_store() as store:
        store.put([session("c", "m1", "u1", day=5), session("a", "m1", "u2", day=1), session("b", "m2", "u1", day=2)])
        assert [s.session.session_id for s in store.by_mentee("u1")] == ["b", "c"]
        assert [s.session.session_id for s in store.by_mentor("m1")] == ["a", "c"]
        assert [s.session.session_id for s in store.by_pair("m1", "u1")] == ["c"]
        assert store.by_mentee("nobody") == []


def test_store_text_off_never_writes_the_texts_and_keeps_idempotency(tmp_path):
    db = tmp_path / "events.db"
    s = session("s-1", transcript=SECRET, notes="private notes about the manager")
    with SessionStore(db, store_text=False) as store:
        store.put([s], analyses={"s-1": {"words": {"mentee": 11}}})
        got = store.get("s-1")
        assert got.session.transcript == "" and got.session.notes == "" and not got.text_stored
        assert got.analysis == {"words": {"mentee": 11}}
        assert store.put([s]).duplicates == 1  # the digest covers the texts that were not kept
        with pytest.raises(SessionConflictError):
            store.put([replace(s, transcript=SECRET + " Not really.")])
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = db.read_bytes() + (db.with_name("events.db-wal").read_bytes() if db.with_name("events.db-wal").exists() else b"")
    assert b"impossible" not in raw and b"private notes" not in raw


def test_forget_user_removes_the_mentees_sessions_and_overwrites_them(tmp_path):
    db = tmp_path / "events.db"
    with SessionStore(db) as store:
        store.put([session("s-1", mentee="u1", transcript=SECRET), session("s-2", mentee="u2")])
        forget = store.forget_user  # what the Forgetters registry calls, under FORGETTER_NAME
        assert FORGETTER_NAME == "sessions"
        assert forget("u1") == 1 and forget("u1") == 0
        assert store.by_mentee("u1") == [] and store.count() == 1
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"impossible" not in db.read_bytes()


def test_shares_the_event_log_file_and_survives_reopening(tmp_path):
    db = tmp_path / "events.db"
    with EventLog(db) as log, SessionStore(db) as store:
        store.put([session("s-1")])
        assert log.count() == 0
    with SessionStore(db) as store, sqlite3.connect(db) as c:  # migrations run once
        assert store.get("s-1").session.session_id == "s-1"
        assert c.execute("SELECT COUNT(*) FROM session_migrations").fetchone()[0] == 1
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with EventLog(db) as log:  # the event log still opens the file
        assert log.count() == 0


def test_two_replicas_storing_the_same_sessions_at_once_store_each_once(new_store, at_once):
    batch = [session(f"s-{i}", mentee=f"u{i % 7}", day=i % 30) for i in range(300)]
    results = []

    def replica(_k: int) -> None:
        with new_store() as mine:
            results.append(sum(mine.put(batch[k:k + 25]).accepted for k in range(0, len(batch), 25)))
    errors = at_once(replica, 2)
    assert not errors, errors
    with new_store() as store:
        assert sum(results) == 300 == store.count()
        with pytest.raises(SessionConflictError):  # and a changed body is still a conflict on the other replica
            store.put([replace(batch[0], ratings=Ratings(mentee=1))])


def test_contacts_and_version_follow_what_is_stored_and_forgotten(new_store):
    """What the monitor reads as mentor contact: start and the mentee's rating, no texts; the version moves."""
    with new_store() as store:
        v0 = store.version()
        store.put([session("s2", day=5, ratings=Ratings(mentee=2)), session("s1", mentee="u2", day=1)])
        v1 = store.version()
        got = store.contacts()
        assert [(u, m, r) for u, m, _, r in got] == [("u2", "m1", None), ("u1", "m1", 2)]
        assert got[0][2] < got[1][2]
        store.put([session("s2", day=5, ratings=Ratings(mentee=2))])     # a replay changes nothing
        assert store.version() == v1 != v0
        store.forget_user("u2")
        assert store.version() != v1 and [c[0] for c in store.contacts()] == ["u1"]
