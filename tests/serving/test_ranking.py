"""The numpy stand-in ranks exactly like the rule the kernels implement."""

from __future__ import annotations

import numpy as np

from serving.ranking import NumpyScoringIndex


def _brute(scores, k, banned):
    order = sorted((i for i in range(len(scores)) if not banned[i]), key=lambda i: (-scores[i], i))
    return order[:k]


def test_matches_brute_force_with_ties_masks_exclusions_and_decay():
    rng = np.random.default_rng(0)
    n, d = 200, 4
    V = np.round(rng.normal(size=(n, d)), 1).astype(np.float32)  # rounding makes ties
    bias = np.round(rng.normal(size=n), 1).astype(np.float32)
    lf = np.log(rng.uniform(0.1, 1.0, n)).astype(np.float32)
    active = rng.uniform(size=n) > 0.1
    idx = NumpyScoringIndex(V, item_bias=bias, log_freshness=lf, freshness_weight=0.7, active=active)
    for trial in range(20):
        u = np.round(rng.normal(size=d), 0).astype(np.float32)
        allow = rng.uniform(size=n) > 0.3
        exclude = rng.choice(n, 15, replace=False)
        decay = bool(trial % 2)
        got, vals = idx.recommend(u, 10, exclude=exclude, allow=allow, decay=decay)
        scores = idx.matrix_ @ idx.query(u, decay=decay)  # the same float32 arithmetic
        assert np.allclose(scores, V @ u + bias + (0.7 * lf if decay else 0), atol=1e-5)
        banned = ~active | ~allow
        banned[exclude] = True
        assert got.tolist() == _brute(scores.astype(np.float32), 10, banned)
        assert np.all(np.diff(vals) <= 0)
        batch = idx.recommend_batch(u[None], 10, exclude=[exclude], allow=allow, decay=decay)[0][0]
        assert batch.tolist() == got.tolist()


def test_score_vector_adds_decay_and_returns_fewer_when_few_remain():
    idx = NumpyScoringIndex.for_scores(4, log_freshness=np.log([1.0, 0.5, 1.0, 1.0]), freshness_weight=1.0,
                                       active=np.array([True, True, True, False]))
    got, vals = idx.score_vector(np.array([1.0, 1.5, 0.2, 9.0], np.float32), 10)
    assert got.tolist() == [0, 1, 2]  # 1.5 + log 0.5 = 0.81 < 1.0; item 3 is inactive
    assert np.isclose(vals[1], 1.5 + np.log(0.5))
    assert idx.score_vector(np.zeros(4, np.float32), 2, decay=False)[0].tolist() == [0, 1]
