"""EventLog.last_seq: a per-user version stamp that moves only when that user's events arrive."""

from __future__ import annotations

from catalog.eventlog import EventLog


def _ev(eid: str, user: str) -> dict:
    return {"event_id": eid, "user_id": user, "item_id": "i1", "event_type": "view",
            "timestamp": "2026-01-01T00:00:00Z"}


def test_last_seq(tmp_path):
    with EventLog(tmp_path / "events.db") as log:
        assert log.last_seq() == 0 and log.last_seq("a") == 0
        log.append([_ev("e1", "a"), _ev("e2", "b")])
        a, b = log.last_seq("a"), log.last_seq("b")
        assert 0 < a < b == log.last_seq()
        log.append([_ev("e1", "a")])  # a replay stores nothing: the stamp stays
        assert log.last_seq("a") == a
        log.append([_ev("e3", "b")])
        assert log.last_seq("a") == a and log.last_seq("b") > b
        with EventLog(tmp_path / "events.db") as other:  # another process's view of the same file
            assert other.last_seq("b") == log.last_seq("b")
