"""The tuner's all-rows ranking and NDCG (training.autoprior.top_rows) against the general top-k and
metrics they replace on the tuner's path: same lists (ties to the lower index, excluded items never
returned, short rows padded) and the same NDCG, so the chosen recency settings cannot change."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.metrics import ndcg_at_k
from recommender.topk import topk
from training.autoprior import _ndcg_rows, top_rows


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_top_rows_matches_topk_with_ties_and_exclusions(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    m, n = 40, 60
    scores = rng.integers(0, 6, size=(m, n)).astype(np.float32)  # many ties
    banned = rng.random((m, n)) < 0.3
    banned[0, :] = True  # a row with nothing left
    banned[1, : n - 3] = True  # a row shorter than k
    want = topk(scores, k, exclude=sp.csr_matrix(banned))[0]
    masked = scores.copy()
    masked[banned] = -np.inf
    got = top_rows(masked, k)
    np.testing.assert_array_equal(got, want)
    assert (got[0] == -1).all() and (got[1, 3:] == -1).all()


def test_ndcg_rows_matches_ndcg_at_k() -> None:
    rng = np.random.default_rng(3)
    m, n, k = 50, 30, 10
    relevant = rng.random((m, n)) < 0.15
    relevant[0] = False  # a mentee without positives scores 0
    ranked = np.stack([rng.permutation(n)[:k] for _ in range(m)])
    ranked[5, 7:] = -1  # a padded list
    got = _ndcg_rows(ranked, relevant, k)
    want = [ndcg_at_k(ranked[r], np.flatnonzero(relevant[r]), k) for r in range(m)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert got[0] == 0.0 and got.max() > 0
