"""Monitoring over HTTP: statuses kept current by /events, alerts with cursors and filters, acks, roles."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.serving.conftest import API_KEY


def _as(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _all_alerts(c, **params):
    out, cursor = [], None
    while True:
        q = dict(params, **({"cursor": cursor} if cursor else {}))
        r = c.get("/monitor/alerts", params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["alerts"]
        cursor = body["next_cursor"]
        if cursor is None:
            return out


def test_status_is_kept_current_by_events(client):
    r = client.get("/mentees/u000/status")
    assert r.status_code == 200, r.text
    before = r.json()
    assert before["user_id"] == "u000" and before["goals"] and before["risk"] is None
    assert before["engagement"]["days_since_activity"] > 0
    now = datetime.now(timezone.utc)
    ev = [{"event_id": f"mon-{k}", "user_id": "u000", "item_id": "b0-i07", "event_type": "complete",
           "timestamp": (now - timedelta(minutes=5 - k)).isoformat()} for k in range(2)]
    assert client.post("/events", json={"events": ev}).status_code == 200
    after = client.get("/mentees/u000/status").json()
    assert after["engagement"]["days_since_activity"] < 0.01
    assert after["engagement"]["active_days_7d"] >= 1
    assert after["engagement"]["last_activity"] > before["engagement"]["last_activity"]


def test_status_of_an_unknown_mentee_is_404_and_a_bad_id_400(client):
    r = client.get("/mentees/nobody-here/status")
    assert r.status_code == 404, r.text
    r = client.get("/mentees/bad id!/status")
    assert r.status_code == 400 and r.json()["detail"][0]["loc"][:2] == ["path", "user_id"]


def test_alerts_page_with_a_cursor_like_one_call(client):
    from serving.schemas_monitoring import AlertsResponse

    whole = client.get("/monitor/alerts", params={"limit": 20000}).json()
    AlertsResponse.model_validate(whole)  # the spliced JSON is the documented shape
    assert whole["alerts"], "the served world has silent mentees"
    assert whole["next_cursor"] is None
    keys = [(a["user_id"], a["alert_id"]) for a in whole["alerts"]]
    assert keys == sorted(keys)
    paged = _all_alerts(client, limit=7)
    assert [a["alert_id"] for a in paged] == [a["alert_id"] for a in whole["alerts"]]
    a = whole["alerts"][0]
    assert a["reason"] and a["intervention"]["kind"] and a["state"] == "open" and a["first_seen"]


@pytest.mark.parametrize(("params", "field"), [
    ({"cursor": "not-a-cursor"}, "cursor"), ({"cohort": "spring"}, "cohort"), ({"cohort": "mentor:nope"}, "cohort"),
    ({"min_risk": 0.3}, "min_risk"), ({"min_risk": 2}, "min_risk"), ({"limit": 0}, "limit"),
    ({"cohort": "2026-13"}, "cohort")])
def test_bad_queries_are_400_naming_the_field(client, params, field):
    r = client.get("/monitor/alerts", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["detail"][0]["loc"] == ["query", field]


def test_cohorts_filter_by_mentor_and_month(client):
    alerted = sorted({a["user_id"] for a in _all_alerts(client, limit=20000)})
    assigned = client.post("/mentors/assign", json={"user_ids": alerted[:20]})
    assert assigned.status_code == 200
    pairs = {p["user_id"]: p["mentor_id"] for p in assigned.json()["pairs"] if p["mentor_id"]}
    mentor = next(m for u, m in pairs.items() if u in alerted)
    got = _all_alerts(client, cohort=f"mentor:{mentor}")
    assert got and {a["user_id"] for a in got} <= {u for u, m in pairs.items() if m == mentor}
    assert all(a["mentor_id"] == mentor for a in got)
    month = (datetime.now(timezone.utc) - timedelta(days=61)).strftime("%Y-%m")
    assert client.get("/monitor/alerts", params={"cohort": month}).status_code == 200
    assert client.get("/monitor/alerts", params={"cohort": "1999-01"}).json()["alerts"] == []


def test_ack_and_snooze(client):
    alerts = client.get("/monitor/alerts").json()["alerts"]
    first, second = alerts[0]["alert_id"], alerts[1]["alert_id"]
    r = client.post(f"/monitor/alerts/{first}/ack", json={"note": "called"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "acknowledged"
    until = (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()
    r = client.post(f"/monitor/alerts/{second}/ack", json={"action": "snooze", "until": until})
    assert r.status_code == 200 and r.json()["state"] == "snoozed", r.text
    open_ids = {a["alert_id"] for a in _all_alerts(client, limit=20000)}
    assert first not in open_ids and second not in open_ids
    every = {a["alert_id"]: a["state"] for a in _all_alerts(client, limit=20000, include_acknowledged=True)}
    assert every[first] == "acknowledged" and every[second] == "snoozed"
    user = alerts[0]["user_id"]
    states = {a["alert_id"]: a["state"] for a in client.get(f"/mentees/{user}/status").json()["alerts"]}
    assert states[first] == "acknowledged"


@pytest.mark.parametrize(("body", "field"), [({"action": "snooze"}, "until"),
                                              ({"action": "ack", "until": "2030-01-01T00:00:00Z"}, "until"),
                                              ({"action": "snooze", "until": "2001-01-01T00:00:00Z"}, "until"),
                                              ({"action": "snooze", "until": "2030-01-01"}, "until"),
                                              ({"action": "later"}, "action")])
def test_bad_acks_are_400_naming_the_field(client, body, field):
    aid = client.get("/monitor/alerts").json()["alerts"][0]["alert_id"]
    r = client.post(f"/monitor/alerts/{aid}/ack", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["detail"][0]["loc"] == [field]


def test_an_unknown_alert_is_404(client):
    assert client.post("/monitor/alerts/al-000000000000000000000000/ack", json={}).status_code == 404
    assert client.post("/monitor/alerts/nope/ack", json={}).status_code == 400


@pytest.fixture
def roles_client(roles_client_of):
    return roles_client_of(f"{API_KEY},me-key:mentee:u000,lead-key:lead")


def test_roles_see_only_their_mentees(roles_client):
    c = roles_client
    assert c.get("/mentees/u000/status", headers=_as("me-key")).status_code == 200
    r = c.get("/mentees/u001/status", headers=_as("me-key"))
    assert r.status_code == 403 and r.json()["detail"][0]["loc"] == ["path", "user_id"]
    mine = c.get("/monitor/alerts", params={"limit": 20000}, headers=_as("me-key")).json()["alerts"]
    assert {a["user_id"] for a in mine} <= {"u000"}
    alerted = sorted({a["user_id"] for a in c.get("/monitor/alerts", params={"limit": 20000}).json()["alerts"]})
    assigned = c.post("/mentors/assign", json={"user_ids": alerted[:20]}, headers=_as(API_KEY))
    pairs = {p["user_id"]: p["mentor_id"] for p in assigned.json()["pairs"] if p["mentor_id"]}
    mentor = next(m for u, m in pairs.items() if u in alerted)
    theirs = c.get("/monitor/alerts", params={"limit": 20000}, headers=_as(f"mk-{mentor}")).json()["alerts"]
    assert theirs and {a["user_id"] for a in theirs} <= {u for u, m in pairs.items() if m == mentor}
    everyone = c.get("/monitor/alerts", params={"limit": 20000}, headers=_as("lead-key")).json()["alerts"]
    other = next(a for a in everyone if pairs.get(a["user_id"]) != mentor)
    r = c.post(f"/monitor/alerts/{other['alert_id']}/ack", json={}, headers=_as(f"mk-{mentor}"))
    assert r.status_code == 403, r.text
    r = c.post(f"/monitor/alerts/{theirs[0]['alert_id']}/ack", json={}, headers=_as(f"mk-{mentor}"))
    assert r.status_code == 200 and r.json()["by"].startswith(f"mentor:{mentor}")
    assert c.post(f"/monitor/alerts/{other['alert_id']}/ack", json={}, headers=_as("me-key")).status_code == 403
    assert c.post(f"/monitor/alerts/{other['alert_id']}/ack", json={}, headers=_as("lead-key")).status_code == 200


def test_failed_assessments_posted_raise_an_alert_with_its_reason(client):
    now = datetime.now(timezone.utc)
    ev = [{"event_id": f"fail-{k}", "user_id": "u004", "item_id": f"b1-i0{k + 1}", "event_type": "assess",
           "value": 20 + k, "timestamp": (now - timedelta(minutes=10 - k)).isoformat()} for k in range(3)]
    assert client.post("/events", json={"events": ev}).status_code == 200
    mine = [a for a in client.get("/monitor/alerts", params={"limit": 20000}).json()["alerts"]
            if a["user_id"] == "u004"]
    fails = [a for a in mine if a["kind"] == "repeated_failures"]
    assert fails and fails[0]["reason"] == "3 of the last 3 assessments failed on Block 1"
    assert fails[0]["severity"] == 3 and fails[0]["details"]["skill_id"] == "block1"
    assert not any(a["kind"] == "silence" for a in mine)  # active minutes ago
    status = client.get("/mentees/u004/status").json()
    assert status["assessments"]["struggles"][0]["skill_id"] == "block1"


def test_ack_needs_a_key_and_other_methods_are_405(asgi_app, service_env):
    from starlette.testclient import TestClient

    with TestClient(asgi_app, raise_server_exceptions=False) as c:  # no key
        assert c.get("/monitor/alerts").status_code == 200  # reads are open by default
        assert c.post("/monitor/alerts/al-000000000000000000000000/ack", json={}).status_code == 401
        r = c.request("TRACE", "/monitor/alerts")
        assert r.status_code == 405 and r.headers["allow"] == "GET"
        assert c.delete("/mentees/u000/status").status_code == 405


def test_recorded_sessions_are_mentor_contact(client, service_env):
    """A session recorded over POST /sessions is contact: the status and the no-contact alert follow it."""
    import os
    import time

    assigned = client.post("/mentors/assign", json={"user_ids": ["u002"]}).json()["pairs"]
    mentor = assigned[0]["mentor_id"]
    assert mentor
    path = service_env.root / "reports" / "mentor_assignment.csv"
    forty_days_ago = time.time() - 40 * 86400
    os.utime(path, (forty_days_ago, forty_days_ago))

    def contact():
        return client.get("/mentees/u002/status").json()["mentor"]

    def no_contact_alerts():
        return [a for a in client.get("/monitor/alerts", params={"limit": 20000}).json()["alerts"]
                if a["user_id"] == "u002" and a["kind"] == "mentor_no_contact"]
    before = contact()
    assert before["mentor_id"] == mentor and before["days_since_contact"] > 39.9
    assert before["sessions_recent"] == 0 and before["recent_rating"] is None
    # A session 35 days ago: sessions are recorded (so no contact is measured), the last 35 days ago.
    when = lambda d: (datetime.now(timezone.utc) - timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    first = {"session_id": "mc-1", "mentor_id": mentor, "mentee_id": "u002", "started_at": when(35),
             "duration_minutes": 30, "channel": "video", "ratings": {"mentee": 2}}
    assert client.post("/sessions", json={"sessions": [first]}).status_code == 200, "session refused"
    (alert,) = no_contact_alerts()
    assert alert["reason"].startswith("no session with mentor ") and contact()["sessions_recent"] == 1
    assert 34.9 < contact()["days_since_contact"] < 35.1 and contact()["recent_rating"] == 2
    # A session two days ago: contact, and the alert is gone.
    recent = dict(first, session_id="mc-2", started_at=when(2), ratings={"mentee": 4})
    assert client.post("/sessions", json={"sessions": [recent]}).status_code == 200
    now = contact()
    assert 1.9 < now["days_since_contact"] < 2.1 and now["sessions_recent"] == 2 and now["recent_rating"] == 3
    assert no_contact_alerts() == []


def test_forgetting_before_the_monitor_opens_does_not_open_it(service_env):
    """A forget on a service whose monitor is not built yet deletes the stored monitor rows without folding
    the whole log for it; the monitor built afterwards has no status for the mentee."""
    from catalog.alert_store import AlertStore, UnknownAlertError
    from catalog.datadir import DataDir
    from catalog.settings import load_settings
    from serving.app import SkillPathApp

    app = SkillPathApp.from_settings(load_settings(data_dir=service_env.root), model_dir=service_env.model_dir)
    try:
        user = sorted(service_env.user_block)[1]
        with AlertStore(DataDir(service_env.root).events_db) as store:
            store.record([{"alert_id": "al-forget-me", "user_id": user, "kind": "silence", "severity": 2,
                           "reason": "no activity for 16 days"}], now_us=1)
        assert not app._monitor_open
        removed = app.forget(user, actor="test").removed
        assert removed["monitoring"] >= 1 and not app._monitor_open
        with AlertStore(DataDir(service_env.root).events_db) as store, pytest.raises(UnknownAlertError):
            store.get("al-forget-me")
        assert app.monitor is not None and app._monitor_open  # opens later, as usual
    finally:
        app.close()
