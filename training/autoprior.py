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
3. the best NDCG@k wins (ties: the earlier, simpler setting); the caller then fits the final
   model on the whole fit window with those concrete values.

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
from recommender.metrics import ndcg_at_k
from recommender.models import make_model
from recommender.models.recency import RecencyPrior, recency_popularity
from recommender.split import positive_events
from recommender.topk import topk
from training.data import Prepared, validation_split

__all__ = ["AUTO", "INNER_FRACTION", "PRIOR_AUTO_GRID", "POPULARITY_AUTO_GRID", "AutoResult", "auto_keys",
           "resolve_auto"]

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

    @property
    def best_score(self) -> float:
        return max((s for _, s in self.scores), default=float("nan"))

    def summary(self) -> str:
        chosen = ", ".join(f"{k}={v}" for k, v in self.chosen.items())
        return (f"{chosen} (inner validation from {self.inner_cut}: ndcg@{self.k} {self.best_score:.4f} "
                f"over {len(self.scores)} settings, {self.n_users} users; {self.seconds:.1f} s)")

    def to_json(self) -> str:
        return json.dumps({"chosen": self.chosen, "inner_cut": self.inner_cut, "k": self.k,
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


def _inner(prepared: Prepared, fraction: float) -> tuple[Prepared, str]:
    if prepared.train_events is None:
        raise ConfigError("'auto' parameters need the fit window's events (Prepared.train_events)")
    try:
        split = validation_split(prepared.train_events, fraction=fraction)
    except NotReadyError as e:
        raise NotReadyError(f"too few events to tune 'auto' parameters on the fit window ({e}); "
                            "pass explicit values instead") from None
    train = build_interactions(split.train, users=prepared.users, items=prepared.items, on_unknown="drop")
    inner = replace(prepared, train=train, test_events=split.test, train_events=split.train)
    return inner, split.cutoff.isoformat()


def resolve_auto(name: str, prepared: Prepared, params: Mapping[str, Any], *, k: int = 10,
                 fraction: float = INNER_FRACTION, grids: Mapping[str, Sequence[Any]] | None = None,
                 ) -> tuple[dict[str, Any], AutoResult | None]:
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
    inner, cut = _inner(prepared, fraction)
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
    ndcg, n_users = _score_settings(model, inner, priors, k)
    best = int(np.argmax(ndcg)) if len(ndcg) else 0
    chosen = {key: settings[best][key] for key in keys}
    result = AutoResult(chosen=chosen, scores=[(s, float(v)) for s, v in zip(settings, ndcg)], inner_cut=cut,
                        inner_fit_events=len(inner.train_events), inner_val_events=len(inner.test_events),
                        n_users=n_users, k=k, seconds=time.perf_counter() - t0)
    return {**params, **chosen}, result


def _score_settings(model: Any, inner: Prepared, priors: list[NDArray[np.float32]], k: int,
                    batch_size: int = 512) -> tuple[NDArray[np.float64], int]:
    """Mean NDCG@k of ``base scores + prior`` per prior, over the inner validation users; the
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
    totals = np.zeros(len(priors))
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        if model is None:
            base = np.zeros((len(batch), train.shape[1]), np.float32)
        else:
            base = model.score(batch, train.matrix[batch], user_features=None if feats is None else feats[batch])
        rel = [truth[u].indices for u in batch]
        bb = banned[batch]
        for j, p in enumerate(priors):
            ranked = topk((base + p[None, :]).astype(np.float32), k, exclude=bb)[0]
            totals[j] += sum(ndcg_at_k(ranked[r], rel[r], k) for r in range(len(batch)))
    return totals / len(users), len(users)
