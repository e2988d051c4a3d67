"""Train-time tuning of the recency settings (``"auto"`` parameters), from the fit window alone.

How fast popularity moves differs per deployment (a running course: a day; the synthetic
world's slow catalog: months), so one shipped half-life cannot suit every data dir. A
parameter set to ``"auto"`` is resolved here, at training time, on an *inner* validation
split of the events the model is about to be fitted on:

    fit window ──inner cut (last INNER_FRACTION by time)──> inner fit | inner validation

1. the model is fitted once on the inner fit events with the prior off;
2. every setting of the grid (:data:`PRIOR_AUTO_GRID` for ``recency_weight`` x
   ``recency_half_life_days``; :data:`POPULARITY_AUTO_GRID` for popularity's
   ``half_life_days``) is scored on the inner validation window by adding that setting's
   prior (computed by :meth:`~recommender.models.recency.RecencyPrior.refit_prior`, the code
   path ``fit`` uses) to the same base scores: one fit, no refit per setting;
3. the best NDCG@k wins (ties: the earlier, simpler setting); a recency prior (weight > 0) is
   kept only if it beats the prior off on the same inner users beyond noise: the lower end of
   a paired bootstrap 95% CI of the per-user NDCG difference must be above 0, else the prior
   is turned off. The caller then fits the final model on the whole fit window with those
   concrete values.

The inner split mirrors how the held-out data relates to the training data
(:func:`training.splits.validation_for`): a time cut when the test follows in time
(``split="temporal"``, the default), a per-user random holdout (``"user-holdout"``) or each
mentee's last item (``"leave-last-out"``) otherwise. A prior tuned on a time cut rewards
what is recent, which a per-user random holdout does not.

Only ``prepared.train_events`` (the fit window) is read: the outer validation window, and
any test window, are never seen. A parameter given as a number is kept as given.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import ConfigError, NotReadyError
from recommender.interactions import build_interactions
from recommender.models import make_model
from recommender.models.recency import RecencyPrior, recency_popularity
from recommender.split import positive_events
from training.data import Prepared
from training.splits import SPLITS, validation_for

__all__ = ["AUTO", "INNER_FRACTION", "PRIOR_AUTO_GRID", "POPULARITY_AUTO_GRID", "AutoResult", "auto_keys",
           "resolve_auto", "paired_bootstrap", "top_rows"]

AUTO = "auto"
INNER_FRACTION = 0.2
#: Weight 0 (prior off) is a candidate: the tuner may decide the prior does not help.
PRIOR_AUTO_GRID: dict[str, list[Any]] = {
    "recency_weight": [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0],
    "recency_half_life_days": [1.0, 3.0, 7.0, 30.0, 90.0, None],
}
POPULARITY_AUTO_GRID: dict[str, list[Any]] = {"half_life_days": [1.0, 3.0, 7.0, 14.0, 30.0, 90.0, None]}


@dataclass(frozen=True)
class AutoResult:
    """What the train-time tuner chose and why: every setting's inner-validation NDCG@k."""

    chosen: dict[str, Any]
    scores: list[tuple[dict[str, Any], float]] = field(repr=False)
    inner_cut: str
    inner_fit_events: int
    inner_val_events: int
    n_users: int
    k: int
    seconds: float
    split: str = "temporal"
    prior_test: dict[str, float] | None = None  # best prior vs off: mean, lo, hi, kept (1/0)

    @property
    def best_score(self) -> float:
        return max((s for _, s in self.scores), default=float("nan"))

    def summary(self) -> str:
        chosen = ", ".join(f"{k}={v}" for k, v in self.chosen.items())
        test = ""
        if self.prior_test is not None:
            t = self.prior_test
            test = (f"; prior vs off {t['mean']:+.4f} [{t['lo']:+.4f}, {t['hi']:+.4f}]: "
                    f"{'kept' if t['kept'] else 'not beyond noise, turned off'}")
        return (f"{chosen} ({self.split} inner validation from {self.inner_cut}: ndcg@{self.k} "
                f"{self.best_score:.4f} over {len(self.scores)} settings, {self.n_users} users; "
                f"{self.seconds:.1f} s{test})")

    def to_json(self) -> str:
        return json.dumps({"chosen": self.chosen, "inner_cut": self.inner_cut, "k": self.k, "split": self.split,
                           "prior_test": self.prior_test,
                           "inner_fit_events": self.inner_fit_events, "inner_val_events": self.inner_val_events,
                           "n_users": self.n_users, "seconds": self.seconds,
                           "scores": [{"params": p, f"ndcg@{self.k}": s} for p, s in self.scores]}, indent=1)


def auto_keys(params: Mapping[str, Any]) -> list[str]:
    """The parameters set to ``"auto"``."""
    return [k for k, v in params.items() if isinstance(v, str) and v == AUTO]


def _grid(space: Mapping[str, Sequence[Any]], keys: Sequence[str], fixed: Mapping[str, Any]) -> list[dict[str, Any]]:
    combos = [dict(zip(keys, vals)) for vals in itertools.product(*(space[k] for k in keys))]
    out, seen = [], set()
    for c in combos:
        full = {**fixed, **c}
        if full.get("recency_weight", 1.0) == 0:
            full["recency_half_life_days"] = None  # the half-life of a prior that is off is moot
        key = json.dumps(full, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append({k: full[k] for k in (*keys, *fixed) if k in full})
    return out


def _inner(prepared: Prepared, fraction: float, split: str = "temporal") -> tuple[Prepared, str]:
    if prepared.train_events is None:
        raise ConfigError("'auto' parameters need the fit window's events (Prepared.train_events)")
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {list(SPLITS)}, got {split!r}")
    try:
        fit, val, now = validation_for(prepared.train_events, split, fraction=fraction)
    except NotReadyError as e:
        raise NotReadyError(f"too few events to tune 'auto' parameters on the fit window ({e}); "
                            "pass explicit values instead") from None
    if fit.empty or val.empty:
        raise NotReadyError("too few events to tune 'auto' parameters on the fit window; pass explicit values instead")
    train = build_interactions(fit, users=prepared.users, items=prepared.items, on_unknown="drop")
    inner = replace(prepared, train=train, test_events=val, train_events=fit)
    return inner, now.isoformat()


def paired_bootstrap(a: NDArray[np.float64], b: NDArray[np.float64], *, n: int = 2000,
                     seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``a - b`` (paired per user) and its 95% percentile CI over ``n`` resamples."""
    d = np.asarray(a, float) - np.asarray(b, float)
    if not len(d):
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = np.array([d[rng.integers(0, len(d), size=len(d))].mean() for _ in range(n)])
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(d.mean()), float(lo), float(hi)


def resolve_auto(name: str, prepared: Prepared, params: Mapping[str, Any], *, k: int = 10,
                 fraction: float = INNER_FRACTION, grids: Mapping[str, Sequence[Any]] | None = None,
                 split: str = "temporal") -> tuple[dict[str, Any], AutoResult | None]:
    """``params`` with every ``"auto"`` value replaced by the setting chosen on an inner validation
    split of ``prepared.train_events`` (see the module docstring), and the :class:`AutoResult`
    (None when nothing was ``"auto"``). A prior weight given as 0 makes an ``"auto"`` half-life moot
    (resolved to None without any fit)."""
    params = dict(params)
    keys = auto_keys(params)
    if not keys:
        return params, None
    if name == "popularity":
        allowed, space = set(POPULARITY_AUTO_GRID), dict(POPULARITY_AUTO_GRID)
    else:
        allowed, space = set(PRIOR_AUTO_GRID), dict(PRIOR_AUTO_GRID)
    space.update(grids or {})
    bad = sorted(set(keys) - allowed)
    if bad:
        raise ConfigError(f"{name}: only {sorted(allowed)} can be 'auto', not {bad}")
    if params.get("recency_weight") == 0 and keys == ["recency_half_life_days"]:
        return {**params, "recency_half_life_days": None}, None
    t0 = time.perf_counter()
    inner, cut = _inner(prepared, fraction, split)
    fixed = {k: v for k, v in params.items() if k in allowed and k not in keys}
    settings = _grid(space, keys, fixed)
    if name == "popularity":
        model = None  # popularity is its own prior: base scores 0
        priors = [recency_popularity(inner.train, half_life_days=s["half_life_days"],
                                     binary=bool(params.get("binary", False))).astype(np.float32)
                  for s in settings]
    else:
        model = make_model(name, **{**params, "recency_weight": 0.0, "recency_half_life_days": None})
        if not isinstance(model, RecencyPrior):
            raise ConfigError(f"{name} takes no recency prior; 'auto' makes no sense for it")
        item_f, user_f = inner.features.for_model(model)
        model.fit(inner.train, item_features=item_f, user_features=user_f)
        priors = []
        for s in settings:
            model.set_params(**s)  # type: ignore[attr-defined]  # a Recommender too
            model.refit_prior(inner.train)
            p = model.item_prior_
            priors.append(np.zeros(inner.train.shape[1], np.float32) if p is None else p.copy())
        model.set_params(recency_weight=0.0)  # type: ignore[attr-defined]
        model.refit_prior(inner.train)
    per_user = _score_settings(model, inner, priors, k)
    ndcg, n_users = per_user.mean(axis=1), per_user.shape[1]
    best = int(np.argmax(ndcg)) if len(ndcg) else 0
    prior_test = None
    off = [j for j, st in enumerate(settings) if st.get("recency_weight", 1.0) == 0]
    if name != "popularity" and off and settings[best].get("recency_weight", 0) != 0:
        m, lo, hi = paired_bootstrap(per_user[best], per_user[off[0]])
        prior_test = {"mean": m, "lo": lo, "hi": hi, "kept": float(lo > 0)}
        if not lo > 0:
            best = off[0]
    chosen = {key: settings[best][key] for key in keys}
    result = AutoResult(chosen=chosen, scores=[(s, float(v)) for s, v in zip(settings, ndcg)], inner_cut=cut,
                        inner_fit_events=len(inner.train_events), inner_val_events=len(inner.test_events),
                        n_users=n_users, k=k, seconds=time.perf_counter() - t0, split=split,
                        prior_test=prior_test)
    return {**params, **chosen}, result


def _score_settings(model: Any, inner: Prepared, priors: list[NDArray[np.float32]], k: int,
                    batch_size: int = 512) -> NDArray[np.float64]:
    """NDCG@k of ``base scores + prior`` per prior (rows) and inner validation user (columns); the
    same truth and exclusions as :func:`training.evaluate.rank_users` (seen and dismissed out)."""
    from recommender.metrics import truth_matrix

    train = inner.train
    pos = positive_events(inner.test_events)
    truth = sp.csr_matrix(truth_matrix(pos[["user_id", "item_id"]], train), dtype=bool)
    seen = sp.csr_matrix(train.seen, dtype=bool)
    truth = sp.csr_matrix(truth > seen)
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    if not len(users):
        raise NotReadyError("the inner validation window (the fit window's last 20%) has no positives to tune "
                            "'auto' parameters on; pass explicit values instead")
    banned = sp.csr_matrix(sp.csr_matrix(train.dismissed, dtype=bool) + seen)
    feats = None
    if model is not None:
        uf = inner.features.for_model(model)[1]
        feats = None if uf is None else sp.csr_matrix(uf)
    out = np.zeros((len(priors), len(users)))
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        if model is None:
            base = np.zeros((len(batch), train.shape[1]), np.float32)
        else:
            base = model.score(batch, train.matrix[batch], user_features=None if feats is None else feats[batch])
        bb = banned[batch].toarray()
        rel = truth[batch].toarray()
        for j, p in enumerate(priors):
            scores = (base + p[None, :]).astype(np.float32)
            scores[bb] = -np.inf
            out[j, start:start + len(batch)] = _ndcg_rows(top_rows(scores, k), rel, k)
    return out


def top_rows(scores: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    """Each row's ``k`` best item indices, best first, ties to the lower index, ``-inf`` never
    returned (rows padded with -1): the answer of :func:`recommender.topk.topk` with the excluded
    items set to ``-inf``, computed for all rows at once along the contiguous axis.

    The tuner ranks every inner-validation mentee once per grid setting (37 settings); the
    general top-k, built for the service's item-major blocks, spent most of ``train`` there.
    """
    m, n = scores.shape
    kk = min(k, n)
    if kk == 0:
        return np.full((m, k), -1, np.int64)
    kth = -np.partition(-scores, kk - 1, axis=1)[:, kk - 1]  # each row's kk-th best score
    above, tied = scores > kth[:, None], scores == kth[:, None]
    need = kk - above.sum(axis=1)
    pick = above | tied
    crowded = np.flatnonzero(tied.sum(axis=1) > need)  # more ties at the k-th score than places left
    if crowded.size:  # those rows keep their lowest-index ties only
        pick[crowded] = above[crowded] | (tied[crowded] & (np.cumsum(tied[crowded], axis=1) <= need[crowded, None]))
    pick &= scores > -np.inf
    rows, cols = np.nonzero(pick)  # row-major, ascending items within a row
    order = np.lexsort((cols, -scores[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    counts = np.bincount(rows, minlength=m)
    out = np.full((m, k), -1, np.int64)
    out[rows, np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)] = cols
    return out


def _ndcg_rows(ranked: NDArray[np.int64], relevant: NDArray[np.bool_], k: int) -> NDArray[np.float64]:
    """:func:`recommender.metrics.ndcg_at_k` of every row (``relevant``: a dense boolean row per mentee)."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    hits = relevant[np.arange(len(ranked))[:, None], np.maximum(ranked, 0)] & (ranked >= 0)
    n_rel = relevant.sum(axis=1)
    dcg = np.where(hits, discounts[None, :], 0.0).sum(axis=1)
    idcg = np.cumsum(discounts)[np.clip(np.minimum(n_rel, k) - 1, 0, None)]
    return np.where(n_rel > 0, dcg / idcg, 0.0)
