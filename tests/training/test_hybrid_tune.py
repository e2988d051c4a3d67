"""The hybrid weight tuner: the most learning weight within the NDCG budget, never beyond it; and
the shipped defaults are the tuner's recorded result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.hybrid import DEFAULT_WEIGHTS, PARTS, HybridInputs
from recommender.paths.planner import LearningPath
from training.hybrid_eval import tune_weights

ROOT = Path(__file__).resolve().parents[2]


def _inputs(n_items: int, n_users: int, truth_cost: bool):
    """Per user: CF ranks the true item first; the plan part marks another item. With
    ``truth_cost`` the plan item displaces the true item from the top (NDCG falls by a third)."""
    rng = np.random.default_rng(0)
    inputs, rows = [], []
    for u in range(n_users):
        order = rng.permutation(n_items)
        true_item, plan_item = int(order[0]), int(order[1])
        parts = np.zeros((n_items, len(PARTS)))
        parts[:, 0] = np.linspace(1.0, 0.1, n_items)[np.argsort(order)]  # true item best, plan item second
        parts[plan_item, PARTS.index("plan")] = 1.0
        if not truth_cost:
            parts[true_item, PARTS.index("plan")] = 1.0  # plan agrees with the truth: free learning weight
        inputs.append(HybridInputs(parts, np.ones(n_items, bool), LearningPath([]), np.zeros(1, np.int64)))
        rows.append([true_item])
    truth = sp.csr_matrix((np.ones(n_users), (np.arange(n_users), [r[0] for r in rows])), shape=(n_users, n_items))
    return inputs, truth, np.arange(n_users)


def test_tuner_keeps_the_plan_only_within_the_ndcg_budget(tiny_world):
    n = tiny_world.catalog.n_items
    grid = {"plan": [0.0, 1.0], "goal": [0.0], "gap": [0.0], "explore": [0.0], "diversity": [0.0]}
    inputs, truth, users = _inputs(n, 20, truth_cost=False)
    cheap = tune_weights(tiny_world, inputs, truth, users, cf_ndcg=1.0, grid=grid)
    assert cheap.chosen.plan == 1.0  # learning weight at no NDCG cost is taken
    inputs, truth, users = _inputs(n, 20, truth_cost=True)
    costly = tune_weights(tiny_world, inputs, truth, users, cf_ndcg=1.0, grid=grid)
    assert costly.chosen.plan == 0.0  # a third of the NDCG is beyond the 2 % budget
    assert {round(t[1], 3) for t in costly.trials} == {1.0, round(1 / np.log2(3), 3)}


def test_shipped_default_weights_are_the_recorded_tuner_result():
    """``DEFAULT_WEIGHTS`` must be what ``benchmarks/hybrid.py`` chose on the synthetic world's
    validation split (recorded with the figures), not a hand-picked setting."""
    rec = json.loads((ROOT / "benchmarks" / "results" / "hybrid_synth_temporal.json").read_text())
    assert rec["weights"] == DEFAULT_WEIGHTS.to_dict()
