"""Entities over HTTP in-process: each kind's lifecycle, If-Match/412, batches, cycles, and changes
applied to the next answer without a restart."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.serving.conftest import API_KEY
from tests.serving.world import RETIRED_ITEM


def _book(item_id: str, skill: str = "block2", **kw) -> dict:
    published = (datetime.now(timezone.utc) - timedelta(days=5)).date().isoformat()
    return {"item_id": item_id, "title": f"Book {item_id}", "type": "book", "skills": [f"{skill}:2"],
            "published_at": published, **kw}


def _rec_ids(client, user: str, **body) -> list[str]:
    r = client.post("/recommend", json={"user_id": user, "k": 100, **body})
    assert r.status_code == 200, r.text
    return [i["item_id"] for i in r.json()["items"]]


def test_resource_lifecycle_versions_412_and_live_catalog(client):
    assert "new-book" not in _rec_ids(client, "u003", goal_skills=["block2"])
    r = client.put("/resources/new-book", json=_book("new-book"))
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.headers["etag"] == '"1"'
    assert client.put("/resources/new-book", json=_book("new-book")).json()["version"] == 1  # idempotent
    got = client.get("/resources/new-book")
    assert got.status_code == 200 and got.json()["entity"]["skills"] == [{"skill": "block2", "level": 2}]
    # recommendable and filterable at once (a cold item placed by its content)
    assert "new-book" in _rec_ids(client, "u003", goal_skills=["block2"])
    assert "new-book" in _rec_ids(client, "u003", types=["book"])
    listed = client.get("/resources", params={"skill": "block2", "limit": 1000}).json()
    assert "new-book" in [i["id"] for i in listed["items"]]
    r = client.patch("/resources/new-book", json={"title": "Better title"}, headers={"if-match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    stale = client.put("/resources/new-book", json=_book("new-book", title="x"), headers={"if-match": '"1"'})
    assert stale.status_code == 412 and "new-book" in stale.json()["error"]
    assert client.get("/resources/new-book").json()["entity"]["title"] == "Better title"
    # DELETE retires: inactive, kept, gone from every answer at once
    r = client.delete("/resources/new-book")
    assert r.status_code == 200 and r.json()["entity"]["active"] is False
    assert "new-book" not in _rec_ids(client, "u003", goal_skills=["block2"])
    assert "new-book" not in _rec_ids(client, "u003", types=["book"])
    assert client.get("/resources/new-book").json()["version"] == 3
    retired = client.get("/resources", params={"active": "false"}).json()["items"]
    assert "new-book" in [i["id"] for i in retired]
    assert all(i["entity"]["active"] is False for i in retired)
    # active=true leaves the retired out (the world's retired item too); no filter lists both, as before
    live = client.get("/resources", params={"skill": "block2", "type": "book", "active": "true", "limit": 1000})
    assert live.status_code == 200 and "new-book" not in [i["id"] for i in live.json()["items"]]
    assert all(i["entity"]["active"] is True for i in live.json()["items"])
    everything = [i["id"] for i in client.get("/resources", params={"limit": 1000}).json()["items"]]
    assert "new-book" in everything and RETIRED_ITEM in everything
    assert RETIRED_ITEM not in [i["id"] for i in client.get("/resources", params={"limit": 1000, "active": "true"})
                                .json()["items"]]
    bad = client.get("/resources", params={"active": "maybe"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("active:")
    log = client.get("/admin/changes", params={"kind": "resources"}).json()["changes"]
    mine = [c for c in log if c["id"] == "new-book"]
    assert [c["op"] for c in mine] == ["put", "patch", "patch"] and mine[0]["actor"].startswith("admin (key ")
    assert API_KEY not in str(log)


def test_writes_need_a_key_and_unknown_ids_are_404(client):
    r = client.put("/resources/x1", json=_book("x1"), headers={"authorization": ""})
    assert r.status_code == 401
    assert client.get("/resources/nope").status_code == 404
    assert client.patch("/mentors/nope", json={"capacity": 2}).status_code == 404


def test_batch_all_or_nothing_with_each_bad_row_named(client):
    before = len(client.get("/resources", params={"limit": 1000}).json()["items"])
    items = [_book("ok-1"), _book("bad-1", skill="astrology"), _book("bad-2", published_at="0999-01-01")]
    r = client.put("/resources", json={"items": items})
    assert r.status_code == 400, r.text
    locs = [d["loc"] for d in r.json()["detail"]]
    assert ["items", 1, "skills"] in locs and ["items", 2, "published_at"] in locs
    assert "astrology" in r.text and "1000-2200" in r.text
    assert len(client.get("/resources", params={"limit": 1000}).json()["items"]) == before
    ok = client.put("/resources", json={"items": [_book(f"b-{n}") for n in range(50)]
                                        + [_book("classic", published_at="1968-01-01")]})
    assert ok.status_code == 200 and ok.json()["stored"] == 51
    too_many = client.put("/resources", json={"items": [_book(f"c-{n}") for n in range(1001)]})
    assert too_many.status_code in (400, 413)


def test_skill_cycle_is_409_naming_it_and_prerequisites_change_paths(client):
    skill = client.get("/skills/block2")
    assert skill.status_code == 200 and skill.headers["etag"] == '"1"'
    body = {"name": "Block 2", "prerequisites": ["block3:2"]}
    r = client.put("/skills/block2", json=body)
    assert r.status_code == 409 and "block2" in r.json()["error"] and "block3" in r.json()["error"]
    r = client.put("/skills/block9", json={"name": "Block 9", "prerequisites": [{"skill": "block3", "level": 2}]})
    assert r.status_code == 200, r.text
    assert client.get("/skills/block9").json()["all_prerequisites"] == ["block2", "block3"]
    assert client.delete("/skills/block2").status_code == 400  # still used
    assert client.delete("/skills/block9").status_code == 204


def test_mentee_goal_change_changes_next_path_and_recommend(client):
    r = client.put("/mentees/newbie", json={"goals": ["block3:4"], "minutes_per_week": 300})
    assert r.status_code == 200, r.text
    path = client.post("/path", json={"user_id": "newbie"})
    assert path.status_code == 200, path.text
    skills = {s["skill"] for s in path.json()["steps"]}
    assert "block3" in skills
    r = client.patch("/mentees/newbie", json={"goals": [{"skill": "block0", "level": 3}]})
    assert r.status_code == 200 and r.json()["version"] == 2
    skills = {s["skill"] for s in client.post("/path", json={"user_id": "newbie"}).json()["steps"]}
    assert skills == {"block0"}
    rec = client.post("/recommend", json={"user_id": "newbie", "k": 5}).json()
    assert rec["fallback"] == "content" and rec["items"][0]["skills"][0].startswith("block0:")
    bad = client.put("/mentees/newbie", json={"goals": ["quantum:3"]})
    assert bad.status_code == 400 and "quantum" in bad.text


def test_capacity_change_changes_next_match(client):
    def mentors_for(user: str) -> list[str]:
        r = client.post("/mentors/match", json={"user_id": user, "k": 5})
        assert r.status_code == 200, r.text
        return [m["mentor_id"] for m in r.json()["mentors"]]

    user = next(u for u in (f"u{n:03d}" for n in range(80)) if "m-c" in mentors_for(u))
    r = client.patch("/mentors/m-c", json={"capacity": 0})
    assert r.status_code == 200, r.text
    assert "m-c" not in mentors_for(user)


def test_forget_a_mentee_leaves_no_trace_and_the_tombstone_holds(client, service_env):
    import pandas as pd

    from catalog.eventlog import EventLog

    user = "u001"
    with EventLog(service_env.root / "events.db") as log:
        old = log.user_events(user)
        log.export_parquet(service_env.root / "exports" / "events.parquet")
    assert len(old) > 0
    r = client.delete(f"/mentees/{user}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["removed"]["events"] == len(old) and body["removed"]["profile"] == 1
    assert body["removed"]["offline_tables"] == len(old) and "next training" in body["note"]
    with EventLog(service_env.root / "events.db") as log:
        assert log.user_events(user).empty and log.count() > 0
    exported = pd.read_parquet(service_env.root / "exports" / "events.parquet")
    assert user not in set(exported["user_id"]) and len(exported) > 0
    assert client.get(f"/mentees/{user}").status_code == 404
    # a replay of their old events is acknowledged and stores nothing
    replay = [{"event_id": e.event_id, "user_id": user, "item_id": e.item_id, "event_type": e.event_type,
               "timestamp": e.timestamp.isoformat()} for e in old.head(5).itertuples()]
    r = client.post("/events", json={"events": replay})
    assert r.status_code == 200 and r.json()["accepted"] == 0, r.text
    with EventLog(service_env.root / "events.db") as log:
        assert log.user_events(user).empty
    ops = [c["op"] for c in client.get("/admin/changes", params={"kind": "mentees"}).json()["changes"]
           if c["id"] == user]
    assert ops == ["import", "forget"]
    again = client.delete(f"/mentees/{user}")  # idempotent: nothing left to remove
    assert again.status_code == 200 and again.json()["removed"]["events"] == 0
    assert client.delete("/mentees/never-seen").status_code == 404


def test_walk_in_mentee_gets_a_path_and_mentors_from_history(client):
    now = datetime.now(timezone.utc).isoformat()
    ev = [{"event_id": f"walk-{n}", "user_id": "walk-in", "item_id": f"b2-i{n + 1:02d}", "event_type": "complete",
           "timestamp": now} for n in range(3)]
    assert client.post("/events", json={"events": ev}).status_code == 200
    path = client.post("/path", json={"user_id": "walk-in"})
    assert path.status_code == 200, path.text
    assert "block2" in {g["skill"] for g in path.json()["goals"]}
    match = client.post("/mentors/match", json={"user_id": "walk-in", "k": 3})
    assert match.status_code == 200, match.text
    assert match.json()["mentors"] and any(s.startswith("block2:") for s in match.json()["next_skills"])
    both = client.post("/path", json={"user_id": "walk-in", "goals": ["block3:3", {"skill": "block0", "level": 2}]})
    assert both.status_code == 200 and {g["skill"] for g in both.json()["goals"]} == {"block3", "block0"}


def test_path_works_before_any_model_is_trained(asgi_app, service_env, monkeypatch, tmp_path):
    from starlette.testclient import TestClient

    monkeypatch.setenv("SKILLPATH_MODEL_DIR", str(tmp_path / "missing"))
    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        assert c.get("/readyz").status_code == 503
        r = c.post("/path", json={"user_id": "u000"})
        assert r.status_code == 200 and r.json()["steps"], r.text
        r = c.post("/recommend", json={"user_id": "u000", "mode": "path"})
        assert r.status_code == 200, r.text
        assert c.post("/recommend", json={"user_id": "u000"}).status_code == 503
