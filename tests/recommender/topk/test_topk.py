"""Exact top-k: the selection function and ScoringIndex against a brute-force full sort."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.errors import ConfigError, IntegrityError, UnknownItemError
import scipy.sparse as sp

from recommender.topk import ScoringIndex, log_freshness, topk


def brute(scores, k, allow=None, exclude=()):
    """Reference: full stable sort, score desc then index asc; NaN/-inf unavailable."""
    s = np.asarray(scores, dtype=np.float64)
    ok = ~np.isnan(s) & (s > -np.inf)
    if allow is not None:
        ok &= allow
    ok[list(exclude)] = False
    idx = np.flatnonzero(ok)
    order = np.lexsort((idx, -s[idx]))
    return idx[order][:k]


# ---------------------------------------------------------------- primitives
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n,k", [(1, 1), (7, 3), (100, 10), (1000, 20), (5000, 100), (50, 80)])
def test_topk_matches_full_sort(seed, n, k):
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(n).astype(np.float32)
    idx, vals = topk(s, k)
    np.testing.assert_array_equal(idx, brute(s, k))
    np.testing.assert_array_equal(vals, s[idx])
    assert idx.dtype == np.int64 and vals.dtype == np.float32


scores_st = st.lists(
    st.one_of(st.integers(-3, 3).map(float), st.sampled_from([np.nan, -np.inf, np.inf])),
    min_size=0, max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(scores=scores_st, k=st.integers(0, 70), data=st.data())
def test_topk_ties_specials_masks_exclusions(scores, k, data):
    s = np.array(scores, dtype=np.float64)
    n = s.size
    allow = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    exclude = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=5)) if n else []
    idx, vals = topk(s, k, allow=allow, exclude=exclude)
    ref = brute(s, k, allow, exclude)
    np.testing.assert_array_equal(idx, ref)
    np.testing.assert_array_equal(vals, s[ref])


def test_ties_lower_index_first_and_k_beyond_available():
    s = np.array([1.0, 2.0, 2.0, np.nan, 2.0, -np.inf, 1.0])
    idx, vals = topk(s, 10)
    assert idx.tolist() == [1, 2, 4, 0, 6]  # fewer than k: NaN and -inf never returned
    assert vals.tolist() == [2.0, 2.0, 2.0, 1.0, 1.0]
    assert topk(s, 2)[0].tolist() == [1, 2]


def test_all_filtered_and_k_zero_give_empty():
    s = np.arange(5.0)
    assert topk(s, 3, allow=np.zeros(5, bool))[0].size == 0
    assert topk(s, 3, exclude=[0, 1, 2, 3, 4])[0].size == 0
    assert topk(s, 0)[0].size == 0
    assert topk(np.zeros(0), 3)[0].size == 0


def test_bad_arguments_raise_skillpath_errors():
    s = np.arange(5.0)
    with pytest.raises(ConfigError):
        topk(s, -1)
    with pytest.raises(IntegrityError):
        topk(s, 2, allow=np.ones(5))  # not boolean
    with pytest.raises(IntegrityError):
        topk(s, 2, allow=np.ones(4, bool))
    with pytest.raises(UnknownItemError):
        topk(s, 2, exclude=[5])
    with pytest.raises(IntegrityError):
        topk(np.zeros((2, 2, 2)), 1)  # a vector or a matrix (one row per user), nothing else


@pytest.mark.parametrize("seed", range(4))
def test_topk_of_a_matrix_equals_per_row_with_padding(seed):
    rng = np.random.default_rng(seed)
    s = rng.integers(-5, 5, size=(6, 40)).astype(np.float32)
    s[0, :] = np.nan  # nothing available in row 0
    allow = rng.random(40) < 0.7
    excl = [rng.integers(0, 40, 3) for _ in range(6)]
    idx, vals = topk(s, 12, allow=allow, exclude=excl)
    assert idx.shape == vals.shape == (6, 12)
    for r in range(6):
        ref = brute(s[r], 12, allow, excl[r])
        np.testing.assert_array_equal(idx[r, : ref.size], ref)
        assert (idx[r, ref.size:] == -1).all() and np.isneginf(vals[r, ref.size:]).all()


def test_topk_of_a_score_matrix_orders_ties_by_index_and_pads():
    s = np.array([[0.5, 1.0, 0.5, 0.5], [1.0, 2.0, 3.0, 4.0]], np.float32)
    banned = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 1, 1, 0]], bool))
    np.testing.assert_array_equal(topk(s, 3, exclude=banned)[0], [[0, 2, 3], [3, -1, -1]])


def test_topk_of_a_matrix_with_sparse_bans_is_a_full_stable_sort_including_ties():
    # moved from tests/training/test_autoprior.py (the tuner's own top-k is now this one)
    rng = np.random.default_rng(0)
    S = rng.integers(0, 4, size=(40, 30)).astype(np.float32)  # many ties at every rank
    S[:3] = rng.normal(size=(3, 30))
    S[5, :25] = -np.inf  # fewer finite items than k
    banned = sp.random(40, 30, density=0.2, random_state=1, format="csr") > 0
    for k in (1, 5, 10):
        full = np.where(banned.toarray(), -np.inf, S)
        order = np.argsort(-full, axis=1, kind="stable")[:, :k]  # ties by index
        expect = np.where(np.isfinite(np.take_along_axis(full, order, axis=1)), order, -1)
        assert np.array_equal(topk(S, k, exclude=banned)[0], expect)


# ---------------------------------------------------------------- ScoringIndex
def make(n=3000, d=16, seed=0, **kw):
    rng = np.random.default_rng(seed)
    v = (rng.standard_normal((n, d)) * 0.3).astype(np.float32)
    b = (rng.standard_normal(n) * 0.2).astype(np.float32)
    lf = np.log(rng.uniform(0.1, 1.0, n)).astype(np.float32)
    return v, b, lf, rng


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("seed", range(5))
def test_recommend_matches_brute_force_float64(dtype, seed):
    v, b, lf, rng = make(seed=seed)
    ix = ScoringIndex(v, item_bias=b, log_freshness=lf, freshness_weight=0.7, dtype=dtype)
    for k in (1, 20, 200):
        u = rng.standard_normal(16).astype(np.float32)
        ref_scores = v.astype(np.float64) @ u + b + 0.7 * lf
        idx, vals = ix.recommend(u, k)
        np.testing.assert_array_equal(idx, brute(ref_scores, k))
        np.testing.assert_allclose(vals, ref_scores[idx], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_reduced_prefilter_is_exact_on_near_ties(dtype):
    # Items differ by far less than bf16/fp16 resolution: only the fp32 re-score can order them.
    rng = np.random.default_rng(3)
    base = rng.standard_normal(16).astype(np.float32)
    v = (base + rng.standard_normal((4000, 16)) * 1e-4).astype(np.float32)
    u = rng.standard_normal(16).astype(np.float32)
    exact = ScoringIndex(v).recommend(u, 25)
    got = ScoringIndex(v, dtype=dtype).recommend(u, 25)
    np.testing.assert_array_equal(got[0], exact[0])
    np.testing.assert_array_equal(got[1], exact[1])


def test_duplicate_items_tie_to_lower_index_in_every_path():
    v = np.tile(np.array([[0.5, -0.25]], np.float32), (10_000, 1))  # all scores equal
    u = np.array([1.0, 2.0], np.float32)
    for dtype in ("float32", "bfloat16", "float16"):  # reduced: candidate overflow fallback
        idx, _ = ScoringIndex(v, dtype=dtype).recommend(u, 5)
        assert idx.tolist() == [0, 1, 2, 3, 4]
    idx, _ = ScoringIndex(v).recommend_batch(np.stack([u, -u]), 3)
    assert idx.tolist() == [[0, 1, 2], [0, 1, 2]]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_filters_exclusions_and_active(dtype):
    v, b, lf, rng = make(seed=7)
    active = rng.random(v.shape[0]) < 0.9
    ix = ScoringIndex(v, item_bias=b, log_freshness=lf, active=active, dtype=dtype)
    u = rng.standard_normal(16).astype(np.float32)
    allow = rng.random(v.shape[0]) < 0.5
    full = v.astype(np.float64) @ u + b + lf
    excl = brute(full, 15, allow & active)[:5]  # exclude some would-be winners
    idx, _ = ix.recommend(u, 15, allow=allow, exclude=excl)
    np.testing.assert_array_equal(idx, brute(full, 15, allow & active, excl))
    assert ix.recommend(u, 5, allow=np.zeros(v.shape[0], bool))[0].size == 0
    assert ix.recommend(u, 10_000)[0].size == active.sum()  # k > available


def test_bias_folding_and_decay_semantics():
    # Two items with the same negative raw score; item 1 is stale.
    v = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)
    b = np.array([0.5, 0.5, -3.0], np.float32)
    lf = log_freshness([1.0, 0.25, 1.0])
    ix = ScoringIndex(v, item_bias=b, log_freshness=lf, freshness_weight=1.0)
    u = np.array([-2.0, 0.0], np.float32)  # raw: item0 = item1 = -1.5, item2 = -3
    idx, vals = ix.recommend(u, 3)
    assert idx.tolist() == [0, 1, 2]  # stale item loses score although its raw score is negative
    np.testing.assert_allclose(vals, [-1.5, -1.5 + np.log(0.25), -3.0], rtol=1e-6)
    idx, vals = ix.recommend(u, 3, decay=False)
    assert idx.tolist() == [0, 1, 2] and vals[0] == vals[1] == np.float32(-1.5)
    # Multiplying by freshness would have given item 1 -0.375 > -1.5: that must not happen.
    assert ix.recommend(u, 1)[0].tolist() == [0]


def test_with_freshness():
    v, b, lf, rng = make(n=500, seed=2)
    u = rng.standard_normal(16).astype(np.float32)
    ix = ScoringIndex(v, item_bias=b, log_freshness=lf, dtype="bfloat16")
    top = ix.recommend(u, 1)[0][0]
    new_lf = lf.copy()
    new_lf[top] = np.log(1e-6)  # the winner goes very stale
    swapped = ix.with_freshness(new_lf)
    assert ix.recommend(u, 1)[0][0] == top  # original untouched
    assert swapped.recommend(u, 1)[0][0] != top
    np.testing.assert_array_equal(swapped.recommend(u, 10)[0],
                                  brute(v.astype(np.float64) @ u + b + new_lf, 10))


@pytest.mark.parametrize("seed", range(3))
def test_batch_equals_per_user(seed):
    v, b, lf, rng = make(n=5000, seed=seed)
    ix = ScoringIndex(v, item_bias=b, log_freshness=lf, freshness_weight=0.5)
    users = rng.standard_normal((37, 16)).astype(np.float32)
    allow = rng.random(5000) < 0.8
    excl = [rng.integers(0, 5000, rng.integers(0, 4)) for _ in range(37)]
    idx, vals = ix.recommend_batch(users, 20, allow=allow, exclude=excl)
    for r in range(37):
        i1, v1 = ix.recommend(users[r], 20, allow=allow, exclude=excl[r])
        np.testing.assert_array_equal(idx[r], i1)
        np.testing.assert_allclose(vals[r], v1, rtol=1e-5, atol=1e-6)


def test_batch_decay_switch_decides_whether_a_stale_item_enters_the_top_k():
    v = np.array([[1.0], [0.9], [0.1]], np.float32)
    lf = log_freshness([0.1, 1.0, 1.0])  # item 0 is the best match but stale
    ix = ScoringIndex(v, log_freshness=lf)
    users = np.array([[1.0], [2.0], [-1.0]], np.float32)
    assert (ix.recommend_batch(users, 1, decay=False)[0] == 0).any(axis=1).tolist() == [True, True, False]
    assert (ix.recommend_batch(users, 1, decay=True)[0] == 0).any(axis=1).tolist() == [False, False, False]


def test_score_vector_shares_selection_decay_and_filters():
    rng = np.random.default_rng(5)
    n = 800
    lf = np.log(rng.uniform(0.1, 1, n)).astype(np.float32)
    active = rng.random(n) < 0.9
    ix = ScoringIndex.for_scores(n, log_freshness=lf, freshness_weight=2.0, active=active)
    s = rng.standard_normal(n).astype(np.float32)
    allow = rng.random(n) < 0.6
    idx, vals = ix.score_vector(s, 30, allow=allow, exclude=[int(np.argmax(s))])
    ref = brute(s.astype(np.float64) + 2.0 * lf, 30, allow & active, [int(np.argmax(s))])
    np.testing.assert_array_equal(idx, ref)
    idx, _ = ix.score_vector(s, 30, decay=False)
    np.testing.assert_array_equal(idx, brute(s, 30, active))


def test_reduced_precision_approximate_recall():
    rng = np.random.default_rng(11)
    n, d, k = 20_000, 32, 20
    v = rng.standard_normal((n, d)).astype(np.float32)
    exact = ScoringIndex(v)
    for dtype in ("bfloat16", "float16"):
        approx = ScoringIndex(v, dtype=dtype, exact=False)
        hits = 0
        users = rng.standard_normal((100, d)).astype(np.float32)
        for u in users:
            hits += np.intersect1d(approx.recommend(u, k)[0], exact.recommend(u, k)[0]).size
        assert hits / (k * len(users)) >= 0.995, dtype


def test_invalid_inputs_are_rejected():
    v = np.ones((4, 2), np.float32)
    with pytest.raises(ConfigError):
        ScoringIndex(v, dtype="int8")
    with pytest.raises(IntegrityError):
        ScoringIndex(np.array([[np.nan, 1.0]]))
    with pytest.raises(IntegrityError):
        ScoringIndex(v, item_bias=np.ones(3))
    with pytest.raises(IntegrityError):
        ScoringIndex(v * 1e5, dtype="float16")
    ix = ScoringIndex(v)
    with pytest.raises(IntegrityError):
        ix.recommend(np.ones(3), 1)
    with pytest.raises(IntegrityError):
        ix.recommend(np.array([np.inf, 0.0]), 1)
    with pytest.raises(UnknownItemError):
        ix.recommend(np.ones(2), 1, exclude=[-1])
    with pytest.raises(IntegrityError):
        log_freshness([0.0, 0.5])


def test_nan_at_chunk_edges_cannot_hide_a_winner():
    # Regression: the batch scan skips 64-item chunks by their max; a NaN first or last
    # in a chunk must not hide a larger score in the same chunk.
    s = np.zeros((2, 300), np.float32)
    s[:, :5] = 10.0  # fill the heap early so the threshold is high
    s[0, 64], s[0, 70] = np.nan, 20.0
    s[1, 127], s[1, 100] = np.nan, 30.0
    idx, _ = topk(s, 3)
    assert idx[0].tolist() == [70, 0, 1] and idx[1].tolist() == [100, 0, 1]


def test_user_vector_check_is_exact_when_the_fast_check_overflows():
    # The finiteness check is u·u in float64: 1e30² would overflow float32, not float64.
    ix = ScoringIndex(np.array([[1e-30, 0.0], [0.0, 1e-30]], np.float32))
    idx, _ = ix.recommend(np.array([1e30, 0.0], np.float32), 1)
    assert idx.tolist() == [0]
    with pytest.raises(IntegrityError):
        ix.recommend(np.array([1e30, np.nan], np.float32), 1)
