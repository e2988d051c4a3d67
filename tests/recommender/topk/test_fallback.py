"""Without compiled scans (numba missing, or failing to compile) the reference path
answers every request alike, after one warning."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from recommender.topk import DTYPES, ItemMask, ScoringIndex, compiled_scans
from recommender.topk import panels as topk_panels


def _break_scans(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.setattr(topk_panels, "_SCANS", [])  # forget the compiled module for this test
    if how == "import":
        monkeypatch.setitem(sys.modules, "recommender.topk.scan", None)  # importing it raises ImportError
    else:
        from recommender.topk import scan

        def fail() -> None:
            raise RuntimeError("Failed in nopython mode pipeline (step: native lowering)")
        monkeypatch.setattr(scan, "warm_up", fail)


@pytest.mark.parametrize("how", ["import", "compile"])
def test_reference_path_answers_like_the_scans_after_one_warning(monkeypatch, caplog, how):
    rng = np.random.default_rng(0)
    n, d = 3000, 8
    v = rng.integers(-3, 4, size=(n, d)).astype(np.float32)  # exact scores: bitwise comparable
    kw = dict(item_bias=rng.integers(-2, 3, size=n).astype(np.float32),
              log_freshness=-rng.integers(0, 3, size=n).astype(np.float32), active=rng.random(n) < 0.9)
    users = rng.integers(-2, 3, size=(5, d)).astype(np.float32)
    allow = rng.random(n) < 0.7
    excl = [rng.integers(0, n, 50) for _ in range(5)]
    compiled = {dt: ScoringIndex(v, dtype=dt, **kw) for dt in DTYPES}
    assert compiled_scans() is not None and all(ix._panel is not None for ix in compiled.values())

    _break_scans(monkeypatch, how)
    with caplog.at_level(logging.WARNING, logger="recommender.topk"):
        fallback = {dt: ScoringIndex(v, dtype=dt, **kw) for dt in DTYPES}
        fallback["float32"].with_dtype("bfloat16").recommend(users[0], 5)
    warned = [r for r in caplog.records if "compiled scans unavailable" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    assert compiled_scans() is None

    for dt in DTYPES:
        fb, cp = fallback[dt], compiled[dt]
        assert fb._panel is None and fb.nbytes == fb.matrix_.nbytes + fb._active_words.nbytes
        for r in range(5):
            for a in (None, allow, ItemMask(allow)):
                got = fb.recommend(users[r], 40, allow=a, exclude=excl[r])
                exp = cp.recommend(users[r], 40, allow=a, exclude=excl[r])
                np.testing.assert_array_equal(got[0], exp[0])
                np.testing.assert_array_equal(got[1], exp[1])
        got, exp = fb.recommend_batch(users, 40, exclude=excl), cp.recommend_batch(users, 40, exclude=excl)
        np.testing.assert_array_equal(got[0], exp[0])
