"""Fitting BKT parameters per skill by grid search.

The criterion is the one-step-ahead predictive log-likelihood of assessment scores:
before each assessment the model predicts ``P = p(1-S) + (1-p)G`` and is charged the
binary cross-entropy ``x log P + (1-x) log(1-P)`` of the observed score ``x`` (exactly the
Bernoulli log-likelihood when scores are 0 or 100). Between assessments the state moves
by the same rules as :meth:`recommender.mastery.model.MasteryModel.update` (completions included; forgetting is
not fitted). The whole grid is simulated at once: users x grid points as one array,
stepping through each user's sequence in parallel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.schema import SkillLevel
from recommender.mastery.bkt import BKTParams, assess_update, complete_update, evidence_rows, prior_for_level

__all__ = ["DEFAULT_GRID", "fit_skill_params", "skill_log_likelihood"]

DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "prior": (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9),
    "learn": (0.02, 0.05, 0.1, 0.2, 0.35),
    "slip": (0.05, 0.1, 0.2, 0.3),
    "guess": (0.1, 0.2, 0.3, 0.4),
}
_ASSESS, _COMPLETE = 1, 2


def _grid_points(grid: Mapping[str, tuple[float, ...]]) -> NDArray[np.float64]:
    mesh = np.meshgrid(grid["prior"], grid["learn"], grid["slip"], grid["guess"], indexing="ij")
    pts = np.stack([m.ravel() for m in mesh], axis=1)
    return pts[pts[:, 2] + pts[:, 3] < 1.0]


def skill_log_likelihood(kind: NDArray[np.int8], x: NDArray[np.float64], level: NDArray[np.float64],
                         seed: NDArray[np.float64], points: NDArray[np.float64], *,
                         threshold: float) -> NDArray[np.float64]:
    """Predictive log-likelihood of one skill's sequences for every grid point.

    ``kind``, ``x``, ``level`` are (steps x users) matrices (kind 0 = padding); ``seed``
    is each user's starting mastery (NaN = use the grid point's prior); ``points`` is
    (G x 4) of (prior, learn, slip, guess). Returns (G,).
    """
    prior, learn, slip, guess = (points[:, k][None, :] for k in range(4))
    p = np.where(np.isnan(seed)[:, None], prior, seed[:, None])
    p = np.broadcast_to(p, (len(seed), len(points))).copy()
    ll = np.zeros(len(points))
    for t in range(kind.shape[0]):
        a = kind[t] == _ASSESS
        c = kind[t] == _COMPLETE
        if a.any():
            xa = x[t, a][:, None]
            pred = np.clip(p[a] * (1.0 - slip) + (1.0 - p[a]) * guess, 1e-9, 1.0 - 1e-9)
            ll += (xa * np.log(pred) + (1.0 - xa) * np.log1p(-pred)).sum(axis=0)
            p[a] = assess_update(p[a], xa, level[t, a][:, None], slip=slip, guess=guess, learn=learn)
        if c.any():
            p[c] = complete_update(p[c], level[t, c][:, None], learn=learn, threshold=threshold)
    return ll


def fit_skill_params(events: pd.DataFrame, catalog: Catalog, *, min_assess: int,
                     threshold: float, self_levels: Mapping[str, Iterable[SkillLevel]],
                     grid: Mapping[str, tuple[float, ...]] = DEFAULT_GRID,
                     ) -> tuple[dict[str, BKTParams], dict[str, int]]:
    """Fit params for each skill with at least ``min_assess`` assessments (all users).

    Returns ``(params, n_assess)``: fitted params for the skills that had enough data, and
    the number of assessments seen per skill (every skill with any).
    """
    ev = evidence_rows(events, None, np.iinfo(np.int64).max)
    idx = catalog.items.indices(list(ev["item_id"]), missing="-1")
    ev, idx = ev[idx >= 0].reset_index(drop=True), idx[idx >= 0]
    if len(ev) == 0:
        return {}, {}
    # Group by user, keeping time order inside each user (rows are already time-sorted).
    ucodes, uniques = pd.factorize(ev["user_id"].astype(str))
    order = np.argsort(ucodes, kind="stable")
    ev, idx, ucodes = ev.iloc[order].reset_index(drop=True), idx[order], ucodes[order]
    # One row per (event, tagged skill).
    m = catalog.item_skill_levels.tocsr()
    counts = np.diff(m.indptr)[idx]
    rows = np.repeat(np.arange(len(ev)), counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    pos = np.repeat(m.indptr[idx], counts) + offs
    skill, level = m.indices[pos], m.data[pos].astype(np.float64)
    kind = np.where(ev["event_type"].to_numpy()[rows] == "assess", _ASSESS, _COMPLETE).astype(np.int8)
    x = ev["x"].to_numpy(dtype=np.float64)[rows]
    user = ucodes[rows]
    seeds = {str(u): {sl.skill_id: prior_for_level(sl.level) for sl in lv} for u, lv in self_levels.items()}
    points = _grid_points(grid)
    fitted: dict[str, BKTParams] = {}
    n_assess: dict[str, int] = {}
    by_skill = np.argsort(skill, kind="stable")
    bounds = np.flatnonzero(np.diff(skill[by_skill])) + 1
    for grp in np.split(by_skill, bounds):
        j = int(skill[grp[0]])
        sid = catalog.skill_ids.to_ids([j])[0]
        n = int((kind[grp] == _ASSESS).sum())
        n_assess[sid] = n
        if n < min_assess:
            continue
        g_user = user[grp]
        local, users = pd.factorize(g_user)
        step = pd.Series(local).groupby(local).cumcount().to_numpy()
        shape = (int(step.max()) + 1, len(users))
        K = np.zeros(shape, dtype=np.int8)
        X = np.zeros(shape)
        L = np.ones(shape)
        K[step, local], X[step, local], L[step, local] = kind[grp], np.nan_to_num(x[grp]), level[grp]
        seed = np.array([seeds.get(str(uniques[u]), {}).get(sid, np.nan) for u in users], dtype=np.float64)
        ll = skill_log_likelihood(K, X, L, seed, points, threshold=threshold)
        best = points[int(np.argmax(ll))]
        fitted[sid] = BKTParams(*(float(v) for v in best))
    return fitted, n_assess
