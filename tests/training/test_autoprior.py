"""Train-time tuning of "auto" recency settings on an inner split of the fit window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from catalog.errors import ConfigError
from recommender.models import make_model
from training.autoprior import AUTO, auto_keys, resolve_auto
from training.data import canonical_events, prepare, validation_split
from training.evaluate import fit_model, fit_resolved, run_comparison, score_prepared

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def _events(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return canonical_events(pd.DataFrame({"user_id": [u for u, _, _ in rows], "item_id": [i for _, i, _ in rows],
                         "event_type": "view", "timestamp": [T0 + pd.Timedelta(days=d) for _, _, d in rows]}))


def _phase(prefix: str, n_users: int, items: list[str], start: float, end: float) -> list[tuple[str, str, float]]:
    days = np.linspace(start, end, n_users * len(items))
    it = iter(days)
    return [(f"{prefix}{u:03d}", i, float(next(it))) for u in range(n_users) for i in items]


def _half_life(block, rows) -> tuple[object, object]:
    events = _events(rows)
    p = prepare(block.world, events, events.iloc[:0])
    params, auto = resolve_auto("popularity", p, {"binary": True, "half_life_days": AUTO}, k=5)
    return params["half_life_days"], auto


def test_short_half_life_when_recent_popularity_predicts_the_inner_validation(block):
    a, b = [f"b0-i{j:02d}" for j in range(5)], [f"b1-i{j:02d}" for j in range(5)]
    # Long ago, 100 users used the A items; lately, new users use the B items (and go on doing so).
    rows = _phase("old", 100, a, 0, 30) + _phase("new", 60, b, 60, 100)
    h, auto = _half_life(block, rows)
    assert h in (1.0, 3.0, 7.0)
    scores = {s["half_life_days"]: v for s, v in auto.scores}
    assert scores[h] > scores[None]  # all-time popularity ranks the A items first: wrong here


def test_long_half_life_when_all_time_popularity_predicts_the_inner_validation(block):
    a, b = [f"b0-i{j:02d}" for j in range(5)], [f"b1-i{j:02d}" for j in range(5)]
    # A items are perennial; a short burst on B items comes just before the inner validation window,
    # in which new users use the A items again.
    rows = _phase("old", 100, a, 0, 60) + _phase("burst", 40, b, 60, 80) + _phase("late", 35, a, 80.5, 100)
    h, auto = _half_life(block, rows)
    assert h is None or h >= 30.0
    scores = {s["half_life_days"]: v for s, v in auto.scores}
    assert scores[h] > scores[1.0]


def test_the_tuner_reads_only_the_fit_window(block):
    v = validation_split(block.events)
    p = prepare(block.world, v.train, v.test, id_events=[block.events])
    params = {"factors": 4, "iterations": 3, "recency_weight": AUTO, "recency_half_life_days": AUTO}
    chosen, auto = resolve_auto("als", p, params, k=5)
    # The inner split covers exactly the fit window's events, and ends before it does.
    assert auto.inner_fit_events + auto.inner_val_events == len(v.train)
    assert pd.Timestamp(auto.inner_cut) <= pd.to_datetime(v.train.timestamp, utc=True).max()
    # Other (later) events in the outer window change nothing.
    other = block.events.sample(frac=1.0, random_state=5).assign(item_id=block.events.item_id.iloc[0])
    p2 = prepare(block.world, v.train, other, id_events=[block.events])
    chosen2, auto2 = resolve_auto("als", p2, params, k=5)
    assert chosen2 == chosen and auto2.scores == auto.scores


def test_tuner_scores_equal_a_fresh_fit_on_the_inner_split_and_are_deterministic(block):
    v = validation_split(block.events)
    p = prepare(block.world, v.train, v.test, id_events=[block.events])
    params = {"factors": 8, "iterations": 20, "recency_weight": AUTO, "recency_half_life_days": AUTO}
    chosen, auto = resolve_auto("bpr", p, params, k=5)
    again, auto2 = resolve_auto("bpr", p, params, k=5)
    assert chosen == again and auto.scores == auto2.scores  # seeded: same fits, same choice
    assert set(chosen) == set(params) and not auto_keys(chosen)
    assert auto.best_score == max(s for _, s in auto.scores)
    assert {"recency_weight": 0.0, "recency_half_life_days": None} in [s for s, _ in auto.scores]
    # The score of a setting is what a model fitted on the inner fit events with it scores.
    inner = validation_split(v.train, fraction=0.2)
    q = prepare(block.world, inner.train, inner.test, id_events=[block.events])
    setting, score = auto.scores[-3]
    fresh, _ = fit_model("bpr", q, {**params, **setting})
    assert score_prepared(fresh, q, 5, freshness=None)[0]["ndcg@5"] == pytest.approx(score, abs=1e-6)


def test_numbers_are_kept_and_weight_zero_needs_no_search(block):
    v = validation_split(block.events)
    p = prepare(block.world, v.train, v.test, id_events=[block.events])
    fixed = {"factors": 4, "recency_weight": 0.5, "recency_half_life_days": 7.0}
    assert resolve_auto("als", p, fixed) == (fixed, None)
    off, auto = resolve_auto("als", p, {"factors": 4, "recency_weight": 0.0, "recency_half_life_days": AUTO})
    assert auto is None and off["recency_half_life_days"] is None
    one, auto = resolve_auto("als", p, {"factors": 4, "iterations": 3, "recency_weight": 1.0,
                                        "recency_half_life_days": AUTO})
    assert one["recency_weight"] == 1.0 and len(auto.scores) == 6  # the half-lives only
    with pytest.raises(ConfigError, match="only"):
        resolve_auto("als", p, {"factors": AUTO})
    with pytest.raises(ConfigError, match="auto"):
        make_model("bpr", recency_weight=AUTO).fit(p.train)
    with pytest.raises(ConfigError, match="auto"):
        make_model("popularity", half_life_days=AUTO).fit(p.train)


def test_comparison_records_the_chosen_values_and_the_recipe(block):
    v = validation_split(block.events)
    comp = run_comparison(["popularity", "als"], v.train, v.test, block.world, k=5, id_events=[block.events],
                          params={"als": {"factors": 4, "iterations": 3}})
    for name, key in (("popularity", "half_life_days"), ("als", "recency_weight")):
        r = comp.results[name]
        assert r.recipe[key] == AUTO and r.params[key] == r.auto.chosen[key] and r.params[key] != AUTO
        assert comp.table.set_index("model").loc[name, "auto_seconds"] == pytest.approx(r.auto.seconds)
    model, _, auto = fit_resolved("als", comp.prepared, comp.results["als"].params)
    assert auto is None  # resolved params refit as given


def test_too_little_data_to_tune_says_so(block):
    from catalog.errors import NotReadyError

    ev = _events([("u1", "b0-i00", 0.0), ("u2", "b0-i01", 1.0)])
    ev.loc[1, "event_type"] = "impression"  # the inner validation window holds no positive
    p = prepare(block.world, ev, ev.iloc[:0])
    with pytest.raises(NotReadyError, match="explicit values"):
        resolve_auto("popularity", p, {"half_life_days": AUTO})
    assert resolve_auto("popularity", p, {"half_life_days": 7.0}) == ({"half_life_days": 7.0}, None)
