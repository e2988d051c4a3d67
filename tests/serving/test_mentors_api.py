"""The mentor endpoints in-process: ranking, unknown ids, keys, capacities, the persisted file."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pandas as pd

from tests.serving.world import MENTORS


def _post(client, path: str, **body):
    r = client.post(path, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _capacity_respected(pairs: list[dict]) -> None:
    load = Counter(p["mentor_id"] for p in pairs if p["mentor_id"])
    for mid, n in load.items():
        assert n <= MENTORS[mid][1], (mid, n)


def test_match_ranks_mentors_who_cover_the_goal_first(client, service_env):
    resp = _post(client, "/mentors/match", user_id="u000", k=3)  # u000 needs block0 at level 4
    assert resp["user_id"] == "u000" and resp["next_skills"] == ["block0:4"]
    assert resp["assigned_mentor_id"] is None
    top = resp["mentors"][0]
    assert top["mentor_id"] == "m-a" and top["rank"] == 1 and top["coverage"] == 1.0
    assert top["covered_skills"] == ["block0"] and top["free_places"] == 2
    assert top["reasons"][0] == "covers your next skill: Block 0"
    scores = [m["score"] for m in resp["mentors"]]
    assert scores == sorted(scores, reverse=True) and len(resp["mentors"]) == 3
    # m-e knows block0 at level 3 only: one level short of the goal, half credit
    e = [m for m in resp["mentors"] if m["mentor_id"] == "m-e"]
    assert e and e[0]["partial_skills"] == ["block0"] and e[0]["coverage"] == 0.5


def test_match_needs_include_unmet_prerequisites(client, service_env):
    resp = _post(client, "/mentors/match", user_id="u003", k=5)  # goal block3:4, which needs block2:2
    assert resp["next_skills"] == ["block2:2", "block3:4"]
    by_id = {m["mentor_id"]: m for m in resp["mentors"]}
    assert by_id["m-d"]["covered_skills"] == ["block3"] and by_id["m-d"]["coverage"] == 0.5
    assert by_id["m-c"]["covered_skills"] == ["block2"]


def test_match_unknown_mentee_is_a_400_naming_it(client, service_env):
    r = client.post("/mentors/match", json={"user_id": "nobody-1"})
    assert r.status_code == 400
    body = r.json()
    assert "nobody-1" in body["error"] and body["detail"][0]["loc"] == ["user_id"]
    assert "has events" not in body["error"]


def test_match_mentee_with_events_but_no_profile_infers_needs(client, service_env):
    """Never a dead end (issue 15): needs come from the skills of their history."""
    now = datetime.now(timezone.utc).isoformat()
    ev = {"events": [{"event_id": "ghost-1", "user_id": "ghost", "item_id": "b0-i07", "event_type": "view",
                      "timestamp": now}]}
    assert client.post("/events", json=ev).status_code == 200
    r = client.post("/mentors/match", json={"user_id": "ghost"})
    assert r.status_code == 200, r.text
    assert any(s.startswith("block0:") for s in r.json()["next_skills"]) and r.json()["mentors"]
    r = client.post("/mentors/match", json={"user_id": "nobody-at-all"})
    assert r.status_code == 400 and "nobody-at-all" in r.json()["error"]


def test_match_validates_k(client, service_env):
    for k in (0, 51):
        r = client.post("/mentors/match", json={"user_id": "u000", "k": k})
        assert r.status_code == 400 and r.json()["error"].startswith("k: ")


def test_assign_needs_a_key(client, service_env):
    r = client.post("/mentors/assign", json={}, headers={"authorization": ""})
    assert r.status_code == 401
    r = client.post("/mentors/assign", json={}, headers={"authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert not (service_env.root / "reports" / "mentor_assignment.csv").exists()


def test_assign_all_respects_capacity_and_persists(client, service_env):
    resp = _post(client, "/mentors/assign")
    places = sum(cap for _, cap in MENTORS.values())
    q = resp["quality"]
    assert resp["method"] == "optimal" and q["mentees"] == 80 and q["matched"] == places
    assert q["unmatched"] == 80 - places and q["utilisation"] == 1.0
    assert len(resp["pairs"]) == 80
    _capacity_respected(resp["pairs"])
    # with 20 mentees per block, every place goes to a mentee whose needs the mentor covers
    assert all(p["coverage"] > 0 for p in resp["pairs"] if p["mentor_id"])
    assert q["uncovered_mentees"] == 0
    path = service_env.root / resp["persisted"]
    assert resp["persisted"] == "reports/mentor_assignment.csv" and path.exists()
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(df.columns) == ["user_id", "mentor_id", "mentor", "score", "coverage", "needs"]
    assert len(df) == 80 and (df["mentor_id"] != "").sum() == places
    # /mentors/match now counts those places as taken: every mentor is full
    after = _post(client, "/mentors/match", user_id="u001", k=5)
    assert after["mentors"] == [] or after["assigned_mentor_id"] is not None


def test_assign_subset_keeps_the_others_and_their_places(client, service_env):
    first = _post(client, "/mentors/assign", user_ids=["u000", "u004", "u001"], method="greedy")
    assert {p["user_id"]: p["mentor_id"] for p in first["pairs"]} == {"u000": "m-a", "u004": "m-a", "u001": "m-b"}
    # m-a is full now: a third block-0 mentee goes to m-e (block0 at level 3), never to m-a
    second = _post(client, "/mentors/assign", user_ids=["u008"])
    assert second["pairs"][0]["mentor_id"] == "m-e" and second["persisted_rows"] == 4
    df = pd.read_csv(service_env.root / "reports" / "mentor_assignment.csv", dtype=str, keep_default_na=False)
    assert dict(zip(df["user_id"], df["mentor_id"])) == {"u000": "m-a", "u001": "m-b", "u004": "m-a", "u008": "m-e"}
    _capacity_respected(df.to_dict("records"))
    match = _post(client, "/mentors/match", user_id="u000", k=5)
    assert match["assigned_mentor_id"] == "m-a"
    assert "m-a" in {m["mentor_id"] for m in match["mentors"]}  # u000's own place does not count against it
    other = _post(client, "/mentors/match", user_id="u012", k=5)
    assert "m-a" not in {m["mentor_id"] for m in other["mentors"]}


def test_assign_random_is_seeded(client, service_env):
    a = _post(client, "/mentors/assign", method="random", seed=3)
    b = _post(client, "/mentors/assign", method="random", seed=3)
    assert a["pairs"] == b["pairs"] and a["quality"]["method"] == "random"
    _capacity_respected(a["pairs"])


def test_assign_unknown_ids_are_a_400_naming_all(client, service_env):
    r = client.post("/mentors/assign", json={"user_ids": ["u000", "zz-1", "zz-2"]})
    assert r.status_code == 400
    body = r.json()
    assert "'zz-1'" in body["error"] and "'zz-2'" in body["error"] and body["detail"][0]["loc"] == ["user_ids"]
    r = client.post("/mentors/assign", json={"method": "best"})
    assert r.status_code == 400 and r.json()["error"].startswith("method: ")


def test_rematch_cli_reads_the_persisted_assignment(client, service_env):
    from click.testing import CliRunner

    from skillpath_cli.main import cli

    import json

    resp = _post(client, "/mentors/assign", method="random", seed=1)
    res = CliRunner().invoke(cli, ["--data-dir", str(service_env.root), "mentors", "rematch", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    # random ignores skills: some mentees got a mentor who covers none of their goal
    mentor_of = {p["user_id"]: p["mentor_id"] for p in resp["pairs"]}
    assert rows and all(mentor_of[r["user_id"]] == r["mentor_id"] and r["coverage"] < 1 / 3 for r in rows)
