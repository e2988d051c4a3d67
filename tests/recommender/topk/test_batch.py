"""Batches (BLAS products of item blocks, then selection) against per-user exact answers."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.errors import IntegrityError, UnknownItemError
from recommender.topk import ScoringIndex
from recommender.topk.selection import select_blocks


def brute(scores, k, ok):
    """Reference: stable sort of available items, score desc then index asc."""
    idx = np.flatnonzero(ok & ~np.isnan(scores) & (scores > -np.inf))
    return idx[np.lexsort((idx, -scores[idx]))][:k]


def index(n, d, seed, **kw):
    rng = np.random.default_rng(seed)
    v = (rng.standard_normal((n, d)) * 0.3).astype(np.float32)
    b = (rng.standard_normal(n) * 0.2).astype(np.float32)
    lf = np.log(rng.uniform(0.1, 1.0, n)).astype(np.float32)
    return ScoringIndex(v, item_bias=b, log_freshness=lf, freshness_weight=0.5, **kw), rng


# m covers: fewer users than a group, exactly one group, a partial last group;
# n covers: not a multiple of the 8-item tile nor of the block, several blocks.
@pytest.mark.parametrize("m,n,seed", [(1, 37, 0), (5, 1000, 1), (16, 2053, 2), (33, 5000, 3), (40, 1531, 4)])
def test_batch_equals_per_user_with_masks_and_exclusions(m, n, seed):
    active = np.random.default_rng(seed + 100).random(n) < 0.9
    ix, rng = index(n, 16, seed, active=active)
    users = rng.standard_normal((m, 16)).astype(np.float32)
    allow = rng.random(n) < 0.7
    excl = [None if r % 3 == 0 else rng.integers(0, n, rng.integers(0, 30)) for r in range(m)]
    for k in (1, 20):
        idx, vals = ix.recommend_batch(users, k, allow=allow, exclude=excl)
        assert idx.shape == vals.shape == (m, k) and idx.dtype == np.int64 and vals.dtype == np.float32
        for r in range(m):
            i1, v1 = ix.recommend(users[r], k, allow=allow, exclude=excl[r])
            np.testing.assert_array_equal(idx[r, : i1.size], i1)
            np.testing.assert_allclose(vals[r, : i1.size], v1, rtol=1e-5, atol=1e-5)
            assert (idx[r, i1.size:] == -1).all() and np.isneginf(vals[r, i1.size:]).all()
            assert not set(idx[r].tolist()) & set([] if excl[r] is None else excl[r].tolist())


def test_batch_matches_float64_brute_force_per_row():
    ix, rng = index(3000, 24, 9)
    m = ix.matrix_.astype(np.float64)
    users = rng.standard_normal((20, 24)).astype(np.float32)
    idx, _ = ix.recommend_batch(users, 15, decay=False)
    for r in range(20):
        q = np.concatenate([users[r], [1.0, 0.0]]).astype(np.float64)
        np.testing.assert_array_equal(idx[r], brute(m @ q, 15, np.ones(3000, bool)))


def test_ties_across_tiles_blocks_and_groups_go_to_lower_index():
    # 3000 identical items: every user's scores tie, across register tiles, blocks and
    # the tail; users 0..19 span two groups of 16.
    v = np.tile(np.array([[0.5, -0.25, 0.125]], np.float32), (3000, 1))
    users = np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32)
    idx, vals = ScoringIndex(v).recommend_batch(users, 7)
    assert (idx == np.arange(7)).all()
    assert (vals == vals[:, :1]).all()
    # Two tied values interleaved: ties to the lower index within each value.
    v2 = np.where((np.arange(2000) % 2 == 0)[:, None], 1.0, 2.0).astype(np.float32)
    idx, _ = ScoringIndex(v2).recommend_batch(np.ones((3, 1), np.float32), 4)
    assert idx.tolist() == [[1, 3, 5, 7]] * 3
    idx, _ = ScoringIndex(v2).recommend_batch(-np.ones((3, 1), np.float32), 4)
    assert idx.tolist() == [[0, 2, 4, 6]] * 3


def test_a_tie_loses_even_when_another_user_in_the_group_selects_the_item():
    # Column 0 is constant (user 0 sees only ties), column 1 grows with the index
    # (user 1 takes every item): user 0's tie check runs on rows user 1 selects.
    n = 1000
    v = np.stack([np.ones(n), np.arange(n) / n], axis=1).astype(np.float32)
    users = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    idx, _ = ScoringIndex(v).recommend_batch(users, 5)
    assert idx[0].tolist() == [0, 1, 2, 3, 4]
    assert idx[1].tolist() == [999, 998, 997, 996, 995]


def test_k_beyond_available_pads_each_row_and_k_zero():
    n = 50
    active = np.zeros(n, bool)
    active[[3, 9, 20, 41]] = True
    ix, rng = index(n, 4, 5, active=active)
    users = rng.standard_normal((18, 4)).astype(np.float32)
    excl = [[9] if r % 2 else None for r in range(18)]
    idx, vals = ix.recommend_batch(users, 10, exclude=excl)
    for r in range(18):
        want = 3 if r % 2 else 4
        assert sorted(idx[r, :want].tolist()) == ([3, 20, 41] if r % 2 else [3, 9, 20, 41])
        assert (idx[r, want:] == -1).all() and np.isneginf(vals[r, want:]).all()
    assert ix.recommend_batch(users, 0)[0].shape == (18, 0)
    assert ix.recommend_batch(users[:0], 5)[0].shape == (0, 5)
    nothing = ix.recommend_batch(users, 3, allow=np.zeros(n, bool))[0]
    assert (nothing == -1).all()


def test_batch_rejects_bad_exclusions_and_shapes():
    ix, rng = index(100, 4, 6)
    users = rng.standard_normal((3, 4)).astype(np.float32)
    with pytest.raises(UnknownItemError):
        ix.recommend_batch(users, 2, exclude=[None, [100], None])
    with pytest.raises(IntegrityError):
        ix.recommend_batch(users, 2, exclude=[None])  # one list per user
    with pytest.raises(IntegrityError):
        ix.recommend_batch(users[:, :3], 2)


@pytest.mark.parametrize("block", [256, 512, 1280, 16384])
def test_block_boundaries_and_first_blocks_do_not_change_the_answer(block):
    # Integer scores with many ties straddling blocks; rows fill their k at different blocks
    # (row 2 has only -inf and NaN until item 900), masks and exclusions on both sides.
    rng = np.random.default_rng(block)
    n, m, k = 3000, 5, 40
    s = rng.integers(-3, 4, size=(m, n)).astype(np.float32)
    s[2, :900] = np.where(rng.random(900) < 0.5, -np.inf, np.nan)
    allow = rng.random(n) < 0.8
    excl = [np.sort(rng.integers(0, n, 30)) for _ in range(m)]
    idx, vals = select_blocks(lambda a, b: s[:, a:b].T, n, m, k, masks=[allow], exclude=excl, block=block)
    for r in range(m):
        ok = allow.copy()
        ok[excl[r]] = False
        np.testing.assert_array_equal(idx[r], brute(s[r], k, ok))
        np.testing.assert_array_equal(vals[r], s[r][idx[r]])


def test_queries_are_64_byte_aligned():
    # The kernels re-read the query per item; alignment made a measurable difference.
    ix, rng = index(100, 8, 7, dtype="float16")
    for _ in range(5):
        q = ix.query(rng.standard_normal(8))
        assert q.ctypes.data % 64 == 0 and q.tolist()[-2:] == [1.0, 0.5]
    idx, _ = ix.recommend(rng.standard_normal(8), 5)  # float16 path scales an aligned copy
    assert idx.size == 5
