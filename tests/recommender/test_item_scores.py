"""Score vectors for one mentee (recommender.item_scores): a model's, aligned to the catalog, or popularity."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from catalog.errors import IntegrityError
from catalog.ids import IdMap
from catalog.schema import empty_events
from recommender.context import mentee_context
from recommender.interactions import build_id_maps, build_interactions
from recommender.item_scores import align_to_catalog, cold_half_life, model_scores, popularity_scores
from recommender.models import make_model
from tests.recommender.event_frames import events_frame as ev

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
# two mentees complete the Python pair, two the prompting pair: EASE learns the two blocks
COMPLETIONS = [(u, it, "complete", np.nan, "2026-10-01") for u, it in
               [("a", "py-101"), ("a", "py-201"), ("b", "py-101"), ("b", "py-201"), ("c", "pr-101"),
                ("c", "pr-new"), ("d", "pr-101"), ("d", "pr-new")]]


def test_popularity_counts_mentees_not_events(tiny_catalog):
    events = ev([("a", "pd-101", "view", np.nan, "2026-10-01"), ("a", "pd-101", "complete", np.nan, "2026-10-01"),
                 ("b", "pd-101", "view", np.nan, "2026-10-02"), ("b", "py-101", "view", np.nan, "2026-10-02"),
                 ("c", "py-101", "impression", np.nan, "2026-10-02"), ("c", "gone", "view", np.nan, "2026-10-02")])
    s = popularity_scores(events, tiny_catalog)
    i = tiny_catalog.items.index
    assert s[i("pd-101")] == 1.0 and s[i("py-101")] == 0.5 and s[i("ml-101")] == 0.0
    assert (popularity_scores(empty_events(), tiny_catalog) == 0).all()


def test_model_scores_align_to_the_catalog(tiny_catalog):
    shuffled = IdMap(["ml-101", "py-101", "unknown-old-item"])
    out = align_to_catalog(np.array([3.0, 1.0, 9.0]), shuffled, tiny_catalog)
    i = tiny_catalog.items.index
    assert out[i("ml-101")] == 3.0 and out[i("py-101")] == 1.0
    assert out[i("pd-101")] == 0.0                                   # not in the model: below its lowest
    with pytest.raises(IntegrityError):
        align_to_catalog(np.zeros(3), None, tiny_catalog)


def test_model_scores_fold_in_a_mentee_the_model_never_saw(tiny_world):
    cat = tiny_world.catalog
    events = ev(COMPLETIONS)
    users, items = build_id_maps(events, catalog=cat)
    model = make_model("ease", regularization=1.0).fit(build_interactions(events, users=users, items=items))
    model.id_maps_ = {"users": users, "items": items}
    ctx = mentee_context(tiny_world, "new", now=NOW, events=ev([("new", "py-101", "complete", np.nan, "2026-10-05")]))
    s = model_scores(model, ctx)
    assert s.shape == (cat.n_items,)
    assert s[cat.items.index("py-201")] > s[cat.items.index("pr-new")]


def test_model_scores_map_the_history_onto_a_model_with_other_items(tiny_world):
    """A model whose item map is reordered and partial scores the catalog's items as one trained in catalog order."""
    cat = tiny_world.catalog
    events = ev(COMPLETIONS)
    users = build_id_maps(events, catalog=cat)[0]
    shuffled = IdMap([i for i in reversed(cat.items.to_list()) if i != "docs-x"] + ["retired-item"])
    aligned = make_model("ease", regularization=1.0).fit(build_interactions(events, users=users, items=cat.items))
    aligned.id_maps_ = {"users": users, "items": cat.items}
    other = make_model("ease", regularization=1.0).fit(build_interactions(events, users=users, items=shuffled))
    other.id_maps_ = {"users": users, "items": shuffled}
    ctx = mentee_context(tiny_world, "new", now=NOW, events=ev([("new", "py-101", "complete", np.nan, "2026-10-05")]))
    a, b = model_scores(aligned, ctx), model_scores(other, ctx)
    kept = [cat.items.index(i) for i in cat.items.to_list() if i != "docs-x"]
    assert np.allclose(a[kept], b[kept])
    assert b[cat.items.index("py-201")] > b[cat.items.index("pr-new")]


def test_cold_half_life_reads_the_models_recency_setting():
    from recommender.models.bpr import BPRRecommender
    from recommender.models.popularity import PopularityRecommender

    assert cold_half_life(BPRRecommender(recency_weight=1.0, recency_half_life_days=3.0)) == 3.0
    assert cold_half_life(BPRRecommender(recency_weight=0.0, recency_half_life_days=3.0)) is None
    assert cold_half_life(PopularityRecommender(half_life_days=14.0)) == 14.0
    assert cold_half_life(PopularityRecommender()) is None


def test_popularity_decays_with_the_half_life_and_forgets_dismissed_pairs(tiny_catalog):
    old = [(u, "pd-101", "view", np.nan, "2026-01-01") for u in ("a", "b", "c")]
    new = [("d", "py-101", "view", np.nan, "2026-10-31")]
    i = tiny_catalog.items.index
    alltime = popularity_scores(ev(old + new), tiny_catalog, now=NOW)
    recent = popularity_scores(ev(old + new), tiny_catalog, now=NOW, half_life_days=7.0)
    assert alltime[i("pd-101")] == 1.0 and alltime[i("py-101")] == pytest.approx(1 / 3)
    assert recent[i("py-101")] == 1.0 and recent[i("pd-101")] < 0.01
    dismissed = popularity_scores(ev(old + new + [("a", "pd-101", "dismiss", np.nan, "2026-10-01")]), tiny_catalog,
                                  now=NOW)
    assert dismissed[i("pd-101")] == 1.0 and dismissed[i("py-101")] == pytest.approx(0.5)
    assert (popularity_scores(ev(new), tiny_catalog, now=datetime(2026, 10, 30, tzinfo=timezone.utc)) == 0).all()
