from __future__ import annotations

import numpy as np

from training.windows import PrefixIndex


def _brute(keys, ts, w, qk, qt, lo=None):
    out = []
    for k, t in zip(qk, qt):
        m = (keys == k) & (ts < t)
        if lo is not None:
            m &= ts >= t - lo
        out.append(w[m].sum())
    return np.array(out)


def test_window_sums_match_brute_force_including_ties():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 6, 300)
    ts = rng.integers(0, 50, 300)  # many ties on purpose
    w = rng.random(300)
    qk, qt = rng.integers(0, 7, 200), rng.integers(-5, 60, 200)  # key 6 has no events
    idx = PrefixIndex(keys, ts)
    now = idx.positions(qk, qt)
    pre = idx.prefix(w)
    np.testing.assert_allclose(idx.window(pre, now), _brute(keys, ts, w, qk, qt))
    lo = idx.positions(qk, qt - 10)
    np.testing.assert_allclose(idx.window(pre, now, lo), _brute(keys, ts, w, qk, qt, lo=10))
    np.testing.assert_array_equal(now.count, _brute(keys, ts, np.ones(300), qk, qt))


def test_event_at_query_time_is_not_counted():
    idx = PrefixIndex(np.array([0, 0, 0]), np.array([10, 20, 30]))
    p = idx.positions(np.array([0, 0, 0]), np.array([20, 21, 10]))
    np.testing.assert_array_equal(p.count, [1, 2, 0])
    np.testing.assert_array_equal(idx.last_ts_before(p), [10, 20, np.iinfo(np.int64).min])


def test_empty_index_and_empty_queries():
    idx = PrefixIndex(np.zeros(0, np.int64), np.zeros(0, np.int64))
    p = idx.positions(np.array([0, 1]), np.array([5, 6]))
    np.testing.assert_array_equal(p.count, [0, 0])
    assert idx.window(idx.prefix(), p).tolist() == [0.0, 0.0]
    idx2 = PrefixIndex(np.array([1]), np.array([1]))
    assert len(idx2.positions(np.zeros(0, np.int64), np.zeros(0, np.int64)).pos) == 0
