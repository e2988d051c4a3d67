"""A write applied in place (copy-on-write, O(written)) leaves the service answering exactly what a service
started afresh on the same store answers; a resource write keeps the people views' tables (the mentor
matcher), a mentor write rebuilds them."""

from __future__ import annotations

from datetime import datetime, timezone

from catalog.settings import load_settings
from serving.app import SkillPathApp
from serving.schemas import RecommendRequest
from serving.schemas_entities import PATCH_MODELS
from serving.schemas_mentors import MentorMatchRequest

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FILTERS = [{}, {"types": ["book"]}, {"types": ["video", "article"]}, {"max_minutes": 10}, {"include_stale": True}]


def _app(served) -> SkillPathApp:
    return SkillPathApp.from_settings(load_settings(data_dir=served.root), model_dir=served.model_dir,
                                      clock=lambda: NOW)


def _answers(app: SkillPathApp, users: list[str]) -> list:
    out = []
    for u in users:
        for f in FILTERS:
            for mode in ("model", "hybrid"):
                r = app.recommend(RecommendRequest(user_id=u, k=15, mode=mode, **f))
                out.append((u, mode, str(f), [(i.item_id, round(i.score, 5), i.freshness, tuple(i.reasons))
                                              for i in r.items]))
        m = app.mentor_match(MentorMatchRequest(user_id=u, k=3))
        out.append((u, [x.mentor_id for x in m.mentors]))
    return out


def test_patched_service_answers_like_a_fresh_one(served):
    app = _app(served)
    fresh = None
    try:
        users = sorted(served.world.mentees)[:6]
        _answers(app, users)  # every mask, text, context and remembered answer cached before the writes
        matcher, items = app.mentors.matcher, app.world.catalog.items.ids.tolist()
        patch = PATCH_MODELS["resources"]
        shown = [i.item_id for i in app.recommend(RecommendRequest(user_id=users[0], k=10, mode="model")).items]
        # each write changes what users[0]'s next answers show: an item gone, one now the only one within
        # 10 minutes (all take 30), one now the only book, a renamed one, and items[4] moved to 2020
        for item, body in ((shown[0], patch(active=False)), (shown[1], patch(duration_minutes=5)),
                           (shown[2], patch(type="book")), (shown[3], patch(title="Renamed")),
                           (items[4], patch(published_at="2020-01-01"))):
            app.entity("patch", "resources", item, body, if_match=None, actor="t")
        for f, item in (({"max_minutes": 10}, shown[1]), ({"types": ["book"]}, shown[2])):
            got = app.recommend(RecommendRequest(user_id=users[0], k=15, mode="model", **f)).items
            assert [i.item_id for i in got] == [item], f
        got = app.recommend(RecommendRequest(user_id=users[0], k=15, mode="model")).items
        assert "Renamed" in [i.title for i in got] and shown[0] not in [i.item_id for i in got]
        assert app.mentors.matcher.skill_names is matcher.skill_names  # a resource write keeps the tables
        assert app.mentors.world is app.world and app.paths.world is app.world
        mentor = sorted(app.world.mentors)[0]
        app.entity("patch", "mentors", mentor, PATCH_MODELS["mentors"](capacity=0), if_match=None, actor="t")
        assert app.mentors.matcher is not matcher and app.mentors.world.mentors[mentor].capacity == 0
        fresh = _app(served)
        assert _answers(app, users) == _answers(fresh, users)
    finally:
        app.close()
        if fresh is not None:
            fresh.close()
