"""The compiled panel scans (recommender/topk/scan.py: float32, bfloat16, float16) against brute force and the other paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.errors import IntegrityError
from recommender.topk import ItemMask, ScoringIndex, scan
from recommender.topk.panels import panels
from recommender.topk.masks import pack_mask
from tests.recommender.topk.test_topk import brute


def seq_scores(mat, q):
    """Every row's score as the float32 paths define it (sequential FMA chain, float64-free)."""
    return np.array([scan.dot(mat, i, q) for i in range(mat.shape[0])], np.float32)


# Integer-valued factors: every score is exact in float32 and float64, so answers
# must equal a float64 brute force bit for bit, ties (frequent here) included.
@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 300), d=st.integers(0, 5), k=st.integers(0, 40), data=st.data(),
       kind=st.sampled_from([("float32", True), ("bfloat16", True), ("bfloat16", False), ("float16", True),
                             ("float16", False)]),
       packed=st.booleans())
def test_panel_equals_brute_force_with_ties_and_filters(n, d, k, data, kind, packed):
    # Small integers are exact in bfloat16 too, so even exact=False must match.
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    v = rng.integers(-2, 3, size=(n, d)).astype(np.float32)
    b = rng.integers(-2, 3, size=n).astype(np.float32)
    lf = -rng.integers(0, 3, size=n).astype(np.float32)
    active = rng.random(n) < 0.9
    allow = rng.random(n) < 0.8
    # a few or many exclusions (duplicates included): the scans walk them panel by panel
    exclude = rng.integers(0, n, rng.integers(0, 6) if rng.random() < 0.5 else rng.integers(0, n + 1))
    ix = ScoringIndex(v, item_bias=b, log_freshness=lf, freshness_weight=1.0, active=active,
                      dtype=kind[0], exact=kind[1])
    u = rng.integers(-2, 3, size=d).astype(np.float32)
    full = v.astype(np.float64) @ u + b + lf
    idx, vals = ix.recommend(u, k, allow=ItemMask(allow) if packed else allow, exclude=exclude)
    ref = brute(full, k, active & allow, exclude)
    np.testing.assert_array_equal(idx, ref)
    np.testing.assert_array_equal(vals, full[ref].astype(np.float32))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("n", [1, 7, 63, 64, 65, 127, 1000, 4099])
def test_panel_sizes_not_multiple_of_the_panel_and_k_beyond_available(n, dtype):
    rng = np.random.default_rng(n)
    v = (rng.standard_normal((n, 12)) * 0.3).astype(np.float32)
    # all scores < 0: padding lanes (score 0) must never win
    ix = ScoringIndex(v, item_bias=np.full(n, -50.0, np.float32), dtype=dtype)
    # float32: all 14 columns; reduced: the 12 factor columns, bias and decay in a float32 tail
    cols = 14 if dtype == "float32" else 12
    assert ix._panel.shape == (-(-n // scan.P), cols, scan.P)
    assert ix._panel.ctypes.data % 64 == 0
    if dtype != "float32":
        assert ix._tail.shape == (-(-n // scan.P), 2, scan.P) and ix._tail.ctypes.data % 64 == 0
    u = rng.standard_normal(12).astype(np.float32)
    ref = seq_scores(ix.matrix_, ix.query(u))
    for k in (1, 5, n, n + 10):
        idx, vals = ix.recommend(u, k)
        np.testing.assert_array_equal(idx, brute(ref, k))
        np.testing.assert_array_equal(vals, ref[idx])
    assert ix.recommend(u, n + 10)[0].size == n  # never a padding lane


def test_pack_mask_puts_item_i_at_bit_i_mod_64_of_word_i_div_64():
    rng = np.random.default_rng(11)
    for n in (1, 63, 64, 65, 200):
        m = rng.random(n) < 0.5
        w = pack_mask(m)
        assert w.dtype == np.int64 and w.shape == (-(-n // 64),)
        bits = [(int(w[i // 64]) >> (i % 64)) & 1 for i in range(w.size * 64)]
        assert bits[:n] == m.astype(int).tolist() and not any(bits[n:])  # padding lanes clear


def test_item_mask_validates_and_keeps_its_own_copy():
    m = np.array([True, False, True])
    im = ItemMask(m)
    m[:] = False
    assert im.mask.tolist() == [True, False, True] and "2 of 3" in repr(im)
    with pytest.raises(IntegrityError, match="bool"):
        ItemMask(np.array([1, 0, 1]))
    with pytest.raises(AttributeError, match="immutable"):
        im.mask = np.ones(3, bool)
    ix = ScoringIndex(np.eye(4, dtype=np.float32))
    with pytest.raises(IntegrityError, match=r"shape \(3,\), expected \(4,\)"):
        ix.recommend(np.ones(4, np.float32), 2, allow=im)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_packed_and_bool_masks_and_exclusions_at_panel_edges_agree(dtype):
    rng = np.random.default_rng(5)
    n = 1000
    v = (rng.standard_normal((n, 6)) * 0.5).astype(np.float32)
    ix = ScoringIndex(v, dtype=dtype).with_active(rng.random(n) < 0.9)
    assert ix._active_words.size == -(-n // 64)
    # the best items overall, plus lanes 0 / 63 of panels and the last item, some twice
    u = rng.standard_normal(6).astype(np.float32)
    top = ix.recommend(u, 40)[0]
    exclude = np.concatenate([top[::3], [0, 63, 64, 127, 128, 999, 63, 999]])
    allow = rng.random(n) < 0.7
    full = seq_scores(ix.matrix_, ix.query(u))
    ref = brute(full, 50, ix.active_ & allow, exclude)
    for a in (allow, ItemMask(allow)):
        idx, vals = ix.recommend(u, 50, allow=a, exclude=exclude)
        np.testing.assert_array_equal(idx, ref)
        np.testing.assert_array_equal(vals, full[ref])
    # all active: no packed active mask at all, same answers as no mask
    every = ix.with_active(np.ones(n, bool))
    assert every._active_words.size == 0
    act = rng.random(n) < 0.5
    own = ix.with_active(act)
    act[:] = True  # the index keeps its own copy: its packed words cannot go stale
    assert not own.active_.all() and own.recommend(u, 5)[0].tolist() == brute(full, 5, own.active_).tolist()
    np.testing.assert_array_equal(every.recommend(u, 50, exclude=exclude)[0], brute(full, 50, None, exclude))


def test_panel_scores_are_bitwise_those_of_rescoring():
    rng = np.random.default_rng(1)
    n, d = 1000, 64
    ix = ScoringIndex((rng.standard_normal((n, d)) * 0.1).astype(np.float32),
                      item_bias=(rng.standard_normal(n) * 0.1).astype(np.float32))
    u = rng.standard_normal(d).astype(np.float32)
    q = ix.query(u)
    idx, tile = ix.recommend(u, n)  # every item, as the panel tile scored it
    np.testing.assert_array_equal(tile, seq_scores(ix.matrix_, q)[idx])
    # ... so the bf16-exact path returns exactly the float32 answer, scores included.
    i32, s32 = ix.recommend(u, 50)
    i16, s16 = ix.with_dtype("bfloat16").recommend(u, 50)
    np.testing.assert_array_equal(i32, i16)
    np.testing.assert_array_equal(s32, s16)
    allow, excl = rng.random(n) < 0.5, i32[:7]
    for dtype in ("bfloat16", "float16"):
        got = ix.with_dtype(dtype).recommend(u, 30, allow=allow, exclude=excl)
        exp = ix.recommend(u, 30, allow=allow, exclude=excl)
        np.testing.assert_array_equal(got[0], exp[0])
        np.testing.assert_array_equal(got[1], exp[1])


def test_minus_inf_rows_never_returned_plus_inf_is():
    # With finite inputs an FMA chain can reach ±inf but never NaN (the exact product
    # is finite, and inf + finite = inf), so -inf is what "not available" looks like.
    big = np.float32(3e38)
    v = np.array([[-big, big],   # -inf after the first step, stays -inf
                  [-big, 0.0],   # -inf
                  [1.0, 0.0],
                  [big, -big],   # +inf: available, best
                  [2.0, 0.0]] * 20, np.float32)  # 100 items: two panels
    ix = ScoringIndex(v)
    u = np.array([10.0, 10.0], np.float32)
    idx, vals = ix.recommend(u, 200)
    expect = [i for i in range(100) if i % 5 == 3] + [i for i in range(100) if i % 5 == 4] \
        + [i for i in range(100) if i % 5 == 2]
    assert idx.tolist() == expect
    assert np.isposinf(vals[:20]).all() and (vals[20:40] == 20.0).all() and (vals[40:] == 10.0).all()


def test_nan_scores_never_set_a_hit_bit():
    # NaN cannot come from a validated index; fed to the kernel directly it must lose.
    m = np.zeros((70, 3), np.float32)
    m[:, 0] = np.arange(70)
    m[[0, 5, 63, 64, 69], 1] = np.nan  # in both panels, first and last lanes
    pan = panels(m)
    q = np.array([1.0, 1.0, 0.0], np.float32)
    none_f, none_i = np.zeros(0, np.float32), np.zeros(0, np.int64)
    idx, _, ok = scan.scan(pan, np.zeros((2, 0, scan.P), np.float32), q, q, 70, 100, none_i, none_i, none_i,
                           np.float32(0.0), none_f, m, none_i, none_f)
    assert idx.tolist() == [i for i in range(69, -1, -1) if i not in (0, 5, 63, 64, 69)]


def test_duplicates_across_panel_lanes_tie_to_lower_index():
    rng = np.random.default_rng(4)
    v = (rng.standard_normal((300, 8)) * 0.1).astype(np.float32)
    winner = v[0] + 1.0
    for i in (250, 3, 64, 130, 191):  # different lanes and panels, out of order
        v[i] = winner
    ix = ScoringIndex(v)
    u = np.abs(rng.standard_normal(8)).astype(np.float32)
    idx, vals = ix.recommend(u, 5)
    assert idx.tolist() == [3, 64, 130, 191, 250] and np.unique(vals).size == 1
    assert ix.recommend(u, 3, exclude=[64], allow=np.arange(300) != 130)[0].tolist() == [3, 191, 250]


def test_panel_rebuilt_by_freshness_updates_and_dtype_switches():
    rng = np.random.default_rng(2)
    n = 777
    v = (rng.standard_normal((n, 6)) * 0.3).astype(np.float32)
    lf = np.log(rng.uniform(0.1, 1.0, n)).astype(np.float32)
    ix = ScoringIndex(v, log_freshness=lf)
    u = rng.standard_normal(6).astype(np.float32)
    before = ix.recommend(u, 10)
    new_lf = lf.copy()
    new_lf[before[0][:3]] = np.log(1e-6)  # the top three go stale
    swapped = ix.with_freshness(new_lf)
    np.testing.assert_array_equal(ix.recommend(u, 10)[0], before[0])  # original untouched
    assert swapped._panel is not ix._panel
    expect = brute(seq_scores(swapped.matrix_, swapped.query(u)), 10)
    np.testing.assert_array_equal(swapped.recommend(u, 10)[0], expect)
    ix = swapped
    # float32 -> bfloat16 swaps the panel for a bf16 one; back to float32 rebuilds it.
    bf = ix.with_dtype("bfloat16")
    assert bf._panel.dtype == np.uint16 and bf.nbytes < ix.nbytes
    np.testing.assert_array_equal(bf.recommend(u, 10)[1], ix.recommend(u, 10)[1])
    assert ix.with_dtype("float16")._panel.dtype == np.int16  # float16 bits, scanned as panels too
    back = bf.with_dtype("float32")
    np.testing.assert_array_equal(back._panel, ix._panel)
    np.testing.assert_array_equal(back.recommend(u, 10)[1], ix.recommend(u, 10)[1])
    assert ix.nbytes == ix.matrix_.nbytes + ix._panel.nbytes


def test_reduced_fallback_gives_the_float32_answer():
    # |q| >= 2**15 makes the float16 query overflow: that path scans float32 rows instead.
    rng = np.random.default_rng(6)
    v = (rng.standard_normal((2000, 8)) * 1e-3).astype(np.float32)
    active = rng.random(2000) < 0.9
    ix = ScoringIndex(v, active=active)
    u = (rng.standard_normal(8) * 4e4).astype(np.float32)
    allow, excl = rng.random(2000) < 0.7, [int(i) for i in ix.recommend(u, 3)[0]]
    got = ix.with_dtype("float16").recommend(u, 25, allow=allow, exclude=excl)
    exp = ix.recommend(u, 25, allow=allow, exclude=excl)
    np.testing.assert_array_equal(got[0], exp[0])
    np.testing.assert_array_equal(got[1], exp[1])
    assert ix.with_dtype("float16").recommend(u, 0)[0].size == 0


def test_bf16_exact_ties_of_cold_items_need_no_float32_fallback():
    """Cold items (zero factors) sharing bias and decay tie exactly: bfloat16 holds their
    factors exactly and the tail is float32, so their bound is 0, and an item whose upper
    bound only equals the threshold cannot enter (it would lose the tie on its index).
    Before, all 19,950 were candidates and the request fell back to a float32 scan."""
    rng = np.random.default_rng(7)
    n = 20_000
    v = np.zeros((n, 8), np.float32)
    v[:50] = rng.standard_normal((50, 8)).astype(np.float32)  # 50 items with factors, the rest cold
    lf = np.full(n, -0.3, np.float32)  # cold items all tie on bias + decay
    f32 = ScoringIndex(v, log_freshness=lf)
    bf = f32.with_dtype("bfloat16")
    assert (bf._weights[50:n] == 0).all() and (bf._weights[:50] > 0).all()
    for seed in range(5):
        u = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
        for k in (10, 100, 1000):
            got, exp = bf.recommend(u, k), f32.recommend(u, k)
            np.testing.assert_array_equal(got[0], exp[0])
            np.testing.assert_array_equal(got[1], exp[1])
    assert bf._fallback_panel is None  # never needed


def test_bf16_near_tie_overflow_falls_back_to_the_float32_panel():
    """Many items that bfloat16 rounds to the same vector but float32 does not (near-ties
    with a non-zero bound) overflow the candidate buffer: the answer is still the float32
    one, from a float32 panel built once and kept (not a slow path)."""
    rng = np.random.default_rng(7)
    n = 20_000
    v = (0.5 + rng.uniform(0, 2.0**-11, size=(n, 8))).astype(np.float32)  # all round to 0.5 in bf16
    v[:50] = rng.standard_normal((50, 8)).astype(np.float32)
    lf = np.full(n, -0.3, np.float32)
    f32 = ScoringIndex(v, log_freshness=lf)
    bf = f32.with_dtype("bfloat16")
    u = np.abs(rng.standard_normal(8)).astype(np.float32)
    assert bf._fallback_panel is None
    got, exp = bf.recommend(u, 100), f32.recommend(u, 100)
    np.testing.assert_array_equal(got[0], exp[0])
    np.testing.assert_array_equal(got[1], exp[1])
    assert bf._fallback_panel is not None  # the overflow happened and the panel is kept
    assert bf.nbytes == (bf.matrix_.nbytes + bf._panel.nbytes + bf._tail.nbytes + bf._weights.nbytes
                         + bf._fallback_panel.nbytes)
    again = bf.recommend(u, 100)
    np.testing.assert_array_equal(again[0], exp[0])
    # the fallback applies a packed allow mask and the exclusions too
    allow, excl = rng.random(n) < 0.6, exp[0][::2]
    got = bf.with_active(rng.random(n) < 0.9)
    ref = got.with_dtype("float32")
    for a in (allow, ItemMask(allow)):
        g, e = got.recommend(u, 100, allow=a, exclude=excl), ref.recommend(u, 100, allow=allow, exclude=excl)
        np.testing.assert_array_equal(g[0], e[0])
        np.testing.assert_array_equal(g[1], e[1])
    assert got._fallback_panel is not None


def test_float16_large_query_fallback_applies_packed_masks():
    rng = np.random.default_rng(8)
    n = 500
    v = (rng.standard_normal((n, 4)) * 1e-3).astype(np.float32)
    f32 = ScoringIndex(v).with_active(rng.random(n) < 0.9)
    fp16 = f32.with_dtype("float16")
    u = (rng.standard_normal(4) * 2.0**16).astype(np.float32)  # beyond the float16 query limit
    allow, excl = rng.random(n) < 0.7, rng.integers(0, n, 30)
    exp = f32.recommend(u, 40, allow=allow, exclude=excl)
    for a in (allow, ItemMask(allow)):
        got = fp16.recommend(u, 40, allow=a, exclude=excl)
        np.testing.assert_array_equal(got[0], exp[0])
        np.testing.assert_array_equal(got[1], exp[1])


# ---------------------------------------------------------------- batches on the panel
@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), d=st.integers(0, 4), m=st.integers(1, 11), k=st.integers(1, 30),
       data=st.data())
def test_panel_batch_equals_brute_force_per_user_with_ties_and_filters(n, d, m, k, data):
    # Integer-valued factors: exact scores, frequent ties (lower index first), users not a
    # multiple of the group size, items not a multiple of the panel, k beyond what is left.
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    v = rng.integers(-2, 3, size=(n, d)).astype(np.float32)
    b = rng.integers(-2, 3, size=n).astype(np.float32)
    active, allow = rng.random(n) < 0.9, rng.random(n) < 0.8
    ix = ScoringIndex(v, item_bias=b, active=active)
    users = rng.integers(-2, 3, size=(m, d)).astype(np.float32)
    excl = [rng.integers(0, n, rng.integers(0, 6)) for _ in range(m)]
    idx, vals = ix.recommend_batch(users, k, allow=allow, exclude=excl)
    assert idx.shape == vals.shape == (m, k)
    for r in range(m):
        full = v.astype(np.float64) @ users[r] + b
        ref = brute(full, k, active & allow, excl[r])
        np.testing.assert_array_equal(idx[r, : ref.size], ref)
        np.testing.assert_array_equal(vals[r, : ref.size], full[ref].astype(np.float32))
        assert (idx[r, ref.size:] == -1).all() and (vals[r, ref.size:] == -np.inf).all()


@pytest.mark.parametrize("m", [1, 4, 5, 16, 67])
def test_batch_gives_the_single_user_answer(m):
    # Real-valued factors over several panels: the batch (BLAS blocks) and the single-user
    # scan give the same items; scores agree to float32 rounding (BLAS may sum in another order).
    rng = np.random.default_rng(m)
    n, d = 5000, 32
    ix = ScoringIndex((rng.standard_normal((n, d)) * 0.2).astype(np.float32),
                      item_bias=(rng.standard_normal(n) * 0.1).astype(np.float32),
                      log_freshness=-rng.random(n).astype(np.float32), freshness_weight=0.7)
    users = rng.standard_normal((m, d)).astype(np.float32)
    excl = [rng.integers(0, n, 20) for _ in range(m)]
    allow = rng.random(n) < 0.7
    idx, vals = ix.recommend_batch(users, 25, allow=allow, exclude=excl)
    for r in range(m):
        i1, v1 = ix.recommend(users[r], 25, allow=allow, exclude=excl[r])
        np.testing.assert_array_equal(idx[r], i1)
        np.testing.assert_allclose(vals[r], v1, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_reduced_exact_never_trusts_a_bound_that_overflows(dtype):
    # ‖q‖ beyond float32 made the error scale inf; weight-0 (cold) items then got a NaN
    # bound and vanished. Such queries now take the float32 panel: the float32 answer.
    v = np.full((10, 4), 1.001, np.float32)
    v[5:] = 0
    f32 = ScoringIndex(v, item_bias=np.arange(10, dtype=np.float32))
    u = np.full(4, -3e38, np.float32)
    exp = f32.recommend(u, 3)
    got = f32.with_dtype(dtype).recommend(u, 3)
    np.testing.assert_array_equal(got[0], exp[0])
    np.testing.assert_array_equal(got[1], exp[1])
    assert exp[0].tolist() == [9, 8, 7]
    # a bf16 score that overflows while the float32 one does not (reviewer's case)
    v2 = np.array([[3.3998, 0.0], [0.0, 3.390625]], np.float32)
    a = ScoringIndex(v2)
    u2 = np.array([1e38, 1.0035e38], np.float32)
    np.testing.assert_array_equal(a.with_dtype("bfloat16").recommend(u2, 1)[0], a.recommend(u2, 1)[0])
