"""Pair ages, recency-weighted popularity and the recency prior of the personalised models."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from catalog.errors import ConfigError, IntegrityError
from recommender.interactions import build_id_maps, build_interactions
from recommender.models import load_model, make_model
from recommender.models.artifact import ARRAYS_FILE, MANIFEST_FILE, sha256_file
from recommender.models.recency import recency_popularity
from recommender.topk import ScoringIndex

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
PRIOR_MODELS = {
    "als": {"factors": 4, "iterations": 5, "random_state": 1},
    "bpr": {"factors": 4, "iterations": 20, "random_state": 1},
    "ease": {"regularization": 10.0},
    "lightfm": {"no_components": 4, "epochs": 5, "random_state": 1},
}


def frame(rows) -> pd.DataFrame:
    """rows: (user, item, type, day offset from T0)."""
    df = pd.DataFrame([{"user_id": u, "item_id": i, "event_type": t, "timestamp": T0 + timedelta(days=d)}
                       for u, i, t, d in rows])
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return df


@pytest.fixture(scope="module")
def trend():
    """'old' was the favourite 200 days ago (30 mentees), 'new' is this week's (10 mentees);
    background items keep every mentee's history non-trivial. Cutoff: day 300."""
    rng = np.random.default_rng(0)
    rows = [(f"u{u:02d}", "old", "complete", 100) for u in range(30)]
    rows += [(f"u{u:02d}", "new", "complete", 298) for u in range(30, 40)]
    for u in range(40):
        for i in rng.choice(8, size=3, replace=False):
            rows.append((f"u{u:02d}", f"bg{i}", "view", int(rng.integers(0, 300))))
    events = frame(rows)
    users, items = build_id_maps(events)
    return build_interactions(events, users=users, items=items, now=T0 + timedelta(days=300))


# ------------------------------------------------------------------ pair ages
def test_ages_are_days_since_the_latest_positive_event_at_now():
    df = frame([("a", "x", "view", 0), ("a", "x", "complete", 4), ("a", "y", "view", 9), ("b", "y", "impression", 9),
                ("b", "x", "view", 1)])
    users, items = build_id_maps(df)
    it = build_interactions(df, users=users, items=items, now=T0 + timedelta(days=10))
    assert it.ages_for(it.matrix) is not None
    ages = sp.csr_matrix((it.age_days.data, it.age_days.indices, it.age_days.indptr), shape=it.shape).toarray()
    a, b, x, y = users.index("a"), users.index("b"), items.index("x"), items.index("y")
    assert ages[a, x] == pytest.approx(6.0) and ages[a, y] == pytest.approx(1.0) and ages[b, x] == pytest.approx(9.0)
    # Without now, ages count from the latest event (day 9); an event at that instant keeps a stored 0.
    it2 = build_interactions(df, users=users, items=items)
    assert it2.age_days.nnz == it2.matrix.nnz
    assert sorted(it2.age_days.data.tolist()) == pytest.approx([0.0, 5.0, 8.0])


def test_ages_stay_aligned_when_decayed_weights_underflow():
    df = frame([("a", "x", "view", 0), ("a", "y", "view", 999)])
    users, items = build_id_maps(df)
    it = build_interactions(df, users=users, items=items, now=T0 + timedelta(days=1000), half_life_days=1.0)
    assert it.matrix.nnz == 1 and it.ages_for(it.matrix) is not None
    assert it.age_days.data.tolist() == pytest.approx([1.0])


# ------------------------------------------------------- recency popularity
def test_recency_popularity_decays_by_half_life(trend):
    items = trend.items
    old, new = items.index("old"), items.index("new")
    all_time = recency_popularity(trend, half_life_days=None, binary=True)
    assert all_time[old] == 1.0 and all_time[new] == pytest.approx(10 / 30)
    recent = recency_popularity(trend, half_life_days=7.0, binary=True)
    assert recent[new] == 1.0 and recent[old] < 1e-5
    # 200 days vs 2 days at a 100-day half-life: 30 * 2**-2 = 7.5 vs 10 * 2**-0.02
    mid = recency_popularity(trend, half_life_days=100.0, binary=True)
    assert mid[old] / mid[new] == pytest.approx(30 * 2**-2 / (10 * 2**-0.02), rel=1e-5)


def test_recency_popularity_needs_the_ages(trend):
    with pytest.raises(ConfigError):
        recency_popularity(trend.matrix, half_life_days=7.0)
    np.testing.assert_allclose(recency_popularity(trend.matrix, half_life_days=None),
                               recency_popularity(trend, half_life_days=None))
    with pytest.raises(ConfigError):
        recency_popularity(trend, half_life_days=0.0)


def test_popularity_model_is_recency_weighted(trend):
    old, new = trend.items.index("old"), trend.items.index("new")
    top = make_model("popularity", binary=True).fit(trend).recommend(-1, None, k=1)[0]
    assert top.tolist() == [old]
    top = make_model("popularity", binary=True, half_life_days=7.0).fit(trend).recommend(-1, None, k=1)[0]
    assert top.tolist() == [new]
    with pytest.raises(ConfigError):
        make_model("popularity", half_life_days=7.0).fit(trend.matrix)  # a bare matrix has no ages
    with pytest.raises(ConfigError):
        make_model("popularity", half_life_days=-1.0).fit(trend)


# ------------------------------------------------------------ recency prior
@pytest.mark.parametrize("name", sorted(PRIOR_MODELS))
def test_prior_pulls_rankings_toward_recently_popular_items(trend, name):
    old, new = trend.items.index("old"), trend.items.index("new")
    cold = sp.csr_matrix((1, trend.shape[1]), dtype=np.float32)

    def rank_of(item: int, **prior) -> int:
        m = make_model(name, **PRIOR_MODELS[name], **prior).fit(trend)
        order = np.argsort(-m.score([-1], cold)[0], kind="stable")
        return int(np.flatnonzero(order == item)[0])

    assert rank_of(new, recency_weight=10.0, recency_half_life_days=7.0) == 0
    assert rank_of(old, recency_weight=10.0, recency_half_life_days=None) == 0
    # A warm mentee (a fan of 'old'): the recent favourite moves up with the prior.
    m0 = make_model(name, **PRIOR_MODELS[name]).fit(trend)
    m1 = make_model(name, **PRIOR_MODELS[name], recency_weight=1.0, recency_half_life_days=7.0).fit(trend)
    u = trend.users.index("u00")
    s0, s1 = m0.score([u], trend.matrix[u])[0], m1.score([u], trend.matrix[u])[0]
    assert (s1 > s1[new]).sum() < (s0 > s0[new]).sum() or (s0 > s0[new]).sum() == 0


@pytest.mark.parametrize("name", sorted(PRIOR_MODELS))
def test_zero_weight_is_exactly_the_model_without_prior(trend, name):
    users = np.arange(10)
    plain = make_model(name, **PRIOR_MODELS[name]).fit(trend)
    off = make_model(name, **PRIOR_MODELS[name], recency_weight=0.0, recency_half_life_days=3.0).fit(trend)
    np.testing.assert_array_equal(plain.score(users, trend.matrix[users]), off.score(users, trend.matrix[users]))
    assert off.item_prior_ is None
    if name == "als":
        assert off.item_bias_ is None


@pytest.mark.parametrize("name", sorted(PRIOR_MODELS))
def test_refit_prior_equals_a_fresh_fit_and_undoes_cleanly(trend, name):
    users = np.arange(12)
    H = trend.matrix[users]
    prior = {"recency_weight": 0.5, "recency_half_life_days": 14.0}
    fresh = make_model(name, **PRIOR_MODELS[name], **prior).fit(trend)
    m = make_model(name, **PRIOR_MODELS[name]).fit(trend)
    base = m.score(users, H)
    m.set_params(**prior).refit_prior(trend)
    np.testing.assert_allclose(m.score(users, H), fresh.score(users, H), rtol=1e-6, atol=1e-6)
    m.set_params(recency_weight=0.0).refit_prior(trend)
    np.testing.assert_allclose(m.score(users, H), base, rtol=1e-6, atol=1e-5)
    assert m.item_prior_ is None


@pytest.mark.parametrize("name", ["als", "bpr", "lightfm"])
def test_prior_is_folded_into_the_serving_index(trend, name):
    m = make_model(name, **PRIOR_MODELS[name], recency_weight=2.0, recency_half_life_days=7.0).fit(trend)
    index = ScoringIndex(m.item_factors_, item_bias=m.item_bias_)
    u = trend.users.index("u35")
    np.testing.assert_allclose(index.scores(m.user_factors_[u], decay=False), m.score([u], trend.matrix[u])[0],
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(PRIOR_MODELS))
def test_prior_survives_save_and_load(trend, name, tmp_path: Path):
    m = make_model(name, **PRIOR_MODELS[name], recency_weight=1.0, recency_half_life_days=7.0).fit(trend)
    digest = m.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m", expected_sha256=digest)
    np.testing.assert_array_equal(loaded.item_prior_, m.item_prior_)
    users = np.arange(6)
    np.testing.assert_array_equal(loaded.score(users, trend.matrix[users]), m.score(users, trend.matrix[users]))
    # The loaded model can still re-weigh its prior.
    loaded.set_params(recency_weight=0.0).refit_prior(trend)
    assert loaded.item_prior_ is None


@pytest.mark.parametrize("name", ["als", "ease"])
def test_artifacts_saved_before_the_prior_still_load(trend, name, tmp_path: Path):
    m = make_model(name, **PRIOR_MODELS[name]).fit(trend)
    path = tmp_path / "m"
    m.save(path)
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    del manifest["arrays"]["item_prior_"]
    for key in ("recency_weight", "recency_half_life_days", "recency_epsilon"):
        del manifest["params"][key]
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))
    loaded = load_model(path)
    assert loaded.item_prior_ is None
    np.testing.assert_array_equal(loaded.score([0, 1], trend.matrix[:2]), m.score([0, 1], trend.matrix[:2]))


def test_a_prior_of_the_wrong_length_is_refused(trend, tmp_path: Path):
    m = make_model("ease", **PRIOR_MODELS["ease"], recency_weight=1.0, recency_half_life_days=7.0).fit(trend)
    path = tmp_path / "m"
    m.save(path)
    arrays = dict(np.load(path / ARRAYS_FILE, allow_pickle=False))
    arrays["item_prior_"] = arrays["item_prior_"][:-1]
    np.savez(path / ARRAYS_FILE, **arrays)
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    manifest["arrays_sha256"] = sha256_file(path / ARRAYS_FILE)
    manifest["arrays"]["item_prior_"]["shape"] = list(arrays["item_prior_"].shape)
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError):
        load_model(path)


@pytest.mark.parametrize("name", sorted(PRIOR_MODELS))
def test_new_items_get_the_prior_of_an_unused_item(trend, name):
    m = make_model(name, **PRIOR_MODELS[name], recency_weight=1.0, recency_half_life_days=7.0,
                   recency_epsilon=0.01).fit(trend)
    n0 = m.n_items_
    m.add_items(n=2) if m.feature_kind is None else m.add_items(sp.csr_matrix((2, m.item_feature_embeddings_.shape[0])))
    assert m.item_prior_.shape == (n0 + 2,)
    np.testing.assert_allclose(m.item_prior_[n0:], np.log(0.01), rtol=1e-6)
    assert np.isfinite(m.score([0], trend.matrix[0])).all()


@pytest.mark.parametrize("bad", [{"recency_weight": -1.0}, {"recency_weight": 1.0, "recency_half_life_days": 0.0},
                                 {"recency_weight": 1.0, "recency_epsilon": 0.0}])
def test_bad_prior_parameters_are_refused(trend, bad):
    with pytest.raises(ConfigError):
        make_model("als", **PRIOR_MODELS["als"], **bad).fit(trend)
