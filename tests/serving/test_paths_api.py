"""Learning-path endpoints in-process: /path, /recommend in mode path, /skills/{id}.

In the served world block 3's skill needs block 2's at level 2; block-3 mentees (u003,
u007, ...) aim at block3:4 and start at block3:1 with nothing in block 2.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from catalog.eventlog import EventLog
from recommender.paths.replan import PRACTICE_SPACING_DAYS, PRACTICE_TYPES


def _path(client, **body) -> dict:
    r = client.post("/path", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _skills(resp: dict) -> list[str]:
    return [s["skill"] for s in resp["steps"]]


def test_path_puts_prerequisites_first_and_scores_with_the_model(client, service_env):
    resp = _path(client, user_id="u003", max_steps=12)
    assert resp["scores_from"] == "model" and resp["model_version"].startswith("local:")
    assert [g["skill"] for g in resp["goals"]] == ["block3"] and resp["goals"][0]["level"] == 4
    skills = _skills(resp)
    assert "block2" in skills and "block3" in skills
    assert max(i for i, s in enumerate(skills) if s == "block2") < skills.index("block3")
    assert all(s["level"] <= 2 for s in resp["steps"] if s["skill"] == "block2")
    assert "prerequisite of Block 3" in resp["steps"][0]["reasons"]
    assert len(resp["steps"]) <= 12 and [s["step"] for s in resp["steps"]] == list(range(1, len(skills) + 1))
    etas = [s["eta"] for s in resp["steps"]]
    assert etas == sorted(etas)
    assert set(resp["mastery"]) >= {"block2", "block3"}


def test_path_never_plans_completed_or_dismissed_items(client, service_env):
    user = "u003"
    first = _path(client, user_id=user)["steps"][0]["item_id"]
    r = client.post("/events", json={"events": [
        {"event_id": "p-dis", "user_id": user, "item_id": first, "event_type": "dismiss",
         "timestamp": datetime.now(timezone.utc).isoformat()}]})
    assert r.status_code == 200
    with EventLog(service_env.root / "events.db") as log:
        ev = log.user_events(user)
    done = set(ev.loc[ev["event_type"].isin(["complete", "dismiss", "assess"]), "item_id"])
    assert first in done and len(done) > 1
    # practice (exercises, quizzes) last done at least PRACTICE_SPACING_DAYS ago may come back
    world = service_env.world
    last = pd.to_datetime(ev.groupby("item_id")["timestamp"].max(), utc=True)
    spaced = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=PRACTICE_SPACING_DAYS)
    dismissed = set(ev.loc[ev["event_type"] == "dismiss", "item_id"])
    due = {i for i in done - dismissed if world.catalog.resources[world.catalog.items.index(i)].type
           in PRACTICE_TYPES and last[i] <= spaced}
    items = {s["item_id"] for s in _path(client, user_id=user, max_steps=50)["steps"]}
    assert items and not items & (done - due)
    assert first not in items  # dismissed: never again


def test_replanning_after_a_completion(client, service_env):
    user = "u011"  # a block-3 mentee whose path is not empty
    before = _path(client, user_id=user)
    first = before["steps"][0]
    r = client.post("/events", json={"events": [
        {"event_id": "p-done", "user_id": user, "item_id": first["item_id"], "event_type": "complete",
         "timestamp": datetime.now(timezone.utc).isoformat()}]})
    assert r.status_code == 200
    after = _path(client, user_id=user)
    assert first["item_id"] not in {s["item_id"] for s in after["steps"]}
    assert [s["item_id"] for s in after["steps"]] != [s["item_id"] for s in before["steps"]]


def test_unknown_goal_skills_are_a_400_naming_them(client, service_env):
    r = client.post("/path", json={"user_id": "u003", "goals": [{"skill": "block1"}, {"skill": "nope-1"},
                                                              {"skill": "nope-2", "level": 2}]})
    assert r.status_code == 400
    body = r.json()
    assert "'nope-1'" in body["error"] and "'nope-2'" in body["error"] and body["detail"][0]["loc"] == ["goals"]
    r = client.post("/path", json={"user_id": "u003", "goals": [{"skill": "block1", "level": 6}]})
    assert r.status_code == 400 and "level" in r.json()["error"]
    r = client.post("/recommend", json={"user_id": "u003", "mode": "path", "goal_skills": ["nope-3"]})
    assert r.status_code == 400 and "'nope-3'" in r.json()["error"]


def test_explicit_goals_and_mentees_without_a_profile(client, service_env):
    resp = _path(client, user_id="u000", goals=[{"skill": "block1", "level": 2}], max_steps=5)
    assert [g["skill"] for g in resp["goals"]] == ["block1"] and set(_skills(resp)) == {"block1"}
    r = client.post("/path", json={"user_id": "stranger-9"})
    assert r.status_code == 400 and "stranger-9" in r.json()["error"] and "goals" in r.json()["error"]
    cold = _path(client, user_id="stranger-9", goals=[{"skill": "block3", "level": 3}])
    assert cold["scores_from"] == "content" and _skills(cold)[0] == "block2"


def test_steps_name_a_mentor_who_can_help(client, service_env):
    steps = _path(client, user_id="u003", max_steps=12)["steps"]
    for s in steps:
        m = s["mentor"]
        assert m is not None and m["assigned"] is False
        # block 2 at level <= 2: m-c (block2:5) or m-b (block2:3); block 3 at level <= 4: m-d or m-e
        assert m["mentor_id"] in ({"m-b", "m-c"} if s["skill"] == "block2" else {"m-d", "m-e"})
        assert "can help with Block" in m["reason"]
    assigned = client.post("/mentors/assign", json={"user_ids": ["u003"]}).json()
    mine = assigned["pairs"][0]["mentor_id"]
    steps = _path(client, user_id="u003", max_steps=12)["steps"]
    own = [s for s in steps if s["mentor"]["assigned"]]
    assert own and all(s["mentor"]["mentor_id"] == mine for s in own)
    assert all(s["mentor"]["reason"].startswith("your mentor") for s in own)


def test_recommend_in_path_mode(client, service_env):
    path = _path(client, user_id="u003")
    resp = client.post("/recommend", json={"user_id": "u003", "k": 10, "mode": "path"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["mode"] == "path" and body["fallback"] is None
    assert [i["item_id"] for i in body["items"]] == [s["item_id"] for s in path["steps"][:5]]
    for n, item in enumerate(body["items"], start=1):
        assert set(item) == {"item_id", "title", "type", "score", "freshness", "skills", "reasons"}
        assert item["reasons"][0] == f"step {n} of your path to Block 3"
        assert any("can help with" in r for r in item["reasons"])
    three = client.post("/recommend", json={"user_id": "u003", "k": 3, "mode": "path"}).json()
    assert len(three["items"]) == 3
    videos = client.post("/recommend", json={"user_id": "u003", "k": 5, "mode": "path", "types": ["video"]}).json()
    assert videos["items"] and all(i["type"] == "video" for i in videos["items"])
    assert client.post("/recommend", json={"user_id": "u003", "k": 3}).json()["mode"] == "hybrid"


def test_skills_route(client, service_env):
    r = client.get("/skills/block3")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["prerequisites"] == [{"skill_id": "block2", "name": "Block 2", "level": 2}]
    assert body["dependents"] == [] and body["all_prerequisites"] == ["block2"] and body["resources"] == 12
    dep = client.get("/skills/block2").json()
    assert dep["dependents"] == [{"skill_id": "block3", "name": "Block 3", "level": 2}]
    missing = client.get("/skills/no-such-skill")
    assert missing.status_code == 404 and "no-such-skill" in missing.json()["error"]
    assert client.get("/skills/bad id!").status_code in (400, 404)
