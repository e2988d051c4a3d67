from __future__ import annotations

import numpy as np
import pytest

from catalog.errors import ConfigError
from recommender.metrics import evaluate_model
from recommender.split import positive_events
from training.data import prepare
from training.evaluate import compare_models, fit_model, mlflow_key, ranking_metrics, run_comparison, split_events


def test_table_keys_carry_the_list_length(block):
    table = compare_models(["popularity", "ease"], block.events, None, block.world, k=5)
    for key in ("precision@5", "recall@5", "ndcg@5", "map@5", "hit_rate@5", "coverage@5", "novelty@5",
                "stale_share@5", "warm/ndcg@5", "cold_mentee/ndcg@5", "cold_item/recall@5", "fit_seconds"):
        assert key in table.columns
    assert list(table.model) == ["popularity", "ease"]
    assert (table["ndcg@5"].between(0, 1)).all()
    ease = table.set_index("model").loc["ease"]
    assert ease["ndcg@5"] > table.set_index("model").loc["popularity", "ndcg@5"]  # block structure is learnable


def test_metrics_agree_with_the_core_evaluator(block):
    train, test = split_events(block.events)
    comp = run_comparison(["als"], train, test, block.world, k=10, keep_models=True)
    prepared = prepare(block.world, train, test)
    model, _ = fit_model("als", prepared)
    core = evaluate_model(model, prepared.train, positive_events(test)[["user_id", "item_id"]], k=10)
    mine = comp.results["als"].metrics
    for name in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty"):
        assert mine[f"{name}@10"] == pytest.approx(core[f"{name}_at_10"])
    assert comp.results["als"].ndcg_curve[9] == pytest.approx(mine["ndcg@10"])  # curve at k=10 is the metric


def test_leave_last_n_split_and_unknown_split(block):
    table = compare_models(["popularity"], block.events, None, block.world, k=10, split="leave_last_n", n=1)
    assert table.loc[0, "n_users"] > 0
    with pytest.raises(ConfigError):
        compare_models(["popularity"], block.events, None, block.world, split="random")


def test_mlflow_key_removes_the_at_sign():
    assert mlflow_key("ndcg@10") == "ndcg_at_10"
    assert mlflow_key("cold_item/recall@5") == "cold_item/recall_at_5"


def test_slices_by_hand():
    """Two users: u0 has history (warm), u1 none (cold mentee); item 3 nobody used (cold item)."""
    from catalog.ids import IdMap
    from recommender.interactions import build_interactions
    import pandas as pd
    import scipy.sparse as sp

    users, items = IdMap(["u0", "u1"]), IdMap(["a", "b", "c", "d"])
    ev = pd.DataFrame({"user_id": ["u0"], "item_id": ["a"], "event_type": ["view"],
                       "timestamp": pd.to_datetime(["2026-01-01"], utc=True)})
    train = build_interactions(ev, users=users, items=items)
    truth = sp.csr_matrix(np.array([[0, 1, 0, 1], [0, 0, 1, 0]], dtype=bool))
    ranked = np.array([[3, 2], [2, 1]])  # u0: cold item d first (hit), c (miss); u1: c first (hit)
    m = ranking_metrics(np.array([0, 1]), ranked, truth, train, 2)
    assert m["precision@2"] == pytest.approx((0.5 + 0.5) / 2)
    assert m["recall@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["warm/n_users"] == 1 and m["cold_mentee/n_users"] == 1
    assert m["cold_mentee/ndcg@2"] == pytest.approx(1.0)
    assert m["warm/ndcg@2"] == pytest.approx(1.0 / (1.0 + 1.0 / np.log2(3)))
    # cold items: b, c, d (only a was used in training); u0 found d but not b -> 0.5; u1 found c -> 1
    assert m["cold_item/recall@2"] == pytest.approx(0.75) and m["cold_item/n_users"] == 2
