"""The plain app class: the timer's work (new champion, new day), reasons, state from the log."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from catalog.eventlog import EventLog
from catalog.settings import load_settings
from serving.app import SkillPathApp
from serving.reasons import age_phrase
from serving.schemas import EventIn, EventsRequest, RecommendRequest
from tests.serving.world import train_model


def _app(served, clock=None) -> SkillPathApp:
    settings = load_settings(data_dir=served.root)
    kw = {"clock": clock} if clock else {}
    return SkillPathApp.from_settings(settings, model_dir=served.model_dir, **kw)


@pytest.fixture
def make_app(served) -> Iterator[Callable[..., SkillPathApp]]:
    """Apps over ``served``, each closed after the test (its log, stores and threads)."""
    apps: list[SkillPathApp] = []

    def make(clock=None) -> SkillPathApp:
        apps.append(_app(served, clock))
        return apps[-1]

    yield make
    for app in apps:
        app.close()


def test_tick_picks_up_a_new_model_and_survives_a_bad_one(served, make_app):
    app = make_app()
    old = app.bundle.version
    app.tick()
    assert app.bundle.version == old
    manifest = served.model_dir / "model.json"
    manifest.write_text(manifest.read_text().replace('"arrays_sha256": "', '"arrays_sha256": "00'))
    app.tick()  # fails verification: logged, old model keeps serving
    assert app.bundle.version == old and "sha256" in app.last_error
    with EventLog(served.root / "events.db") as log:
        events = log.read()
    shutil.rmtree(served.model_dir)
    sha = train_model(served.world, events, served.model_dir, factors=6, seed=3)
    app.tick()
    assert app.bundle.sha256 == sha and app.last_error is None


def test_new_day_refreshes_freshness(make_app):
    now = [datetime.now(timezone.utc)]
    app = make_app(clock=lambda: now[0])
    before = app.view.freshness.copy()
    now[0] += timedelta(days=400)
    app.tick()
    assert app.view.as_of == now[0] and app.bundle.view is app.view
    assert (app.view.freshness <= before).all() and (app.view.freshness < before).any()


def test_a_second_app_on_the_same_log_sees_new_events(make_app):
    """Two workers share the log: events posted to one change the other's next answer."""
    a, b = make_app(), make_app()
    user = "u002"
    first = [i.item_id for i in b.recommend(RecommendRequest(user_id=user, k=5)).items]
    now = datetime.now(timezone.utc)
    a.ingest(EventsRequest(events=[EventIn(event_id="w-1", user_id=user, item_id=first[0], event_type="complete",
                                           timestamp=now)]))
    after = [i.item_id for i in b.recommend(RecommendRequest(user_id=user, k=5)).items]
    assert first[0] not in after


def test_age_phrases():
    assert age_phrase(0.2) == "today"
    assert age_phrase(1) == "1 day ago"
    assert age_phrase(20) == "3 weeks ago"
    assert age_phrase(61) == "2 months ago"
    assert age_phrase(3 * 365) == "3 years ago"


def test_stale_reach_only_for_the_current_day_and_computed_once(make_app, monkeypatch):
    """Regression: every distinct as_of used to read the whole log and rank every mentee twice."""
    import threading

    app = make_app()
    reach = app.stale_reach
    calls = []
    real = reach._compute

    def counting(bundle, users):
        calls.append(1)
        return real(bundle, users)

    monkeypatch.setattr(reach, "_compute", counting)
    other = app.view.as_of - timedelta(days=30)
    past = reach.report(other)
    assert past.items and all(i.reach_without_decay is None and i.reach_with_decay is None for i in past.items)
    assert past.n_mentees == 0 and calls == []
    threads = [threading.Thread(target=reach.report) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    today = reach.report(app.view.as_of)
    assert calls == [1]  # four concurrent callers and one more: one computation
    assert today.n_mentees > 0 and all(i.reach_without_decay is not None for i in today.items)


def test_reduced_precision_storage_gives_the_float32_answers(served):
    """``scoring.item_dtype`` changes the scan, never the answer (exact re-scoring)."""
    answers = {}
    for dtype in ("float32", "bfloat16", "float16"):
        settings = load_settings(data_dir=served.root, scoring__item_dtype=dtype)
        app = SkillPathApp.from_settings(settings, model_dir=served.model_dir)
        assert app.bundle.index.dtype == dtype
        users = sorted(served.world.mentees)[:25]
        answers[dtype] = [[(i.item_id, i.score) for i in app.recommend(RecommendRequest(user_id=u, k=20)).items]
                          for u in users]
        app.close()
    exact = answers["float32"]
    assert any(len(a) == 20 for a in exact)
    for dtype in ("bfloat16", "float16"):
        got = answers[dtype]
        assert [[i for i, _ in a] for a in got] == [[i for i, _ in a] for a in exact]
        # candidates are re-scored in float32 (summation order may differ in the last bit)
        assert np.allclose([s for a in got for _, s in a], [s for a in exact for _, s in a], rtol=1e-5, atol=1e-6)


def test_cold_start_popularity_follows_the_models_recency_half_life(served):
    """Old all-time favourites lose to what many mentees opened today when the model's half-life is short."""
    from recommender.models.bpr import BPRRecommender
    from recommender.item_scores import cold_half_life

    assert cold_half_life(BPRRecommender(recency_weight=1.0, recency_half_life_days=3.0)) == 3.0
    assert cold_half_life(BPRRecommender(recency_weight=0.0, recency_half_life_days=3.0)) is None
    app = _app(served)
    try:
        alltime = app._popularity(None)
        top = int(np.argmax(alltime))
        ids = app.world.catalog.items.ids
        low = int(np.argsort(alltime)[len(alltime) // 4])  # a rarely used item
        assert alltime[low] < alltime[top]
        now = app.view.as_of
        rows = [{"event_id": f"fresh-{j}", "user_id": f"fresh-user-{j}", "item_id": str(ids[low]),
                 "event_type": "view", "timestamp": now - timedelta(hours=2)} for j in range(3)]
        app.log.append(rows)
        recent = app._popularity(1.0)
        alltime2 = app._popularity(None)
        assert recent[low] > recent[top]  # months-old favourite decayed below today's item
        assert alltime2[top] > alltime2[low]  # all-time counts still favour the old one
    finally:
        app.close()


def test_resources_not_yet_published_are_never_recommended(served):
    """A catalog may list resources ahead of their release; until then no answer contains them."""
    import pandas as pd

    app = _app(served)
    users = sorted(served.world.mentees)[:20]
    firsts = {app.recommend(RecommendRequest(user_id=u, k=1)).items[0].item_id for u in users}
    app.close()
    # the mentees' favourites are announced for next month: listed, not yet published
    path = served.root / "resources.csv"
    res = pd.read_csv(path, dtype=str, keep_default_na=False)
    soon = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    res.loc[res["item_id"].isin(firsts), ["published_at", "updated_at"]] = [soon, ""]
    res.to_csv(path, index=False)
    app = _app(served)
    try:
        cat = app.world.catalog
        future = cat.active & ~cat.available_at(app.view.as_of)
        assert sorted(cat.items.ids[future]) == sorted(firsts)
        for u in users:
            got = [cat.items.index(i.item_id) for i in app.recommend(RecommendRequest(user_id=u, k=50)).items]
            assert got and not future[got].any(), [cat.items.ids[g] for g in got if future[g]]
        cold = app.recommend(RecommendRequest(user_id="nobody-yet", k=50))
        assert not future[[cat.items.index(i.item_id) for i in cold.items]].any()
    finally:
        app.close()


def test_a_resource_becomes_recommendable_once_its_publication_time_has_come(served):
    """The timer refreshes the view when a listed resource's publication time passes, not only at midnight."""
    import pandas as pd

    now = [datetime.now(timezone.utc).replace(hour=10, minute=0, second=0, microsecond=0)]
    app = _app(served, clock=lambda: now[0])
    user = sorted(served.world.mentees)[0]
    fav = app.recommend(RecommendRequest(user_id=user, k=1)).items[0].item_id
    app.close()
    path = served.root / "resources.csv"
    res = pd.read_csv(path, dtype=str, keep_default_na=False)
    res.loc[res["item_id"] == fav, ["published_at", "updated_at"]] = [
        (now[0] + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"), ""]
    res.to_csv(path, index=False)
    app = _app(served, clock=lambda: now[0])
    try:
        assert fav not in [i.item_id for i in app.recommend(RecommendRequest(user_id=user, k=20)).items]
        now[0] += timedelta(hours=1)
        app.tick()
        assert fav not in [i.item_id for i in app.recommend(RecommendRequest(user_id=user, k=20)).items]
        now[0] += timedelta(hours=1, minutes=1)  # past its publication, same day
        app.tick()
        assert fav in [i.item_id for i in app.recommend(RecommendRequest(user_id=user, k=20)).items]
    finally:
        app.close()


def test_a_path_without_mentors_is_the_same_plan(served):
    from serving.schemas_paths import PathRequest

    app = _app(served)
    try:
        req = PathRequest(user_id="u003", max_steps=5)
        full, bare = app.path(req), app.path(req, mentors=False)
    finally:
        app.close()
    assert [s.item_id for s in bare.steps] == [s.item_id for s in full.steps]
    assert all(s.mentor is None for s in bare.steps) and any(s.mentor is not None for s in full.steps)
    assert bare.model_dump(exclude={"steps", "as_of"}) == full.model_dump(exclude={"steps", "as_of"})


def test_warm_up_answers_without_writing_and_never_raises(served, make_app):
    """The service calls warm_up() at start so the first /recommend is as fast as the next ones."""
    app = make_app()
    with EventLog(served.root / "events.db") as log:
        before = log.last_seq()
    app.warm_up()
    with EventLog(served.root / "events.db") as log:
        assert log.last_seq() == before  # read-only
    user = next(iter(app.world.mentees))
    assert app.contexts.get(user, now=app.clock()) is not None
    app._bundle = None  # no model yet: nothing to warm, and no error
    app.warm_up()
