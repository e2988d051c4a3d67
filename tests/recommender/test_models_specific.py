"""Behaviour particular to one model (the shared contract is in test_model_contract.py)."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from catalog.errors import ConfigError
from catalog.ids import IdMap
from recommender.interactions import build_interactions
from recommender.models import make_model


def test_implicit_als_entry_point_is_a_factory_and_we_use_the_cpu_class(blocks):
    import implicit.als
    import implicit.cpu.als

    assert inspect.isfunction(implicit.als.AlternatingLeastSquares)  # NOTES.md: a factory, not a class
    assert inspect.isclass(implicit.cpu.als.AlternatingLeastSquares)
    src = inspect.getsource(__import__("recommender.models.als", fromlist=["x"]))
    assert "from implicit.cpu.als import AlternatingLeastSquares" in src


def test_lightfm_scores_equal_lightfm_predict_with_features(blocks):
    from lightfm import LightFM

    params = {"no_components": 8, "epochs": 5, "random_state": 2}
    model = make_model("lightfm", **params)
    itf, uf = blocks.features.for_model(model)
    model.fit(blocks.train, item_features=itf, user_features=uf)
    ref = LightFM(no_components=8, loss="warp", learning_rate=0.05, max_sampled=10,
                  random_state=np.random.RandomState(2))
    coo = blocks.train.matrix.tocoo()
    ref.fit(sp.coo_matrix((np.ones_like(coo.data), (coo.row, coo.col)), shape=coo.shape), user_features=uf,
            item_features=itf, sample_weight=coo, epochs=5, num_threads=1)
    u = 4
    expected = ref.predict(u, np.arange(blocks.train.shape[1]), user_features=uf, item_features=itf)
    got = model.score([u], blocks.train.matrix[u])[0] + model.user_bias_[u]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_recency_weighted_popularity_prefers_what_is_popular_now():
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    rows = [(f"u{i}", "old-hit", now - timedelta(days=300)) for i in range(5)]
    rows += [(f"u{i}", "new-hit", now - timedelta(days=5)) for i in range(3)]
    ev = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]).assign(event_type="complete")
    users, items = IdMap([f"u{i}" for i in range(5)]), IdMap(["old-hit", "new-hit"])
    plain = make_model("popularity").fit(build_interactions(ev, users=users, items=items))
    recent = make_model("popularity").fit(build_interactions(ev, users=users, items=items, now=now,
                                                             half_life_days=30.0))
    assert plain.recommend(-1, None, 1)[0].tolist() == [0]
    assert recent.recommend(-1, None, 1)[0].tolist() == [1]


def test_ease_refuses_catalogs_beyond_max_items(blocks):
    with pytest.raises(ConfigError):
        make_model("ease", max_items=10).fit(blocks.train)


def test_content_needs_skill_features(blocks):
    with pytest.raises(ConfigError):
        make_model("content").fit(blocks.train)
    itf, _ = blocks.features.for_model("skills")
    with pytest.raises(ConfigError):
        make_model("content").fit(blocks.train, item_features=itf, user_features=sp.csr_matrix((60, 3)))


def test_fit_rejects_negative_or_mismatched_input(blocks):
    bad = blocks.train.matrix.copy()
    bad.data[0] = -1.0
    with pytest.raises(ConfigError):
        make_model("als").fit(bad)
    with pytest.raises(ConfigError):
        make_model("lightfm").fit(blocks.train, item_features=sp.identity(3, format="csr"))
