"""Sanity check of quality: collaborative models beat popularity on block-structured data.

Not a benchmark (that is benchmarks/models_quality.py): a guard that the models learn
the structure at all. Seeds fixed; thresholds far from the measured values.
"""

from __future__ import annotations

import pytest

from recommender.metrics import evaluate_model
from recommender.models import make_model

FAST = {
    "popularity": {},
    "als": {"factors": 16, "iterations": 10},
    "ease": {"regularization": 50.0},
    "lightfm": {"no_components": 16, "epochs": 20},
}


@pytest.fixture(scope="module")
def ndcg(block_split):
    data, train, test, feats = block_split
    out = {}
    for name, params in FAST.items():
        model = make_model(name, **params)
        itf, uf = feats.for_model(model)
        model.fit(train, item_features=itf, user_features=uf)
        out[name] = evaluate_model(model, train, test, k=10)["ndcg_at_10"]
    return out


@pytest.mark.parametrize("name", ["als", "ease", "lightfm"])
def test_beats_popularity_on_ndcg_at_10(ndcg, name):
    assert ndcg[name] > 1.5 * ndcg["popularity"], ndcg
