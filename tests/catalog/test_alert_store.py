"""The alert store beside the event log: idempotent records, acks and snoozes, the outbox, forgetting."""

from __future__ import annotations

import pytest

from catalog.alert_store import AlertStore, UnknownAlertError, forget_user
from catalog.errors import InvalidValueError
from catalog.eventlog import EventLog

S = 1_000_000


def _alert(aid: str, user: str = "u1") -> dict:
    return {"alert_id": aid, "user_id": user, "kind": "silence", "severity": 2, "reason": "no activity for 16 days"}


@pytest.fixture
def store(tmp_path):
    db = tmp_path / "events.db"
    EventLog(db).close()  # the tables live in the event log's file
    with AlertStore(db) as s:
        yield s


def test_recording_is_idempotent_and_enqueues_each_url_once(store):
    urls = ("http://a/hook", "http://b/hook")
    assert store.record([_alert("al-1"), _alert("al-2")], now_us=10 * S, urls=urls) == ["al-1", "al-2"]
    assert store.record([_alert("al-1"), _alert("al-3")], now_us=20 * S, urls=urls) == ["al-3"]
    assert store.first_seen(["al-1", "al-3", "al-x"]) == {"al-1": 10 * S, "al-3": 20 * S}
    assert len(store.outbox()) == 6 and store.pending() == 6
    assert AlertStore(store.path).count() == 3  # durable, readable from another connection


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
    assert forget_user(store.path, "u1") == 3
    assert store.count() == 1 and store.acks() == {} and [r["alert_id"] for r in store.outbox()] == ["al-2"]
