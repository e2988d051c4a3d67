"""The validation search: base grid, then the recency prior re-scored on the same fit."""

from __future__ import annotations

import pytest

from training.data import prepare, validation_split
from training.evaluate import fit_model, score_prepared
from training.tuning import best_params, grid, shared_defaults, tune


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


def _trials(rows):
    import pandas as pd

    return pd.DataFrame([{"model": m, "stage": "base", "params": p, "ndcg@10": v, "recall@10": 0.0,
                          "fit_seconds": 0.0} for m, p, v in rows])


def test_shared_defaults_maximise_the_worst_ratio_to_the_tuned_baseline():
    a = _trials([("popularity", {"h": 1}, 0.30), ("popularity", {"h": None}, 0.0),
                 ("als", {"w": 1}, 0.33), ("als", {"w": 2}, 0.20), ("als", {"only_here": 1}, 0.9)])
    b = _trials([("popularity", {"h": 1}, 0.05), ("popularity", {"h": None}, 0.10),
                 ("als", {"w": 1}, 0.09), ("als", {"w": 2}, 0.12)])
    table = shared_defaults({"a": a, "b": b}).set_index("model")
    # w=1: min(0.33/0.30, 0.09/0.10) = 0.9; w=2: min(0.667, 1.2) = 0.667; "only_here" is not on both.
    assert table.loc["als", "params"] == {"w": 1}
    assert table.loc["als", "min_ratio"] == pytest.approx(0.9)
    assert table.loc["als", "a/ndcg@10"] == pytest.approx(0.33)
    assert table.loc["als", "b/ndcg@10"] == pytest.approx(0.09)
    assert table.loc["popularity", "params"] == {"h": 1}  # min(1.0, 0.5) beats min(0.0, 1.0)
    assert list(table.index) == ["als", "popularity"]  # best worst-case ratio first
