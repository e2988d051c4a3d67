"""The validation search: base grid, then the recency prior re-scored on the same fit."""

from __future__ import annotations

import pytest

from training.data import prepare, validation_split
from training.evaluate import fit_model, score_prepared
from training.tuning import best_params, grid, tune


def test_grid_is_every_combination():
    assert grid({"a": [1, 2], "b": [None]}) == [{"a": 1, "b": None}, {"a": 2, "b": None}]
    assert grid({}) == [{}]


def test_tune_searches_base_then_prior_and_never_refits_for_the_prior(block):
    v = validation_split(block.events)
    grids = {"als": {"factors": [4, 8], "iterations": [3]}, "popularity": {"half_life_days": [7.0, None]}}
    priors = {"als": {"recency_weight": [0.0, 0.5], "recency_half_life_days": [7.0]}}
    trials = tune(["als", "popularity"], v.train, v.test, block.world, k=5, grids=grids, prior_grids=priors,
                  id_events=[block.events])
    als = trials[trials.model == "als"]
    assert als.stage.tolist() == ["base", "base", "prior", "prior"]
    assert all(p["recency_weight"] == 0.0 for p in als[als.stage == "base"].params)
    base_best = als[als.stage == "base"].sort_values("ndcg@5", ascending=False, kind="stable").iloc[0]
    prior_rows = als[als.stage == "prior"]
    assert all(p["factors"] == base_best.params["factors"] for p in prior_rows.params)
    # Weight 0 in stage 2 is exactly the best base trial again; prior trials reuse its fit time.
    assert prior_rows.iloc[0]["ndcg@5"] == pytest.approx(base_best["ndcg@5"])
    assert (prior_rows.fit_seconds == base_best.fit_seconds).all()
    assert trials[trials.model == "popularity"].stage.tolist() == ["base", "base"]
    # A prior trial scores what a fresh fit with those parameters scores (tuning is not flattered).
    p = prepare(block.world, v.train, v.test, id_events=[block.events])
    fresh, _ = fit_model("als", p, prior_rows.iloc[1].params)
    assert score_prepared(fresh, p, 5, freshness=None)[0]["ndcg@5"] == pytest.approx(prior_rows.iloc[1]["ndcg@5"])
    best = best_params(trials, k=5)
    assert set(best) == {"als", "popularity"}
    assert best["als"] == dict(als.loc[als["ndcg@5"].idxmax(), "params"])
