"""Every compiled scan against the numpy reference path (the oracle), answer for answer.

Integer-valued factors keep every score exact in any order of summation, so the scans
(one FMA chain per item), BLAS (the reference) and float64 must agree bit for bit,
ties included.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.topk import ItemMask, ScoringIndex

KINDS = [("float32", True), ("bfloat16", True), ("bfloat16", False), ("float16", True), ("float16", False)]


def reference(ix: ScoringIndex) -> ScoringIndex:
    """The same index answering everything through the numpy reference path."""
    ref = ix.with_active(ix.active_)  # a shallow copy sharing the arrays
    ref._panel = ref._scans = None
    return ref


def assert_same(got, exp):
    np.testing.assert_array_equal(got[0], exp[0])
    np.testing.assert_array_equal(got[1], exp[1])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 300), d=st.integers(0, 5), k=st.integers(0, 40), kind=st.sampled_from(KINDS),
       data=st.data())
def test_every_scan_equals_the_reference_with_ties_filters_and_exclusions(n, d, k, kind, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    v = rng.integers(-2, 3, size=(n, d)).astype(np.float32)
    b = rng.integers(-2, 3, size=n).astype(np.float32)
    active = rng.random(n) < data.draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
    ix = ScoringIndex(v, item_bias=b, log_freshness=-rng.integers(0, 3, size=n).astype(np.float32),
                      active=active, dtype=kind[0], exact=kind[1])
    ref = reference(ix)
    u = rng.integers(-2, 3, size=d).astype(np.float32)
    allow = rng.random(n) < 0.7
    many = rng.random() < 0.3
    exclude = rng.integers(0, max(n, 1), rng.integers(0, n + 2) if many else rng.integers(0, 6)) if n else []
    for a in (None, allow, ItemMask(allow)):
        for decay in (True, False):
            assert_same(ix.recommend(u, k, allow=a, exclude=exclude, decay=decay),
                        ref.recommend(u, k, allow=a, exclude=exclude, decay=decay))
    assert_same(ix.recommend(u, n + 10), ref.recommend(u, n + 10))  # k beyond what is available
    assert ix.recommend(u, n + 10)[0].size == active.sum()


@pytest.mark.parametrize("kind", KINDS)
def test_all_equal_items_tie_to_the_lowest_indices_in_scan_and_reference(kind):
    v = np.tile(np.array([[0.5, -0.25, 0.125]], np.float32), (5000, 1))
    ix = ScoringIndex(v, dtype=kind[0], exact=kind[1])
    u = np.array([1.0, 2.0, -3.0], np.float32)
    for got in (ix.recommend(u, 7), reference(ix).recommend(u, 7)):
        assert got[0].tolist() == list(range(7))
    batch = ix.recommend_batch(np.stack([u, -u, 2 * u]), 7)[0]
    assert batch.tolist() == [list(range(7))] * 3
    assert_same(ix.recommend(u, 7, exclude=[0, 2, 4999]), reference(ix).recommend(u, 7, exclude=[0, 2, 4999]))


@pytest.mark.parametrize("kind", KINDS)
def test_empty_answers_and_infinite_scores(kind):
    big = np.float32(3e38)  # scores overflow to -inf (never returned) and +inf (best)
    v = np.array([[-big, big], [1.0, 0.0], [big, -big], [2.0, 0.0]] * 40, np.float32)
    ix = ScoringIndex(v, dtype="float32") if kind[0] == "float16" else ScoringIndex(v, dtype=kind[0], exact=kind[1])
    ref = reference(ix)
    u = np.array([10.0, 10.0], np.float32)
    assert_same(ix.recommend(u, 200), ref.recommend(u, 200))
    assert ix.recommend(u, 200)[0].size == 120 and np.isposinf(ix.recommend(u, 40)[1]).all()
    for call in (lambda x: x.recommend(u, 0), lambda x: x.recommend(u, 5, allow=np.zeros(160, bool)),
                 lambda x: x.recommend(u, 5, exclude=np.arange(160))):
        got, exp = call(ix), call(ref)
        assert got[0].size == exp[0].size == 0 and got[0].dtype == np.int64 and got[1].dtype == np.float32
    empty = ScoringIndex(np.zeros((0, 2), np.float32), dtype=kind[0], exact=kind[1])
    assert empty.recommend(u, 3)[0].size == 0 and reference(empty).recommend(u, 3)[0].size == 0


@pytest.mark.parametrize("kind", KINDS)
def test_batches_equal_the_reference_and_the_scans_per_user(kind):
    rng = np.random.default_rng(3)
    n, m = 2000, 11
    v = rng.integers(-3, 4, size=(n, 6)).astype(np.float32)
    ix = ScoringIndex(v, item_bias=rng.integers(-2, 3, size=n).astype(np.float32),
                      active=rng.random(n) < 0.9, dtype=kind[0], exact=kind[1])
    users = rng.integers(-2, 3, size=(m, 6)).astype(np.float32)
    allow = ItemMask(rng.random(n) < 0.6)
    excl = [None if r % 4 == 0 else rng.integers(0, n, 40) for r in range(m)]
    idx, vals = ix.recommend_batch(users, 30, allow=allow, exclude=excl)
    assert_same((idx, vals), reference(ix).recommend_batch(users, 30, allow=allow, exclude=excl))
    for r in range(m):
        got = ix.recommend(users[r], 30, allow=allow, exclude=excl[r])
        assert_same((idx[r, : got[0].size], vals[r, : got[0].size]), got)
