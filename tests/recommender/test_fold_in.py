"""Online adaptation: fold-in moves a mentee's recommendations without retraining."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.models import make_model
from recommender.models.factor import project_user

PARAMS = {
    "als": {"factors": 8, "iterations": 10, "random_state": 0},
    "bpr": {"factors": 8, "iterations": 50, "random_state": 0},
    "ease": {"regularization": 10.0},
    "lightfm": {"no_components": 8, "epochs": 20, "random_state": 0},
    "content": {},
}
COMPLETE = 4.0


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_completing_a_new_cluster_moves_top_k_toward_it(blocks, name):
    model = make_model(name, **PARAMS[name])
    itf, uf = blocks.features.for_model(model)
    model.fit(blocks.train, item_features=itf, user_features=uf)
    u = blocks.user_of_block(0)
    before_row = blocks.train.matrix[u]
    target = blocks.block_items(2)
    k = 5

    def share(row: sp.csr_matrix) -> float:
        ids, _ = model.recommend(-1, row, k, user_features_row=None if uf is None else uf[u])
        return float(np.isin(ids, target).mean())

    before = share(before_row)
    # The mentee completes four block-2 items, more than their block-0 history weighs.
    done = target[:4]
    added = sp.csr_matrix((np.full(len(done), COMPLETE, np.float32), (np.zeros(len(done), int), done)),
                          shape=before_row.shape)
    after = share(before_row + 4 * added)
    assert before <= 0.2, before
    # The content model still honours the mentee's stated goal (block 0) first, by design.
    assert after >= (0.4 if name == "content" else 0.6), (before, after)
    # The learned state did not change: no retraining happened.
    np.testing.assert_array_equal(model.score([u], before_row), make_model(name, **PARAMS[name]).fit(
        blocks.train, item_features=itf, user_features=uf).score([u], before_row))


def test_als_fold_in_equals_implicit_recalculate_user(blocks):
    from implicit.cpu.als import AlternatingLeastSquares

    model = make_model("als", factors=8, iterations=5, alpha=2.0, random_state=0).fit(blocks.train)
    ref = AlternatingLeastSquares(factors=8, regularization=model.regularization, alpha=2.0, iterations=5,
                                  random_state=0, num_threads=1)
    ref.fit(blocks.train.matrix, show_progress=False)
    for u in (0, 5, 17):
        row = blocks.train.matrix[u]
        np.testing.assert_allclose(model.fold_in(row), ref.recalculate_user(u, row), rtol=1e-4, atol=1e-5)
        # Folding in a known user's own history lands close to the learned factors (which
        # the last half-sweep's item update has moved a little).
        a, b = model.fold_in(row), model.user_factors_[u]
        assert a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.97


def test_project_user_with_empty_history_returns_the_prior():
    V = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    empty = sp.csr_matrix((1, 6), dtype=np.float32)
    assert not project_user(V, V.T @ V, empty, regularization=1.0).any()
    prior = np.array([1.0, -2.0, 0.5])
    # With no history: (V^T V + reg I) u = reg u0 -- the prior shrunk by the no-interaction evidence.
    got = project_user(V, V.T @ V, empty, regularization=1.0, prior=prior)
    np.testing.assert_allclose(got, np.linalg.solve(V.T @ V + np.eye(3), prior), rtol=1e-5)


def test_lightfm_fold_in_without_history_is_the_feature_representation(blocks):
    model = make_model("lightfm", no_components=8, epochs=5, random_state=0)
    itf, uf = blocks.features.for_model(model)
    model.fit(blocks.train, item_features=itf, user_features=uf)
    np.testing.assert_allclose(model.fold_in(None, user_features_row=uf[3]), model.user_factors_[3], rtol=1e-5)
