"""The HTTP API in-process: shapes, filters, cold start, adaptation, errors."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tests.serving.world import RETIRED_ITEM, STALE_ITEMS


def _recommend(client, **body):
    r = client.post("/recommend", json=body)
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


def test_recommend_fast_path_answers_byte_for_byte_as_the_bentoml_route(client, service_env, monkeypatch):
    # serving.service.RecommendFastPath answers POST /recommend without BentoML's API layer;
    # with it forced off, BentoML's route must give the same status and the same bytes.
    import serving.service as S

    taken, real = [], S._recommend_now

    def spy(body: bytes):
        out = real(body)
        taken.append(out is not None)
        return out

    bodies = [{"user_id": "u001", "k": 5}, {"user_id": "u002", "k": 7, "types": ["video"], "max_minutes": 60},
              {"user_id": "new-mentee", "k": 3, "goal_skills": ["block2"]}, {"user_id": "u003", "k": 0},
              {"user_id": "u000", "colour": "red"}, {"k": 3}, {"user_id": "u000", "goal_skills": ["astrology"]},
              {"user_id": "u000", "exclude_item_ids": ["nope"]}, [1, 2]]
    raw = [b'{"user_id": "u0', b"null", b'{"user_id": "u001", "k": "many"}', b""]

    def answers() -> list[tuple[int, bytes, list[tuple[str, str]]]]:
        rs = ([client.post("/recommend", json=b) for b in bodies]
              + [client.post("/recommend", content=b, headers={"content-type": "application/json"}) for b in raw])
        return [(r.status_code, r.content, sorted((k, v) for k, v in r.headers.items() if k != "date")) for r in rs]

    monkeypatch.setattr(S, "_recommend_now", spy)
    fast = answers()
    assert taken == [True] * len(fast)
    assert [s for s, _, _ in fast] == [200, 200, 200] + [400] * (len(fast) - 3)
    monkeypatch.setattr(S, "_recommend_now", lambda body: None)  # everything through BentoML
    slow = answers()
    assert fast == slow  # the same status, headers and bytes, answers and error bodies alike
    assert json.loads(fast[3][1])["error"].startswith("k: Input should be greater than or equal to 1")


def test_fast_path_answers_an_unexpected_error_at_once_like_bentoml(client, service_env, monkeypatch):
    # A bug in the app must give a prompt 500 with BentoML's body (and a log line), not
    # leave BentoML's timeout middleware waiting 30 s for a response that never comes.
    import bentoml

    import serving.service as S

    def boom(req):
        raise RuntimeError("boom")

    monkeypatch.setattr(bentoml.get_current_service().app, "recommend", boom)
    fast = client.post("/recommend", json={"user_id": "u001", "k": 3}, timeout=10)
    monkeypatch.setattr(S, "_recommend_now", lambda body: None)
    slow = client.post("/recommend", json={"user_id": "u001", "k": 3}, timeout=10)
    assert fast.status_code == slow.status_code == 500
    assert fast.content == slow.content and b"unexpected error" in fast.content


def _spy_fast_path(monkeypatch) -> list:
    import serving.service as S

    taken, real = [], S._recommend_now
    monkeypatch.setattr(S, "_recommend_now", lambda body: taken.append(real(body)) or taken[-1])
    return taken


def test_path_mode_goes_through_bentoml(client, service_env, monkeypatch):
    taken = _spy_fast_path(monkeypatch)
    r = client.post("/recommend", json={"user_id": "u001", "k": 3, "mode": "path"})
    assert r.status_code == 200, r.text
    assert taken == [None]  # declined: answered by the BentoML route (in a thread)


def test_with_tracing_every_request_goes_through_bentoml(asgi_app, service_env, monkeypatch):
    from starlette.testclient import TestClient

    taken = _spy_fast_path(monkeypatch)
    monkeypatch.setenv("SKILLPATH_TRACING", "1")  # read when the service starts
    with TestClient(asgi_app, raise_server_exceptions=False) as traced:
        r = traced.post("/recommend", json={"user_id": "u001", "k": 3})
        assert r.status_code == 200, r.text
        assert [i["item_id"] for i in r.json()["items"]]
    assert taken == []  # never asked
