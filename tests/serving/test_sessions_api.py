"""Mentoring sessions over HTTP: record, idempotency, validation, privacy, access by role, feedback, health."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from catalog.datadir import DataDir
from catalog.session_store import SessionStore
from catalog.sessions import MAX_TRANSCRIPT_CHARS
from tests.serving.conftest import API_KEY

SECRET = "my manager is impossible and I am thinking of quitting"
TRANSCRIPT = ("Mentor: How did Block 0 go this week?\n"
              f"Mentee: Badly, {SECRET}. How should I start with Block 1?\n"
              "Mentor: For next week, read the first Block 1 resource and write down two questions.\n"
              "Mentee: I'll do the Block 1 exercise by Friday.")
KEYS = (f"{API_KEY},lead-key:lead,cur-key:curator,me-key:mentee:u000,other-key:mentee:u001,"
        "ma-key:mentor:m-a,mb-key:mentor:m-b")


def _when(days_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def body(sid: str = "s-1", mentor: str = "m-a", mentee: str = "u000", days_ago: float = 3, **kw) -> dict:
    return {"session_id": sid, "mentor_id": mentor, "mentee_id": mentee, "started_at": _when(days_ago),
            "duration_minutes": 45, "channel": "video", **kw}


def _as(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture
def roles(asgi_app, service_env, monkeypatch):
    from starlette.testclient import TestClient

    monkeypatch.setenv("SKILLPATH_API_KEYS", KEYS)
    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        yield c


def test_record_read_back_with_analysis_and_replay(client):
    one = body(transcript=TRANSCRIPT, ratings={"mentee": 4, "mentor": 5}, comments={"mentee": "Useful, thanks!"})
    r = client.post("/sessions", json=one)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0, "session_ids": ["s-1"], "texts_stored": True}
    again = client.post("/sessions", json={"sessions": [one, body("s-2", days_ago=1)]})
    assert again.json()["accepted"] == 1 and again.json()["duplicates"] == 1
    r = client.get("/mentees/u000/sessions")
    assert r.status_code == 200, r.text
    got = r.json()["sessions"]
    assert [s["session_id"] for s in got] == ["s-1", "s-2"]
    s = got[0]
    assert s["texts"] == "included" and s["transcript"] == TRANSCRIPT and s["ratings"] == {"mentee": 4, "mentor": 5}
    a = s["analysis"]
    assert a["talk_balance"]["mentee"] > 0.3 and a["mentee_questions"] == 1
    assert a["sentiment"]["mentee"]["negative"] > 0  # "badly, impossible, quitting"
    assert {"block0", "block1"} <= set(a["skills"])
    assert any(i["owner"] == "mentee" and "block1" in i["skills"] for i in a["action_items"])
    assert got[1]["texts"] == "none" and got[1]["analysis"]["talk_balance"] is None
    mentor = client.get("/mentors/m-a/sessions").json()
    assert mentor["mentor_id"] == "m-a" and len(mentor["sessions"]) == 2


def test_same_id_with_another_body_is_409_naming_it(client):
    assert client.post("/sessions", json=body()).status_code == 200
    r = client.post("/sessions", json={"sessions": [body("s-9"), body(duration_minutes=60)]})
    assert r.status_code == 409, r.text
    assert "'s-1'" in r.json()["error"] and r.json()["detail"][0]["type"] == "session_conflict"
    assert client.get("/mentees/u000/sessions").json()["sessions"][0]["duration_minutes"] == 45
    assert len(client.get("/mentees/u000/sessions").json()["sessions"]) == 1  # s-9 not stored either


def test_unknown_mentor_or_mentee_is_400_naming_them(client):
    r = client.post("/sessions", json={"sessions": [body(), body("s-2", mentor="m-zz", mentee="u-nobody")]})
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert {"loc": ["sessions", 1, "mentor_id"], "msg": "unknown mentor 'm-zz'", "type": "invalid_session"} in detail
    assert any(d["loc"] == ["sessions", 1, "mentee_id"] and "u-nobody" in d["msg"] for d in detail)
    assert client.get("/mentees/u000/sessions").json()["sessions"] == []  # all or nothing
    assert client.get("/mentees/u-nobody/sessions").status_code == 404
    assert client.get("/mentors/m-zz/sessions").status_code == 404
    assert client.get("/pairs/m-zz/u000/health").status_code == 404


def test_bad_fields_are_400_and_a_transcript_over_the_limit_is_413(client):
    r = client.post("/sessions", json=body(channel="pigeon"))
    assert r.status_code == 400 and r.json()["detail"][0]["loc"][:3] == ["sessions", 0, "channel"]
    r = client.post("/sessions", json=body(started_at=_when(-5)))  # five days ahead
    assert r.status_code == 400 and "future" in r.text
    r = client.post("/sessions", json=body(transcript="Mentor: " + "x" * MAX_TRANSCRIPT_CHARS))
    assert r.status_code == 413, r.text
    assert r.json()["detail"][0]["loc"] == ["sessions", 0, "transcript"]
    assert client.post("/sessions", json=body(notes="n" * 20_001)).status_code == 413


def test_writes_need_a_key_and_a_role_allowed_there(roles):
    c = roles
    assert c.post("/sessions", json=body()).status_code == 401
    assert c.post("/sessions", json=body(), headers=_as("me-key")).status_code == 403
    assert c.post("/sessions", json=body(), headers=_as("cur-key")).status_code == 403
    r = c.post("/sessions", json=body(mentor="m-a"), headers=_as("mb-key"))
    assert r.status_code == 403 and r.json()["detail"][0]["loc"] == ["sessions", 0, "mentor_id"]
    assert c.post("/sessions", json=body(transcript=TRANSCRIPT), headers=_as("ma-key")).status_code == 200
    assert c.post("/sessions", json=body("s-2", mentor="m-b", transcript=TRANSCRIPT),
                  headers=_as("lead-key")).status_code == 200


def test_texts_are_read_only_by_the_pair_leads_and_admins(roles):
    c = roles
    c.post("/sessions", json={"sessions": [body(transcript=TRANSCRIPT, comments={"mentee": "ok"}),
                                           body("s-2", mentor="m-b", transcript=TRANSCRIPT),
                                           body("s-3", days_ago=1, comments={"mentor": "Good progress"}),
                                           body("s-4", days_ago=0.5)]},
           headers=_as(API_KEY))

    def texts(key: str, path: str = "/mentees/u000/sessions") -> dict[str, str]:
        r = c.get(path, headers=_as(key))
        assert r.status_code == 200, (key, r.text)
        return {s["session_id"]: s["texts"] for s in r.json()["sessions"]}

    for key in ("me-key", "lead-key", API_KEY):  # s-3 has only a comment, s-4 no text at all
        assert texts(key) == {"s-1": "included", "s-2": "included", "s-3": "included", "s-4": "none"}, key
    # m-a met u000: its own sessions only
    assert texts("ma-key") == {"s-1": "included", "s-2": "withheld", "s-3": "included", "s-4": "none"}
    assert texts("cur-key") == {"s-1": "withheld", "s-2": "withheld", "s-3": "withheld", "s-4": "none"}
    withheld = c.get("/mentees/u000/sessions", headers=_as("cur-key")).json()["sessions"][0]
    assert withheld["transcript"] is None and withheld["comments"] == {"mentee": None, "mentor": None}
    assert all(i["text"] is None for i in withheld["analysis"]["action_items"])
    assert withheld["analysis"]["sentiment"]["mentee"]["sentences"] > 0  # the signals stay
    assert SECRET not in c.get("/mentees/u000/sessions", headers=_as("cur-key")).text
    assert c.get("/mentees/u000/sessions", headers=_as("other-key")).status_code == 403
    assert c.get("/mentees/u001/sessions", headers=_as("ma-key")).status_code == 403  # never met, not assigned
    assert texts("mb-key", "/mentors/m-b/sessions") == {"s-2": "included"}
    assert c.get("/mentors/m-b/sessions", headers=_as("ma-key")).status_code == 403
    assert c.get("/mentors/m-a/sessions", headers=_as("me-key")).status_code == 403
    assert c.get("/mentors/m-a/feedback", headers=_as("mb-key")).status_code == 403
    assert c.get("/pairs/m-a/u000/health", headers=_as("ma-key")).status_code == 200
    assert c.get("/pairs/m-a/u000/health", headers=_as("me-key")).status_code == 403


def test_store_text_off_keeps_only_the_signals(asgi_app, service_env, monkeypatch):
    from starlette.testclient import TestClient

    monkeypatch.setenv("SKILLPATH_SESSIONS__STORE_TEXT", "false")
    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        c.headers.update(_as(API_KEY))
        r = c.post("/sessions", json=body(transcript=TRANSCRIPT, notes=f"Notes: {SECRET}"))
        assert r.status_code == 200 and r.json()["texts_stored"] is False
        s = c.get("/mentees/u000/sessions").json()["sessions"][0]
        assert s["texts"] == "not_stored" and s["transcript"] is None and s["notes"] is None
        a = s["analysis"]
        assert a["has_text"] and a["talk_balance"]["mentee"] > 0.3 and "block1" in a["skills"]
        assert a["action_items"] and all(i["text"] is None for i in a["action_items"] if i["source"] == "detected")
        assert c.post("/sessions", json=body(transcript=TRANSCRIPT, notes=f"Notes: {SECRET}")).json()["duplicates"] == 1
        assert c.get("/pairs/m-a/u000/health").json()["sessions"] == 1
    db = DataDir(service_env.root).events_db
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"impossible" not in db.read_bytes()


def test_feedback_and_pair_health(client):
    plain = "Mentor: How are things?\nMentee: Fine. Work was busy.\nMentor: Good to hear."
    client.post("/sessions", json={"sessions": [body(f"s-{k}", days_ago=40 - 12 * k, transcript=plain,
                                                     ratings={"mentee": 3}) for k in range(3)]})
    r = client.get("/pairs/m-a/u000/health")
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["sessions"] == 3 and 0 <= h["score"] <= 1 and h["status"] in ("healthy", "watch", "at risk")
    assert {s["name"] for s in h["signals"]} == {"cadence", "ratings", "sentiment", "engagement", "follow_through",
                                                 "progress", "duration"}
    assert "3 sessions without an action item" in h["feedback"]
    fb = client.get("/mentors/m-a/feedback").json()
    assert fb["mentor_id"] == "m-a" and [p["mentee_id"] for p in fb["pairs"]] == ["u000"]
    assert fb["pairs"][0]["feedback"] == h["feedback"] and fb["pairs"][0]["score"] == h["score"]
    none = client.get("/pairs/m-b/u000/health").json()
    assert none["status"] == "no data" and none["score"] is None and none["sessions"] == 0
    assert client.get("/mentors/m-b/feedback").json()["pairs"] == []


def test_forgetting_a_mentee_removes_their_sessions(client, service_env):
    client.post("/sessions", json={"sessions": [body(), body("s-2", mentee="u001")]})
    with SessionStore(DataDir(service_env.root).events_db) as store:
        assert store.forget_user("u000") == 1
    assert client.get("/mentees/u000/sessions").json()["sessions"] == []
    assert [s["mentee_id"] for s in client.get("/mentors/m-a/sessions").json()["sessions"]] == ["u001"]


def test_texts_are_never_logged(client, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    ok = body(transcript=TRANSCRIPT, notes=SECRET, comments={"mentee": SECRET})
    assert client.post("/sessions", json=ok).status_code == 200
    assert client.post("/sessions", json={**ok, "duration_minutes": 50}).status_code == 409
    assert client.post("/sessions", json=body("s-2", transcript=f"Mentee: {SECRET}. " * 5000)).status_code == 413
    assert client.post("/sessions", json=body("s-3", mentee="u-ghost", notes=SECRET)).status_code == 400
    client.get("/mentees/u000/sessions")
    client.get("/pairs/m-a/u000/health")
    assert caplog.records and SECRET not in caplog.text


def test_delete_mentee_forgets_their_sessions_and_monitor_alerts(client, service_env):
    """DELETE /mentees/{id} reaches every store registered as a forgetter (sessions, monitoring)."""
    client.post("/sessions", json={"sessions": [body(), body("s-2", mentee="u001")]})
    r = client.delete("/mentees/u000")
    assert r.status_code == 200, r.text
    assert r.json()["removed"].get("sessions") == 1
    assert "monitoring" in r.json()["removed"]
    assert [s["mentee_id"] for s in client.get("/mentors/m-a/sessions").json()["sessions"]] == ["u001"]
    alerts = client.get("/monitor/alerts").json()
    assert all(a["user_id"] != "u000" for a in alerts.get("alerts", []))
