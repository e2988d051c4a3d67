"""A small, honest hyper-parameter search: every candidate is fitted on the events before a
validation cut *inside the training window* and scored on the window after it; the test
window is never looked at. :data:`GRIDS` is deliberately small (2 shared cores)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from catalog.catalog import World
from training.data import prepare
from training.evaluate import fit_model, score_prepared

__all__ = ["GRIDS", "grid", "tune"]

GRIDS: dict[str, dict[str, list[Any]]] = {
    "als": {"factors": [32, 64, 128], "regularization": [0.1, 1.0, 10.0], "alpha": [1.0, 4.0], "iterations": [15]},
    "bpr": {"factors": [32, 64], "learning_rate": [0.01, 0.05], "iterations": [100, 300]},
    "ease": {"regularization": [10.0, 100.0, 500.0, 2000.0]},
    "lightfm": {"no_components": [16, 32, 64], "epochs": [10, 30]},
    "content": {"history_weight": [0.0, 0.5, 1.0], "level_tolerance": [1.0, 2.0]},
    "popularity": {"binary": [False, True]},
}


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``space`` as a list of parameter dicts."""
    keys = list(space)
    return [dict(zip(keys, values)) for values in itertools.product(*(space[k] for k in keys))]


def tune(names: Sequence[str], fit_events: pd.DataFrame, val_events: pd.DataFrame, world: World, *,
         k: int = 10, grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
         id_events: Sequence[pd.DataFrame] | None = None,
         on_trial: Callable[[str, dict[str, Any], float], None] | None = None) -> pd.DataFrame:
    """One row per (model, params) trial with its validation ``ndcg@k``, ``recall@k`` and fit seconds."""
    prepared = prepare(world, fit_events, val_events, id_events=id_events)
    rows = []
    for name in names:
        for params in grid((grids or GRIDS).get(name, {})) or [{}]:
            model, seconds = fit_model(name, prepared, params)
            metrics, _, _ = score_prepared(model, prepared, k, freshness=None)
            rows.append({"model": name, "params": params, f"ndcg@{k}": metrics[f"ndcg@{k}"],
                         f"recall@{k}": metrics[f"recall@{k}"], "fit_seconds": seconds})
            if on_trial is not None:
                on_trial(name, params, metrics[f"ndcg@{k}"])
    return pd.DataFrame(rows)


