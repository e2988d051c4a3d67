"""Metrics against examples computed by hand (see the comments)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from catalog.ids import IdMap
from recommender.interactions import Interactions
from recommender.metrics import (
    catalog_coverage, evaluate_model, hit_rate_at_k, item_self_information, map_at_k, ndcg_at_k, novelty,
    precision_at_k, recall_at_k, stale_share,
)
from recommender.models import make_model

RANKED = [3, 1, 7, 5, 2]
RELEVANT = {1, 2, 9}  # hits at ranks 2 and 5


def test_ranking_metrics_at_5():
    assert precision_at_k(RANKED, RELEVANT, 5) == pytest.approx(2 / 5)
    assert recall_at_k(RANKED, RELEVANT, 5) == pytest.approx(2 / 3)
    assert hit_rate_at_k(RANKED, RELEVANT, 5) == 1.0
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(RANKED, RELEVANT, 5) == pytest.approx(dcg / idcg)  # 0.4776
    assert map_at_k(RANKED, RELEVANT, 5) == pytest.approx((1 / 2 + 2 / 5) / 3)  # 0.3


def test_ranking_metrics_at_smaller_k_and_edge_cases():
    assert precision_at_k(RANKED, RELEVANT, 1) == 0.0 and ndcg_at_k(RANKED, RELEVANT, 1) == 0.0
    assert hit_rate_at_k(RANKED, RELEVANT, 1) == 0.0
    assert ndcg_at_k(RANKED, RELEVANT, 2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert map_at_k(RANKED, RELEVANT, 2) == pytest.approx((1 / 2) / 2)
    # -1 pads a short list; it never counts as a hit and k stays the denominator of precision.
    assert precision_at_k([1, -1, -1], {1}, 3) == pytest.approx(1 / 3)
    assert ndcg_at_k([1, -1, -1], {1}, 3) == 1.0 and map_at_k([1, -1, -1], {1}, 3) == 1.0
    assert recall_at_k([1], set(), 1) == 0.0 and ndcg_at_k([1], set(), 1) == 0.0
    with pytest.raises(ValueError):
        precision_at_k(RANKED, RELEVANT, 0)


def test_list_metrics():
    lists = [[0, 1], [1, 2], [-1, -1]]
    assert catalog_coverage(lists, 10) == pytest.approx(3 / 10)
    info = item_self_information([3, 0, 7], n_users=7)  # p = 4/8, 1/8, 8/8
    np.testing.assert_allclose(info, [1.0, 3.0, 0.0])
    assert novelty(lists, info) == pytest.approx((1 + 3 + 3 + 0) / 4)
    assert stale_share(lists, [0.9, 0.2, 0.5], threshold=0.5) == pytest.approx(2 / 4)  # 0.5 is not stale
    assert novelty([[-1]], info) == 0.0


def _interactions(matrix, dismissed=None) -> Interactions:
    m = sp.csr_matrix(np.asarray(matrix, np.float32))
    d = sp.csr_matrix(np.zeros(m.shape, bool) if dismissed is None else np.asarray(dismissed, bool))
    return Interactions(matrix=m, dismissed=d, seen=sp.csr_matrix(m > 0) + d, users=IdMap(["a", "b", "c"]),
                        items=IdMap(["w", "x", "y", "z"]))


def test_evaluate_model_by_hand():
    # Popularity [1, .5, 0, 0]; u0 saw item 0, u1 items 0-1, u2 nothing (cold).
    train = _interactions([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
    test = sp.csr_matrix(np.array([[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]], np.float32))
    model = make_model("popularity").fit(train)
    r = evaluate_model(model, train, test, k=2, freshness=[1.0, 0.1, 1.0, 1.0])
    # u0 gets [1, 2] (hit at 2), u1 gets [2, 3] (hit at 2), u2 gets [0, 1] (hit at 1).
    half = 1 / math.log2(3)
    assert r["n_users"] == 3
    assert r["ndcg_at_2"] == pytest.approx((half + half + 1) / 3)
    assert r["precision_at_2"] == pytest.approx(0.5) and r["recall_at_2"] == pytest.approx(1.0)
    assert r["map_at_2"] == pytest.approx((0.5 + 0.5 + 1) / 3)
    assert r["coverage_at_2"] == 1.0
    assert r["stale_share_at_2"] == pytest.approx(2 / 6)  # item 1 is stale, recommended twice
    assert r["warm/ndcg_at_2"] == pytest.approx(half) and r["cold/ndcg_at_2"] == pytest.approx(1.0)
    assert r["warm/n_users"] == 2 and r["cold/n_users"] == 1
    assert all(isinstance(v, float) for v in r.values())
    assert not any("@" in key for key in r)  # MLflow metric names cannot hold '@'


def test_evaluate_model_excludes_dismissed_and_accepts_pairs():
    train = _interactions([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]],
                          dismissed=[[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]])
    model = make_model("popularity").fit(train)
    pairs = pd.DataFrame({"user_id": ["c", "a", "ghost"], "item_id": ["w", "x", "w"]})
    r = evaluate_model(model, train, pairs, k=2, exclude_seen=False, slices={"c-only": [2]})
    # c dismissed w: never recommended to c even with exclude_seen=False, a miss.
    # a (seen items allowed) gets [w, x]: hit at 2. 'ghost' is unknown: dropped.
    assert r["n_users"] == 2
    assert r["c-only/ndcg_at_2"] == 0.0 and r["c-only/n_users"] == 1
    assert r["ndcg_at_2"] == pytest.approx((1 / math.log2(3)) / 2)
    # With exclude_seen, held-out items already seen or dismissed in training leave the truth
    # (c's w); a, whose seen w is now skipped, gets [x, y]: hit at 1.
    r = evaluate_model(model, train, pairs, k=2)
    assert r["n_users"] == 1 and r["ndcg_at_2"] == 1.0
