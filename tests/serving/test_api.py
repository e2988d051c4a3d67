"""The HTTP API in-process: shapes, filters, cold start, adaptation, errors."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.serving.world import RETIRED_ITEM, STALE_ITEMS


def _recommend(client, **body):
    """``/recommend`` in mode ``model`` unless ``mode`` is given (these tests pin the model mode's rules)."""
    r = client.post("/recommend", json={"mode": "model", **body})
    assert r.status_code == 200, r.text
    return r.json()


def _ids(resp) -> list[str]:
    return [i["item_id"] for i in resp["items"]]


def _events(user: str, pairs: list[tuple[str, str]], prefix: str = "t") -> dict:
    now = datetime.now(timezone.utc).isoformat()
    return {"events": [{"event_id": f"{prefix}-{user}-{n}", "user_id": user, "item_id": item, "event_type": et,
                        "timestamp": now} for n, (item, et) in enumerate(pairs)]}


def test_recommend_shape_and_reasons(client, service_env):
    resp = _recommend(client, user_id="u000", k=5)
    assert resp["user_id"] == "u000" and resp["user_known"] is True and resp["fallback"] is None
    assert resp["model_version"].startswith("local:")
    assert len(resp["items"]) == 5
    scores = [i["score"] for i in resp["items"]]
    assert scores == sorted(scores, reverse=True)
    for item in resp["items"]:
        assert set(item) == {"item_id", "title", "type", "score", "freshness", "skills", "reasons"}
        assert 0.1 <= item["freshness"] <= 1.0
        assert any(r.startswith(("updated ", "published ")) for r in item["reasons"])
        goal = [r for r in item["reasons"] if r.startswith("fits your goal")]
        # u000's goal is block 0: the goal reason appears exactly on block-0 items
        assert bool(goal) == item["skills"][0].startswith("block0:")


def test_never_returns_seen_dismissed_inactive_excluded_or_stale(client, service_env):
    from catalog.eventlog import EventLog

    user = "u001"
    with EventLog(service_env.root / "events.db") as log:
        ev = log.user_events(user)
    seen = set(ev.loc[ev["event_type"] != "impression", "item_id"])
    first = _ids(_recommend(client, user_id=user, k=30))
    r = client.post("/events", json=_events(user, [(first[0], "dismiss")]))
    assert r.status_code == 200, r.text
    resp = _recommend(client, user_id=user, k=100, exclude_item_ids=[first[1]])
    got = set(_ids(resp))
    assert got and not got & seen
    assert first[0] not in got and first[1] not in got
    assert RETIRED_ITEM not in got
    assert not got & set(STALE_ITEMS)
    # include_stale lets stale (still decayed) items back in, never the inactive one
    with_stale = set(_ids(_recommend(client, user_id=user, k=100, include_stale=True)))
    assert with_stale & set(STALE_ITEMS) and RETIRED_ITEM not in with_stale


def test_filters(client, service_env):
    resp = _recommend(client, user_id="u002", k=20, types=["video"], goal_skills=["block3"])
    assert resp["items"]
    for item in resp["items"]:
        assert item["type"] == "video" and item["skills"][0].startswith("block3:")
        assert "fits your goal: Block 3" in item["reasons"]


def test_cold_start(client, service_env):
    pop = _recommend(client, user_id="stranger-1", k=5)
    assert pop["user_known"] is False and pop["fallback"] == "popular" and len(pop["items"]) == 5
    content = _recommend(client, user_id="stranger-2", k=5, goal_skills=["block2"])
    assert content["fallback"] == "content"
    assert all(i["skills"][0].startswith("block2:") for i in content["items"])


def test_completions_adapt_the_next_recommendation(client, service_env):
    user = "u003"  # a block-3 mentee
    before = _recommend(client, user_id=user, k=10)
    block1_before = sum(i.startswith("b1-") for i in _ids(before))
    done = [f"b1-i{j:02d}" for j in (1, 2, 3, 4, 5)]
    r = client.post("/events", json=_events(user, [(i, "complete") for i in done]))
    assert r.status_code == 200 and r.json() == {"accepted": 5, "duplicates": 0, "online_features": "off"}
    after = _recommend(client, user_id=user, k=10)
    assert not set(_ids(after)) & set(done)
    assert sum(i.startswith("b1-") for i in _ids(after)) > block1_before


def test_events_are_idempotent(client, service_env):
    body = _events("u004", [("b0-i08", "view"), ("b0-i09", "complete")], prefix="idem")
    assert client.post("/events", json=body).json() == {"accepted": 2, "duplicates": 0, "online_features": "off"}
    assert client.post("/events", json=body).json() == {"accepted": 0, "duplicates": 2, "online_features": "off"}


def test_events_unknown_item_names_it_and_stores_nothing(client, service_env):
    from catalog.eventlog import EventLog

    body = _events("u005", [("b0-i08", "view"), ("no-such-item", "view")], prefix="bad")
    r = client.post("/events", json=body)
    assert r.status_code == 400
    err = r.json()
    assert "no-such-item" in r.text
    assert err["detail"][0]["loc"] == ["events", 1, "item_id"]
    with EventLog(service_env.root / "events.db") as log:
        assert log.read(user_ids=["u005"])["event_id"].str.startswith("bad").sum() == 0


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"user_id": "u000", "k": 0}, "k", "greater than or equal to 1"),
    ({"user_id": "u000", "k": 101}, "k", "less than or equal to 100"),
    ({"user_id": "bad id!"}, "user_id", "pattern"),
    ({"user_id": "u000", "colour": "red"}, "colour", "Extra inputs"),
    ({"k": 3}, "user_id", "Field required"),
    ({"user_id": "u000", "types": ["hologram"]}, "types", "Input should be"),
])
def test_bad_recommend_requests_are_400_naming_the_field(client, service_env, body, field, words):
    r = client.post("/recommend", json=body)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["error"].startswith(field) and words in err["error"]
    assert field in [str(x) for x in err["detail"][0]["loc"]]


def test_malformed_json_and_unknown_ids_are_400(client, service_env):
    r = client.post("/recommend", content=b'{"user_id": "u0', headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    r = client.post("/recommend", json={"user_id": "u000", "goal_skills": ["astrology"]})
    assert r.status_code == 400 and r.json()["error"].startswith("goal_skills") and "astrology" in r.text
    r = client.post("/recommend", json={"user_id": "u000", "exclude_item_ids": ["nope"]})
    assert r.status_code == 400 and r.json()["detail"][0]["loc"] == ["exclude_item_ids"]
    r = client.post("/events", json={"events": []})
    assert r.status_code == 400 and r.json()["error"].startswith("events")


def test_similar(client, service_env):
    r = client.get("/items/b2-i03/similar", params={"k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    ids = [i["item_id"] for i in body["items"]]
    assert len(ids) == 5 and "b2-i03" not in ids and body["method"] == "factors"
    assert sum(i.startswith("b2-") for i in ids) >= 4  # the block is learned
    sims = [i["similarity"] for i in body["items"]]
    assert sims == sorted(sims, reverse=True)
    assert client.get("/items/nope/similar").status_code == 404
    r = client.get("/items/b2-i03/similar", params={"k": 0})
    assert r.status_code == 400 and "k" in r.json()["error"]


def test_stale_view(client, service_env):
    r = client.get("/catalog/stale")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["item_id"] for i in body["items"]] and {i["item_id"] for i in body["items"]} == set(STALE_ITEMS)
    assert body["n_mentees"] == 80
    for item in body["items"]:
        assert item["freshness"] < body["threshold"]
        assert item["reach_with_decay"] <= item["reach_without_decay"]
    assert sum(i["reach_without_decay"] for i in body["items"]) > 0
    r = client.get("/catalog/stale", params={"threshold": 2})
    assert r.status_code == 400 and "threshold" in r.json()["error"]


def test_health(client, service_env):
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200


def _assert_error_shape(r, status: int) -> dict:
    """Every error answer: JSON ``{"error": one line, "detail": [{loc, msg, type}]}``, nothing else."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error", "detail"}
    assert isinstance(body["error"], str) and body["error"] and "\n" not in body["error"]
    assert isinstance(body["detail"], list)
    for d in body["detail"]:
        assert set(d) == {"loc", "msg", "type"}, d
        assert isinstance(d["loc"], list) and isinstance(d["msg"], str) and isinstance(d["type"], str)
    return body


def test_every_error_answer_has_the_one_shape(client, service_env):
    json_ct = {"content-type": "application/json"}
    cases = [
        (client.post("/recommend", json={"user_id": "u000", "k": 0}), 400),           # schema
        (client.post("/recommend", content=b'{"user_id": "u0', headers=json_ct), 400),  # malformed JSON
        (client.post("/recommend", content=b"", headers=json_ct), 400),              # no body
        (client.post("/recommend", json=[1, 2]), 400),                               # not an object
        (client.post("/recommend", json={"user_id": "u000", "goal_skills": ["astrology"]}), 400),  # unknown id
        (client.post("/events", json={"events": []}), 400),
        (client.get("/catalog/stale", params={"threshold": 2}), 400),               # query parameter
        (client.post("/events", json={"events": []}, headers={"authorization": "Bearer wrong"}), 401),
        (client.get("/items/nope/similar"), 404),                                    # unknown id in the path
        (client.get("/skills/astrology"), 404),
        (client.get("/no/such/route"), 404),
        (client.get("/recommend"), 405),
        (client.post("/recommend", content=b"x" * (2 << 20), headers=json_ct), 413),
        (client.post("/recommend", content=b"user_id=u000",
                     headers={"content-type": "application/x-www-form-urlencoded"}), 415),
    ]
    for r, status in cases:
        _assert_error_shape(r, status)
    body = cases[0][0].json()
    assert body["error"] == "k: Input should be greater than or equal to 1"
    assert body["detail"] == [{"loc": ["k"], "msg": "Input should be greater than or equal to 1",
                               "type": "greater_than_equal"}]
    assert cases[6][0].json()["detail"][0]["loc"] == ["query", "threshold"]
    assert cases[6][0].json()["error"].startswith("threshold: ")


def test_a_nested_body_field_is_named_by_its_path(client, service_env):
    body = _events("u000", [("b0-i01", "view")])
    body["events"][0]["event_type"] = "teleport"
    err = _assert_error_shape(client.post("/events", json=body), 400)
    assert err["error"].startswith("events.0.event_type: ") and err["detail"][0]["loc"] == ["events", 0, "event_type"]


def test_an_unexpected_error_is_a_prompt_500_that_tells_nothing_about_the_server(client, service_env, monkeypatch):
    import serving.api as A

    def boom(req):
        raise RuntimeError("boom at /secret/server/path.py")

    monkeypatch.setattr(A.api.state.core, "recommend", boom)
    r = client.post("/recommend", json={"user_id": "u001", "k": 3})
    body = _assert_error_shape(r, 500)
    assert "boom" not in r.text and "/secret" not in r.text and "Traceback" not in r.text
    assert "server log" in body["error"]
    assert client.post("/recommend", json={"user_id": "u001", "k": 3}).status_code == 500  # and it keeps serving
    monkeypatch.undo()


def test_path_mode(client, service_env):
    r = client.post("/recommend", json={"user_id": "u001", "k": 3, "mode": "path"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "path" and 1 <= len(body["items"]) <= 3


def test_answers_are_one_json_body_with_a_length(client, service_env):
    r = client.post("/recommend", json={"user_id": "u001", "k": 5})
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)
    from serving.schemas import RecommendResponse

    RecommendResponse.model_validate_json(r.content)  # the documented model, field for field


def test_root_points_at_the_docs(client, service_env):
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/docs"


def test_events_without_id_or_type_get_the_ids_file_imports_give(client, service_env, tmp_path):
    """One rule for every entry point: user, item, timestamp required; event_type defaults to view;
    a missing event_id is catalog.events.make_event_ids of the content (as `events ingest` gives)."""
    import pandas as pd

    from catalog.eventlog import EventLog
    from catalog.events import read_events_file

    body = {"events": [{"user_id": "u004", "item_id": "b0-i07", "timestamp": "2026-10-30T10:00:00Z"}]}
    assert client.post("/events", json=body).json()["accepted"] == 1
    assert client.post("/events", json=body).json()["duplicates"] == 1  # the same id again: idempotent
    f = tmp_path / "same.csv"
    f.write_text("user_id;item_id;timestamp\nu004;b0-i07;2026-10-30T10:00:00Z\n")
    from_file = read_events_file(f)
    with EventLog(service_env.root / "events.db") as log:
        stored = log.read(user_ids=["u004"])
    row = stored[stored.event_id == from_file.event_id[0]]
    assert len(row) == 1 and row.event_type.iloc[0] == "view"
    assert pd.Timestamp(row.timestamp.iloc[0]) == pd.Timestamp("2026-10-30T10:00:00Z")


def test_readyz_says_when_the_build_after_readiness_is_done(client, service_env):
    """``warm`` turns true once popularity, the monitor, the assistant and the console's first build are done
    (benchmarks wait for it: the build competes with requests for the GIL); the ``skillpath_warm`` gauge too."""
    import time

    from serving.api import api

    core = api.state.core
    body = client.get("/readyz").json()
    assert body["ready"] is True and body["warm"] is core.warmed.is_set()
    deadline = time.monotonic() + 120
    while not client.get("/readyz").json()["warm"]:
        assert time.monotonic() < deadline, "the background build never finished"
        time.sleep(0.2)
    assert core._bundle._popularity is not None  # computed by the build, not by this read
    assert core._monitor_open and core._assistant is not None
    assert core.gauges()["skillpath_warm"][1] == 1.0  # appended to /metrics


def test_the_service_sets_its_switch_interval(client, service_env):
    """Each worker takes ``serving.switch_interval_ms`` (default 1 ms, Python's is 5 ms): shorter GIL turns
    bound what a request waits behind a write's Python (docs/serving.md, "Latency under writes")."""
    import sys

    from serving.api import api

    assert api.state.core.settings.serving.switch_interval_ms == 1.0
    assert abs(sys.getswitchinterval() - 0.001) < 1e-9
