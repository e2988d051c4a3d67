"""Forgetting a mentee on both backends: the event log and the entity store of one database.

The tombstone keeps replayed old events out (acknowledged as duplicates) and lets newer
ones in; on PostgreSQL, appends racing the forget from another connection never bring a
removed event back.
"""

from __future__ import annotations

import threading

import pytest

from catalog.errors import UnknownUserError
from catalog.store.entities import Entities
from catalog.store.forget import Forgetters, forget_mentee

NOW = 1_800_000_000_000_000  # 2027-01-15, after every event below


def _events(user: str, prefix: str, n: int, day: str = "2025-03-01") -> list[dict]:
    return [{"event_id": f"{prefix}-{i}", "user_id": user, "item_id": f"i{i % 3}", "event_type": "view",
             "timestamp": f"{day}T00:00:{i % 60:02d}Z"} for i in range(n)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def backend(request, tmp_path):
    """(event log, entities, opener of another event log on the same database)."""
    if request.param == "sqlite":
        from catalog.eventlog import EventLog
        from catalog.store.sqlite import SQLiteEntityStore

        def log_opener():
            return EventLog(tmp_path / "events.db")
        log = log_opener()
        ents = Entities(SQLiteEntityStore(tmp_path / "events.db"))
    else:
        from catalog.pg_eventlog import PgEventLog
        from catalog.store.pg import PgEntityStore

        url = request.getfixturevalue("pg_url")

        def log_opener():
            return PgEventLog(url)
        log = log_opener()
        ents = Entities(PgEntityStore(url))
    yield log, ents, log_opener
    log.close()
    ents.store.close()


def test_forget_removes_events_and_profile_and_the_tombstone_holds(backend):
    log, ents, _ = backend
    ents.put("skills", [{"skill_id": "python", "name": "Python"}], actor="t", now_us=NOW)
    ents.put("mentees", [{"user_id": "u1", "goals": "python:3"}], actor="t", now_us=NOW)
    log.append(_events("u1", "a", 20) + _events("u2", "b", 5))
    removed = forget_mentee("u1", entities=ents, events=log, forgetters=Forgetters(), actor="t", now_us=NOW)
    assert removed == {"events": 20, "profile": 1}
    assert log.user_events("u1").empty and log.count() == 5 and ents.find("mentees", "u1") is None
    assert ents.store.tombstones(["u1", "u2"]) == {"u1"}
    replay = log.append(_events("u1", "a", 20))  # old events replayed: acknowledged, never stored again
    assert (replay.accepted, replay.duplicates) == (0, 20) and log.user_events("u1").empty
    later = log.append(_events("u1", "c", 2, day="2027-02-01"))  # they came back after the forget
    assert later.accepted == 2 and len(log.user_events("u1")) == 2
    again = forget_mentee("u1", entities=ents, events=log, forgetters=Forgetters(), actor="t", now_us=NOW + 10**12)
    assert again == {"events": 2, "profile": 0}
    with pytest.raises(UnknownUserError, match="nobody"):
        forget_mentee("nobody", entities=ents, events=log, forgetters=Forgetters(), actor="t", now_us=NOW)


def test_appends_racing_a_forget_from_other_connections_leave_nothing(backend):
    """Writers on their own connections (other replicas) append the mentee's old events throughout a forget."""
    log, ents, log_opener = backend
    stop, errors = threading.Event(), []

    def writer(name: str) -> None:
        other = log_opener()
        try:
            n = 0
            while not stop.is_set():
                other.append(_events("u1", f"{name}{n}", 50))
                n += 1
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            other.close()
    threads = [threading.Thread(target=writer, args=(n,)) for n in ("w", "x")]
    for t in threads:
        t.start()
    try:
        while log.last_seq("u1") == 0:
            pass
        forget_mentee("u1", entities=ents, events=log, forgetters=Forgetters(), actor="t", now_us=NOW)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert log.user_events("u1").empty  # whatever was acknowledged before, during or after the forget
