"""``POST /recommend`` in its default mode ``hybrid``: goals lift their items, prerequisites hold, reasons name the part."""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.testclient import TestClient


def _rec(client, **body):
    r = client.post("/recommend", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_default_mode_is_hybrid_and_reasons_name_the_part(asgi_app, service_env):
    with TestClient(asgi_app) as c:
        out = _rec(c, user_id="u001", k=10)
    assert out["mode"] == "hybrid" and len(out["items"]) == 10
    assert all(i["reasons"][0].startswith("chosen ") for i in out["items"])
    assert [i["score"] for i in out["items"]] == sorted((i["score"] for i in out["items"]), reverse=True) or \
        any(i["reasons"][0].startswith("chosen for variety") for i in out["items"])


def test_goal_items_rise_and_prerequisites_hold(asgi_app, service_env):
    user = next(u for u, b in sorted(service_env.user_block.items()) if b == 0)
    with TestClient(asgi_app) as c:
        plain = _rec(c, user_id=user, k=10)
        goal = _rec(c, user_id=user, k=10, goal_skills=["block1"])
        cold = _rec(c, user_id="stranger-9", k=10)
    on_goal = lambda r: sum(s.startswith("block1:") for i in r["items"] for s in i["skills"])  # noqa: E731
    assert on_goal(goal) > on_goal(plain)
    # block 3 needs block 2 at level 2: a mentee with no evidence of block 2 never gets block 3 material
    assert not any(s.startswith("block3:") for i in cold["items"] for s in i["skills"])
    assert cold["fallback"] == "popular" and cold["user_known"] is False


def test_model_mode_stays_pure(asgi_app, service_env):
    with TestClient(asgi_app) as c:
        out = _rec(c, user_id="u001", k=5, mode="model")
    assert out["mode"] == "model"
    assert not any(r.startswith("chosen ") for i in out["items"] for r in i["reasons"])


def test_a_remembered_answer_gives_way_to_the_next_event(client, service_env):
    """The hybrid answer is remembered per mentee, but their next event replaces it."""
    user = sorted(service_env.user_block)[-1]
    first = _rec(client, user_id=user, k=10)
    assert _rec(client, user_id=user, k=10) == first
    top = first["items"][0]["item_id"]
    r = client.post("/events", json={"events": [{"user_id": user, "item_id": top, "event_type": "complete",
                                                 "timestamp": datetime.now(timezone.utc).isoformat()}]})
    assert r.status_code == 200, r.text
    after = _rec(client, user_id=user, k=10)
    assert after != first and top not in [i["item_id"] for i in after["items"]]


def test_the_views_history_is_the_planners(service_env):
    """The view builds the planner's history from the context's rows; it equals mentee_history's."""
    from datetime import timedelta

    import pandas as pd

    from catalog.settings import load_settings
    from recommender.paths.replan import mentee_history
    from serving.app import SkillPathApp
    from serving.views.hybrid import _history

    app = SkillPathApp.from_settings(load_settings(data_dir=service_env.root), model_dir=service_env.model_dir)
    try:
        user = sorted(service_env.user_block)[0]
        ctx = app.contexts.get(user, now=app.clock())
        assert ctx.n_events > 2
        cut = pd.Timestamp(ctx.rows[ctx.n_events // 2][3], unit="us", tz="UTC").to_pydatetime()
        for now in (cut, cut + timedelta(microseconds=1), app.clock()):
            c = ctx.with_request(now=now)
            got, want = _history(c), mentee_history(c.events, c.catalog, user_id=user, now=now)
            pd.testing.assert_frame_equal(got.events, want.events)
            assert got.item_index.tolist() == want.item_index.tolist()
    finally:
        app.close()


def test_answers_after_an_event_and_a_new_filter_equal_a_fresh_services(service_env):
    """The remembered halves (the filter-free half per context, the mastery carried into the context an
    event makes) give the answers a service that remembers nothing gives: after a view and an assessment,
    unfiltered and with a filter neither service saw before."""
    from datetime import timedelta
    from catalog.settings import load_settings
    from serving.app import SkillPathApp
    from serving.schemas import EventsRequest, RecommendRequest

    settings = load_settings(data_dir=service_env.root)
    at = datetime.now(timezone.utc)
    clock = lambda: at  # noqa: E731  (one clock for both services: freshness decays by the second)
    warm = SkillPathApp.from_settings(settings, model_dir=service_env.model_dir, clock=clock)
    try:
        user = sorted(service_env.user_block)[1]
        first = warm.recommend(RecommendRequest(user_id=user, k=10))
        warm.recommend(RecommendRequest(user_id=user, k=10, max_minutes=60))
        ctx = warm.contexts.get(user, now=warm.clock())
        items = [i.item_id for i in first.items]
        now = (at - timedelta(minutes=1)).isoformat()
        for n, (kind, value) in enumerate((("view", None), ("assess", 85.0))):
            warm.ingest(EventsRequest(events=[{"user_id": user, "item_id": items[n], "event_type": kind,
                                               "value": value, "timestamp": now}]))
            got = [warm.recommend(RecommendRequest(user_id=user, k=10, **f)) for f in ({}, {"types": ["video"]})]
            after = warm.contexts.get(user, now=warm.clock())
            assert after.rows is not ctx.rows  # a new context, carried from the last
            assert any(k[0] == "mastery-carry" for k in after.memo if isinstance(k, tuple))
            fresh = SkillPathApp.from_settings(settings, model_dir=service_env.model_dir, clock=clock)
            try:
                want = [fresh.recommend(RecommendRequest(user_id=user, k=10, **f)) for f in ({}, {"types": ["video"]})]
            finally:
                fresh.close()
            assert [g.model_dump() for g in got] == [w.model_dump() for w in want]
            ctx = after
        assert got[0] != first  # the assessment (or the view's exclusion) changed the answer
    finally:
        warm.close()


def test_the_prepared_halves_keep_one_per_mentee():
    """Regression: halves were keyed by (mentee, events read, hour), so every new event left the superseded
    half in the LRU until the byte bound pushed it out (RSS +56 % over a 10-minute run at 300 req/s)."""
    from types import SimpleNamespace

    from serving.views.hybrid import _Prepared

    class Bundle:
        pass

    lru, b, rows1, rows2 = _Prepared(1 << 20), Bundle(), (1,), (1, 2)
    lru.put("u1", ("k", 1), rows1, b, SimpleNamespace(nbytes=100), "model")
    lru.put("u2", ("k", 1), rows1, b, SimpleNamespace(nbytes=10), "model")
    lru.put("u1", ("k", 2), rows2, b, SimpleNamespace(nbytes=300), "model")  # a new event of u1
    assert len(lru) == 2 and lru.nbytes == 310
    assert lru.get("u1", ("k", 1), rows1, b) is None  # the superseded half is gone
    assert lru.get("u1", ("k", 2), rows2, b)[0].nbytes == 300
    assert lru.get("u1", ("k", 2), rows1, b) is None  # same key, other event rows: not this context's
    lru.put("u3", ("k", 1), rows1, b, SimpleNamespace(nbytes=1 << 20), "model")  # over the bound: oldest out
    assert lru.get("u2", ("k", 1), rows1, b) is None and len(lru) <= 2


def test_answers_after_views_and_impressions_equal_a_fresh_services(service_env, monkeypatch):
    """After a view, a repeated view and an impression (the model folds the last two in to the same vector,
    so its scores are reused), the advanced halves give what a service that remembers nothing gives."""
    from datetime import timedelta

    from catalog.settings import load_settings
    from serving.app import SkillPathApp
    from serving.schemas import EventsRequest, RecommendRequest
    from serving.views import hybrid as view

    calls = {"advanced": 0, "same_scores": 0}
    real = view.advance_next_up

    def counted(*a, **k):
        out = real(*a, **k)
        calls["advanced"] += out is not None
        calls["same_scores"] += out is not None and k["cf_scores"] is None
        return out

    monkeypatch.setattr(view, "advance_next_up", counted)
    settings = load_settings(data_dir=service_env.root)
    at = datetime.now(timezone.utc)
    clock = lambda: at  # noqa: E731
    warm = SkillPathApp.from_settings(settings, model_dir=service_env.model_dir, clock=clock)
    try:
        user = sorted(service_env.user_block)[2]
        first = warm.recommend(RecommendRequest(user_id=user, k=10))
        item = first.items[3].item_id
        for n, kind in enumerate(("view", "view", "impression")):
            now = (at - timedelta(minutes=3 - n)).isoformat()
            warm.ingest(EventsRequest(events=[{"user_id": user, "item_id": item, "event_type": kind,
                                               "timestamp": now, "event_id": f"adv-{n}"}]))
            got = [warm.recommend(RecommendRequest(user_id=user, k=10, **f)) for f in ({}, {"types": ["video"]})]
            kept = view._PREPARED._d[user]  # the halves are process-wide: the fresh service's would replace it
            fresh = SkillPathApp.from_settings(settings, model_dir=service_env.model_dir, clock=clock)
            try:
                want = [fresh.recommend(RecommendRequest(user_id=user, k=10, **f)) for f in ({}, {"types": ["video"]})]
            finally:
                fresh.close()
            view._PREPARED.put(user, kept.key, kept.rows, kept.bundle(), kept.prep, kept.source, read=kept.read,
                               exclude=kept.exclude, vector=kept.vector)
            assert [g.model_dump() for g in got] == [w.model_dump() for w in want]
        assert item not in [i.item_id for i in got[0].items]  # the view excluded it
        assert calls["advanced"] == 3 and calls["same_scores"] == 2
    finally:
        warm.close()
