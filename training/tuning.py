"""A small, honest hyper-parameter search: every candidate is fitted on the events before a
validation cut *inside the training window* and scored on the window after it; the test
window is never looked at. The grids are deliberately small (2 shared cores).

Two stages per model:

1. ``base``: every combination of :data:`GRIDS` (the recency prior off, ``recency_weight=0``).
2. ``prior``: on the best base setting, every combination of :data:`PRIOR_GRIDS` (weight,
   popularity half-life) for the models that take the recency prior. The prior does not
   change the fitted factors, so stage 2 re-scores the *same* fitted model
   (:meth:`~recommender.models.recency.RecencyPrior.refit_prior`): no refits.

Popularity's own half-life is in its base grid: it is the baseline the others must beat.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from catalog.catalog import World
from recommender.models.recency import RecencyPrior
from training.data import prepare
from training.evaluate import fit_model, rank_users, ranking_metrics, truth_of

__all__ = ["GRIDS", "PRIOR_GRIDS", "grid", "tune", "best_params", "shared_defaults"]

GRIDS: dict[str, dict[str, list[Any]]] = {
    "als": {"factors": [32, 64, 128], "regularization": [0.1, 1.0, 10.0], "alpha": [1.0, 4.0], "iterations": [15]},
    "bpr": {"factors": [32, 64], "learning_rate": [0.01, 0.05], "iterations": [100, 300]},
    "ease": {"regularization": [10.0, 100.0, 500.0, 2000.0]},
    "lightfm": {"no_components": [16, 32, 64], "epochs": [10, 30]},
    "content": {"history_weight": [0.0, 0.5, 1.0], "level_tolerance": [1.0, 2.0]},
    "popularity": {"binary": [False, True], "half_life_days": [1.0, 3.0, 7.0, 14.0, 30.0, 90.0, None]},
}

_PRIOR: dict[str, list[Any]] = {
    "recency_weight": [0.1, 0.3, 1.0, 3.0, 10.0],
    "recency_half_life_days": [1.0, 3.0, 7.0, 30.0, 90.0, None],
}
PRIOR_GRIDS: dict[str, dict[str, list[Any]]] = {name: _PRIOR for name in ("als", "bpr", "ease", "lightfm")}


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``space`` as a list of parameter dicts."""
    keys = list(space)
    return [dict(zip(keys, values)) for values in itertools.product(*(space[k] for k in keys))]


def tune(names: Sequence[str], fit_events: pd.DataFrame, val_events: pd.DataFrame, world: World, *,
         k: int = 10, grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
         prior_grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
         id_events: Sequence[pd.DataFrame] | None = None,
         on_trial: Callable[[str, dict[str, Any], float], None] | None = None) -> pd.DataFrame:
    """One row per (model, params) trial: ``model``, ``stage`` (base | prior), ``params`` (the
    overrides on top of :data:`training.defaults.DEFAULT_PARAMS`), validation ``ndcg@k`` and
    ``recall@k``, and ``fit_seconds`` (the model fit; prior trials reuse the base fit)."""
    prepared = prepare(world, fit_events, val_events, id_events=id_events)
    truth = truth_of(prepared)
    grids = GRIDS if grids is None else grids
    prior_grids = PRIOR_GRIDS if prior_grids is None else prior_grids
    rows: list[dict[str, Any]] = []

    def score(name: str, stage: str, params: dict[str, Any], model: Any, seconds: float) -> float:
        users, ranked, tr = rank_users(model, prepared.train, truth, k,
                                       user_features=prepared.features.for_model(model)[1])
        metrics = ranking_metrics(users, ranked, tr, prepared.train, k)
        rows.append({"model": name, "stage": stage, "params": params, f"ndcg@{k}": metrics[f"ndcg@{k}"],
                     f"recall@{k}": metrics[f"recall@{k}"], "fit_seconds": seconds})
        if on_trial is not None:
            on_trial(name, params, metrics[f"ndcg@{k}"])
        return metrics[f"ndcg@{k}"]

    for name in names:
        takes_prior = name in prior_grids
        best: tuple[float, dict[str, Any], Any, float] | None = None
        for params in grid(grids.get(name, {})) or [{}]:
            params = {**params, "recency_weight": 0.0} if takes_prior else params
            t0 = time.perf_counter()
            model, _ = fit_model(name, prepared, params)
            seconds = time.perf_counter() - t0
            s = score(name, "base", params, model, seconds)
            if best is None or s > best[0]:
                best = (s, params, model, seconds)
        if not takes_prior or best is None:
            continue
        _, base, model, seconds = best
        if not isinstance(model, RecencyPrior):
            continue
        for prior in grid(prior_grids[name]):
            model.set_params(**prior)  # type: ignore[attr-defined]  # a Recommender too
            model.refit_prior(prepared.train)
            score(name, "prior", {**base, **prior}, model, seconds)
    return pd.DataFrame(rows)


def best_params(trials: pd.DataFrame, k: int = 10) -> dict[str, dict[str, Any]]:
    """Per model, the params of its best validation trial (ties: the first, i.e. the simpler, trial)."""
    col = f"ndcg@{k}"
    out: dict[str, dict[str, Any]] = {}
    for name, group in trials.groupby("model", sort=False):
        out[str(name)] = dict(group.loc[group[col].idxmax(), "params"])
    return out


def _key(params: Mapping[str, Any]) -> str:
    return json.dumps(dict(params), sort_keys=True, default=str)


def shared_defaults(trials: Mapping[str, pd.DataFrame], k: int = 10, *, baseline: str = "popularity",
                    ) -> pd.DataFrame:
    """One setting per model for every dataset: the params tried on *all* datasets whose
    worst ratio to the dataset's best ``baseline`` trial (validation ``ndcg@k``) is highest.

    ``trials`` maps a dataset name to its :func:`tune` table. Maximising the worst ratio,
    rather than the mean NDCG, asks for a setting that beats the tuned baseline on each
    dataset, whatever the datasets' NDCG scales. Returns one row per model: ``model``,
    ``params``, ``min_ratio`` and ``<dataset>/ndcg@k`` for each dataset, best ``min_ratio`` first.
    """
    col = f"ndcg@{k}"
    bars = {}
    for ds, t in trials.items():
        base = t.loc[t.model == baseline, col]
        if base.empty or base.max() <= 0:
            raise ValueError(f"{ds}: no positive {baseline} trial to compare with")
        bars[ds] = float(base.max())
    scores: dict[tuple[str, str], dict[str, float]] = {}
    params_of: dict[str, dict[str, Any]] = {}
    for ds, t in trials.items():
        for model, params, val in t[["model", "params", col]].itertuples(index=False, name=None):
            key = _key(params)
            params_of[key] = dict(params)
            by_ds = scores.setdefault((str(model), key), {})
            by_ds[ds] = max(float(val), by_ds.get(ds, float("-inf")))
    rows = []
    for (model, key), by_ds in scores.items():
        if set(by_ds) != set(trials):
            continue
        rows.append({"model": model, "params": params_of[key],
                     "min_ratio": min(by_ds[ds] / bars[ds] for ds in trials),
                     **{f"{ds}/{col}": by_ds[ds] for ds in trials}})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    best = table.loc[table.groupby("model", sort=False)["min_ratio"].idxmax()]
    return best.sort_values("min_ratio", ascending=False, kind="stable").reset_index(drop=True)
