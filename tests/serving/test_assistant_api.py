"""``POST /assistant`` in-process: every intent, multi-turn refinement, grounding, set_goal, errors, privacy."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from catalog.loaders import load_world
from tests.serving.conftest import API_KEY
from tests.serving.world import STALE_ITEMS

USER = "u003"  # goal: Block 3 at level 4 (Block 3 needs Block 2 at level 2)


def ask(client, message: str, conversation_id: str | None = None, user_id: str = USER, **headers) -> dict[str, Any]:
    body = {"user_id": user_id, "message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    r = client.post("/assistant", json=body, headers=headers or None)
    assert r.status_code == 200, r.text
    return r.json()


def assert_grounded(resp: dict[str, Any], root) -> None:
    """Every id of every card exists in the served data, and every resource title shown is a card's."""
    world = load_world(root)
    cat = world.catalog
    items, skills = set(cat.items.ids.tolist()), set(cat.skills)
    for c in resp["cards"]:
        if c["kind"] in ("resource", "step"):
            assert c["item_id"] in items and c["title"] == cat.resource(c["item_id"]).title
            assert c["title"] in resp["text"]
        if c["kind"] == "resource":
            assert c["skills"] == [f"{s.skill_id}:{s.level}" for s in cat.resource(c["item_id"]).skills]
        if c["kind"] == "step":
            assert c["skill_id"] in skills and (c["mentor_id"] is None or c["mentor_id"] in world.mentors)
        if c["kind"] == "mentor":
            assert c["mentor_id"] in world.mentors and c["name"] == world.mentors[c["mentor_id"]].name
            assert set(c["skills"]) <= skills and c["name"] in resp["text"]
        if c["kind"] in ("skill", "goal"):
            assert c["skill_id"] in skills
        if c["kind"] == "progress":
            assert {g["skill_id"] for g in c["goals"]} <= skills


def test_next_step_is_the_recommend_answer(client, service_env):
    resp = ask(client, "what should I do next?")
    assert resp["intent"] == "next_step" and resp["understood"] and resp["text_source"] == "grounded"
    rec = client.post("/recommend", json={"user_id": USER, "k": 5}).json()
    assert [c["item_id"] for c in resp["cards"]] == [i["item_id"] for i in rec["items"]]
    assert [c["reasons"] for c in resp["cards"]] == [i["reasons"] for i in rec["items"]]
    assert_grounded(resp, service_env.root)


def test_next_step_filters(client, service_env):
    resp = ask(client, "what video should I watch next for Block 2?")
    assert resp["intent"] == "next_step" and resp["entities"]["types"] == ["video"]
    assert resp["cards"] and all(c["type"] == "video" and c["skills"][0].startswith("block2:") for c in resp["cards"])


def test_path_is_the_path_answer(client, service_env):
    resp = ask(client, "how do I get to Block 3 level 4?")
    assert resp["intent"] == "path" and resp["entities"]["skills"] == ["block3"]
    plan = client.post("/path", json={"user_id": USER, "goals": [{"skill": "block3", "level": 4}],
                                      "max_steps": 20}).json()
    assert [c["item_id"] for c in resp["cards"]] == [s["item_id"] for s in plan["steps"][:5]]
    assert resp["cards"][0]["kind"] == "step" and resp["cards"][0]["skill_id"] == "block2"  # prerequisite first
    assert f"{plan['total_steps']} step" in resp["text"]
    assert_grounded(resp, service_env.root)


def test_explain_an_item_then_a_step_then_a_skill(client, service_env):
    first = ask(client, "what should I do next?")
    second = first["cards"][1]
    why = ask(client, "why the second one?", first["conversation_id"])
    assert why["intent"] == "explain" and why["entities"]["item_id"] == second["item_id"]
    assert [c["item_id"] for c in why["cards"]] == [second["item_id"]]
    assert all(r in why["text"] for r in second["reasons"])
    path = ask(client, "how do I get to Block 3 level 4?", first["conversation_id"])
    step = ask(client, "why the first one?", path["conversation_id"])
    assert step["cards"][0]["kind"] == "step" and step["cards"][0]["item_id"] == path["cards"][0]["item_id"]
    assert "prerequisite of Block 3" in step["text"]
    skill = ask(client, "what is Block 3?")
    assert skill["intent"] == "explain" and skill["cards"][0]["kind"] == "skill"
    assert skill["cards"][0]["prerequisites"] == [{"skill_id": "block2", "name": "Block 2", "level": 2}]
    assert "needs Block 2 at level 2" in skill["text"]


def test_search_and_multi_turn_refinement(client, service_env):
    first = ask(client, "find me resources on Block 2")
    assert first["intent"] == "search" and first["entities"]["skills"] == ["block2"] and len(first["cards"]) == 5
    assert all(c["skills"][0].startswith("block2:") for c in first["cards"])
    cid = first["conversation_id"]
    easier = ask(client, "only beginner stuff", cid)  # refines the last search, in the same conversation
    assert easier["intent"] == "search" and easier["conversation_id"] == cid
    assert easier["entities"]["level"] == [1, 2] and easier["entities"]["skills"] == ["block2"]
    assert easier["cards"] and all(int(c["skills"][0].split(":")[1]) <= 2 for c in easier["cards"])
    assert {c["type"] for c in easier["cards"]} == {"article", "video"}
    videos = ask(client, "what about videos?", cid)
    assert videos["entities"]["types"] == ["video"] and videos["entities"]["level"] == [1, 2]
    assert sorted(c["item_id"] for c in videos["cards"]) == ["b2-i01", "b2-i06", "b2-i11"]
    other = ask(client, "what about Block 3?", cid)  # a new topic, the filters kept
    assert other["intent"] == "search" and other["entities"]["skills"] == ["block3"]
    assert sorted(c["item_id"] for c in other["cards"]) == ["b3-i01", "b3-i06", "b3-i11"]
    shorter = ask(client, "and shorter ones?", cid)  # every block-world resource takes 30 minutes
    assert shorter["entities"]["max_minutes"] == 20 and shorter["cards"] == []
    assert shorter["text"].startswith("I found no videos on Block 3")
    for r in (first, easier, videos, other):
        assert_grounded(r, service_env.root)


def test_progress(client, service_env):
    resp = ask(client, "how am I doing?")
    assert resp["intent"] == "progress" and [c["kind"] for c in resp["cards"]] == ["progress"]
    card = resp["cards"][0]
    plan = client.post("/path", json={"user_id": USER}).json()
    assert [g["skill_id"] for g in card["goals"]] == [g["skill"] for g in plan["goals"]] == ["block3"]
    assert card["goals"][0]["mastery"] == plan["mastery"]["block3"] and card["goals"][0]["target_level"] == 4
    from catalog.eventlog import EventLog

    with EventLog(service_env.root / "events.db") as log:
        ev = log.user_events(USER)
    assert card["completed"] == ev.loc[ev["event_type"] == "complete", "item_id"].nunique()
    assert f"completed {card['completed']} resource" in resp["text"]


def test_mentor_for_a_skill_and_for_the_next_skills(client, service_env):
    resp = ask(client, "who can help me with Block 3?")
    assert resp["intent"] == "mentor"
    assert [c["mentor_id"] for c in resp["cards"]] == ["m-d", "m-e"]  # the only mentors who know Block 3 at 4
    assert all(c["skills"] == ["block3"] for c in resp["cards"])
    assert_grounded(resp, service_env.root)
    general = ask(client, "who could mentor me?")
    match = client.post("/mentors/match", json={"user_id": USER, "k": 5}).json()
    helpful = [m["mentor_id"] for m in match["mentors"] if m["covered_skills"] or m["partial_skills"]]
    assert [c["mentor_id"] for c in general["cards"]] == helpful


def test_stale(client, service_env):
    one = ask(client, f"is {STALE_ITEMS[1]} outdated?")
    assert one["intent"] == "stale" and one["cards"][0]["item_id"] == STALE_ITEMS[1]
    assert one["cards"][0]["stale"] is True and "outdated" in one["text"]
    fresh = ask(client, "is b2-i03 still current?")
    assert fresh["cards"][0]["stale"] is False and "still current" in fresh["text"]
    skill = ask(client, "is the Block 0 material outdated?")
    assert {c["item_id"] for c in skill["cards"]} <= set(STALE_ITEMS) and len(skill["cards"]) == 5


def test_help_and_not_understood(client, service_env):
    helped = ask(client, "what can you do?")
    assert helped["intent"] == "help" and helped["understood"] and "Here is what I can do" in helped["text"]
    lost = ask(client, "what's for lunch today")
    assert lost["intent"] == "help" and not lost["understood"] and lost["cards"] == []
    assert lost["text"].startswith("I did not understand")


def _stored_goals(client) -> list[tuple[str, int]]:
    r = client.get(f"/mentees/{USER}")
    assert r.status_code == 200, r.text
    return [(g["skill"], g["level"]) for g in r.json()["entity"]["goals"]]


def test_set_goal_asks_first_then_writes_the_profile(client, service_env):
    proposal = ask(client, "set my goal to Block 2 level 4")
    assert proposal["intent"] == "set_goal" and proposal["needs_confirmation"]
    assert proposal["cards"] == [{"kind": "goal", "skill_id": "block2", "name": "Block 2", "level": 4,
                                  "deadline": None, "saved": False}]
    assert "block2" not in [g for g, _ in _stored_goals(client)]
    done = ask(client, "yes", proposal["conversation_id"])
    assert done["intent"] == "set_goal" and done["cards"][0]["saved"] is True and done["text"].startswith("Done")
    assert _stored_goals(client) == [("block3", 4), ("block2", 4)]  # in the entity store, for every worker
    plan = client.post("/path", json={"user_id": USER}).json()  # the next answer plans for the new goal
    assert {g["skill"] for g in plan["goals"]} == {"block2", "block3"}
    again = ask(client, "yes", proposal["conversation_id"])  # nothing is pending any more
    assert again["intent"] == "help" and not again["understood"]


def test_set_goal_no_and_without_a_write_key(client, service_env):
    proposal = ask(client, "set my goal to Block 1 level 2")
    no = ask(client, "no", proposal["conversation_id"])
    assert no["text"] == "OK, your goals stay as they are." and no["cards"] == []
    del client.headers["authorization"]  # reads are open: anyone may ask, only a key holder may write
    proposal = ask(client, "set my goal to Block 1 level 2")
    yes = ask(client, "yes", proposal["conversation_id"])
    assert yes["cards"][0]["saved"] is False and "API key" in yes["text"]
    client.headers["authorization"] = f"Bearer {API_KEY}"
    assert "block1" not in [g for g, _ in _stored_goals(client)]


def test_a_mentee_without_a_profile(client, service_env):
    cold = ask(client, "what should I do next?", user_id="newcomer")
    assert cold["intent"] == "next_step" and len(cold["cards"]) == 5  # the cold start, as /recommend
    for message in ("how am I doing?", "how do I reach my goals?", "who can mentor me?", "set my goal to Block 1"):
        resp = ask(client, message, user_id="newcomer")
        assert resp["cards"] == [] and resp["text"].startswith("I have no profile for you"), message
    named = ask(client, "how do I get to Block 1 level 2?", user_id="newcomer")  # a named goal needs no profile
    assert named["intent"] == "path" and named["cards"]


def test_conversations_belong_to_one_mentee(client, service_env):
    first = ask(client, "is there a video on Block 2?")
    r = client.post("/assistant", json={"user_id": "u004", "message": "and shorter ones?",
                                        "conversation_id": first["conversation_id"]})
    assert r.status_code == 400 and r.json()["detail"][0]["loc"] == ["conversation_id"]
    unknown = client.post("/assistant", json={"user_id": USER, "message": "and shorter ones?",
                                              "conversation_id": "A" * 22})
    assert unknown.status_code == 400 and unknown.json()["error"] == r.json()["error"]  # the same answer: no hint
    assert ask(client, "and in Spanish?", first["conversation_id"])["entities"]["language"] == "es"


@pytest.mark.parametrize("body, loc", [
    ({"user_id": USER, "message": ""}, ["message"]),
    ({"user_id": USER, "message": "   \n "}, ["message"]),
    ({"user_id": USER, "message": "x" * 2001}, ["message"]),
    ({"user_id": USER}, ["message"]),
    ({"user_id": USER, "message": 42}, ["message"]),
    ({"user_id": "bad id!", "message": "hi"}, ["user_id"]),
    ({"user_id": USER, "message": "hi", "conversation_id": "../../etc"}, ["conversation_id"]),
    ({"user_id": USER, "message": "hi", "mood": "happy"}, ["mood"]),
])
def test_bad_bodies_are_400_naming_the_field(client, service_env, body, loc):
    r = client.post("/assistant", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["detail"][0]["loc"] == loc and r.json()["error"].startswith(loc[0])


def test_a_long_message_within_the_limit_is_answered(client, service_env):
    text = ("what should I do next? " * 100)[:2000]
    assert ask(client, text)["intent"] == "next_step"


def test_protect_reads_needs_a_key(asgi_app, service_env, monkeypatch):
    from starlette.testclient import TestClient

    monkeypatch.setenv("SKILLPATH_PROTECT_READS", "true")
    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        assert c.post("/assistant", json={"user_id": USER, "message": "what next?"}).status_code == 401


@pytest.mark.parametrize("enabled", [False, True])
def test_messages_are_logged_only_when_enabled(asgi_app, service_env, monkeypatch, caplog, enabled):
    from starlette.testclient import TestClient

    monkeypatch.setenv("SKILLPATH_ASSISTANT__LOG_MESSAGES", "true" if enabled else "false")
    secret = "is there a video on Block 2 for my secret-project-zebra?"
    with caplog.at_level(logging.DEBUG), TestClient(asgi_app, raise_server_exceptions=False) as c:
        assert c.post("/assistant", json={"user_id": USER, "message": secret}).status_code == 200
    assert ("secret-project-zebra" in caplog.text) is enabled
