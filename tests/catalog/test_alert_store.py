"""The alert store beside the event log: idempotent records, acks and snoozes, the outbox, forgetting.

Every test runs on both backends: the data dir's SQLite file and a real PostgreSQL server.
"""

from __future__ import annotations

import pytest

from catalog.alert_store import AlertStore, UnknownAlertError, forget_user
from catalog.errors import InvalidValueError
from catalog.eventlog import EventLog

S = 1_000_000


def _alert(aid: str, user: str = "u1") -> dict:
    return {"alert_id": aid, "user_id": user, "kind": "silence", "severity": 2, "reason": "no activity for 16 days"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request, tmp_path):
    db = tmp_path / "events.db"
    EventLog(db).close()  # the tables live in the event log's file (or its PostgreSQL database)
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    with AlertStore(db, database_url=url) as s:
        yield s


def _other(store: AlertStore) -> AlertStore:
    """The same tables through another connection (another worker or replica)."""
    return AlertStore(store.path, database_url=store.database_url)


def test_recording_is_idempotent_and_enqueues_each_url_once(store):
    urls = ("http://a/hook", "http://b/hook")
    assert store.record([_alert("al-1"), _alert("al-2")], now_us=10 * S, urls=urls) == ["al-1", "al-2"]
    assert store.record([_alert("al-1"), _alert("al-3")], now_us=20 * S, urls=urls) == ["al-3"]
    assert store.first_seen(["al-1", "al-3", "al-x"]) == {"al-1": 10 * S, "al-3": 20 * S}
    assert len(store.outbox()) == 6 and store.pending() == 6
    with _other(store) as other:
        assert other.count() == 3  # durable, readable from another connection


def test_ack_and_snooze_the_latest_wins(store):
    store.record([_alert("al-1")], now_us=S)
    with pytest.raises(UnknownAlertError):
        store.ack("al-404", by="lead", now_us=2 * S)
    with pytest.raises(InvalidValueError) as err:
        store.ack("al-1", by="lead", now_us=5 * S, until_us=4 * S)
    assert err.value.field == "until"
    snooze = store.ack("al-1", by="lead", now_us=2 * S, until_us=9 * S)
    assert snooze.silences(8 * S) and not snooze.silences(9 * S)
    store.ack("al-1", by="mentor:m1", now_us=3 * S)
    ack = store.acks()["al-1"]
    assert ack.state == "ack" and ack.by == "mentor:m1" and ack.silences(10**12)
    assert store.acks("u1") == store.acks() and store.acks("u2") == {}


def test_claims_lease_rows_and_failures_back_off(store):
    store.record([_alert("al-1")], now_us=S, urls=("http://a",))
    rows = store.claim_due(now_us=2 * S, lease_us=30 * S)
    assert [r.alert_id for r in rows] == ["al-1"]
    assert store.claim_due(now_us=3 * S, lease_us=30 * S) == []      # leased: another sender skips it
    store.failed(rows[0].seq, error="HTTP 500", next_try_us=10 * S)
    assert store.claim_due(now_us=9 * S, lease_us=30 * S) == []      # backing off
    again = store.claim_due(now_us=10 * S, lease_us=30 * S)
    assert again[0].attempts == 1
    store.delivered(again[0].seq, now_us=11 * S)
    assert store.claim_due(now_us=10**12, lease_us=S) == [] and store.pending() == 0
    assert store.outbox()[0]["attempts"] == 2


def test_forget_user_removes_alerts_acks_and_deliveries(store):
    store.record([_alert("al-1", "u1"), _alert("al-2", "u2")], now_us=S, urls=("http://a",))
    store.ack("al-1", by="lead", now_us=2 * S)
    assert forget_user(store.path, "u1", database_url=store.database_url) == 3
    assert store.count() == 1 and store.acks() == {} and [r["alert_id"] for r in store.outbox()] == ["al-2"]


def test_senders_racing_on_two_connections_claim_each_row_once(store, at_once):
    store.record([_alert(f"al-{i}", f"u{i}") for i in range(200)], now_us=S, urls=("http://a", "http://b"))
    claimed: list[list[int]] = [[], []]

    def sender(k: int) -> None:
        with _other(store) as mine:
            while rows := mine.claim_due(now_us=2 * S, lease_us=30 * S, limit=7):
                claimed[k] += [r.seq for r in rows]
    errors = at_once(sender, 2)
    assert not errors, errors
    both = claimed[0] + claimed[1]
    assert len(both) == len(set(both)) == 400  # every delivery claimed, none twice
