"""Compare models offline: fit each on the same history, rank, score every metric side by side.

Metric keys carry the list length in the name, as people write them: ``precision@10``,
``recall@10``, ``ndcg@10``, ``map@10``, ``hit_rate@10``, ``coverage@10``, ``novelty@10``,
``stale_share@10``, plus slices ``warm/ndcg@10`` (mentees with history),
``cold_mentee/ndcg@10`` (none before the cut) and ``cold_item/recall@10`` (held-out items
nobody used in training). MLflow rejects ``@`` in metric names, so :func:`mlflow_key`
converts at that boundary only (``ndcg_at_10``).

Ranking follows :func:`recommender.metrics.evaluate_model` (same truth, same exclusions:
dismissed always, training-seen items removed from lists and truth), but ranks once to
``max(k, 20)`` so the NDCG@1..20 curve and the metrics at ``k`` share one pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import World
from catalog.errors import ConfigError
from catalog.freshness import catalog_freshness
from catalog.schema import parse_timestamp
from recommender.interactions import Interactions
from recommender.metrics import (
    catalog_coverage, hit_rate_at_k, item_self_information, map_at_k, ndcg_at_k, novelty, precision_at_k,
    recall_at_k, stale_share, truth_matrix,
)
from recommender.models import Recommender, make_model
from recommender.split import leave_last_n_out, positive_events
from recommender.topk import topk
from catalog.ids import IdMap
from training.data import Prepared, UserExtra, prepare, time_quantile
from training.autoprior import AutoResult, resolve_auto
from training.splits import SPLITS
from training.defaults import model_params

__all__ = [
    "CURVE_K", "ModelResult", "Comparison", "mlflow_key", "mlflow_metrics", "rank_users", "ranking_metrics",
    "ndcg_curve", "truth_rows", "fit_model", "fit_resolved", "truth_of", "score_prepared", "run_comparison", "compare_models", "split_events",
    "table_columns",
]

CURVE_K = 20
_PER_USER: dict[str, Callable[..., float]] = {
    "precision": precision_at_k, "recall": recall_at_k, "ndcg": ndcg_at_k, "map": map_at_k,
    "hit_rate": hit_rate_at_k,
}


def mlflow_key(key: str) -> str:
    """``ndcg@10`` -> ``ndcg_at_10`` (MLflow allows letters, digits, ``_ - . / : `` and spaces)."""
    return key.replace("@", "_at_")


def mlflow_metrics(metrics: Mapping[str, float], prefix: str = "") -> dict[str, float]:
    return {f"{prefix}{mlflow_key(k)}": float(v) for k, v in metrics.items() if np.isfinite(v)}


@dataclass
class ModelResult:
    """One model's scores on one (history, truth) pair."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, float]
    ndcg_curve: NDArray[np.float64]           # NDCG@1..CURVE_K
    recommended_freshness: NDArray[np.float64]  # freshness of every recommended slot (top k)
    fit_seconds: float
    model: Recommender | None = None
    recipe: dict[str, Any] = field(default_factory=dict)  # the params asked for ("auto" unresolved)
    auto: AutoResult | None = None                         # what the train-time tuner chose, if anything

    @property
    def auto_seconds(self) -> float:
        return 0.0 if self.auto is None else self.auto.seconds


@dataclass
class Comparison:
    """The comparison table plus what plots and the registry need."""

    table: pd.DataFrame
    results: dict[str, ModelResult]
    k: int
    split: str
    prepared: Prepared | None = field(default=None, repr=False)

    def best(self, metric: str | None = None) -> str:
        metric = metric or f"ndcg@{self.k}"
        return str(self.table.sort_values([metric, "model"], ascending=[False, True]).iloc[0]["model"])


def rank_users(model: Recommender, train: Interactions, truth: sp.csr_matrix, k: int, *,
               user_features: sp.spmatrix | None = None, exclude_seen: bool = True,
               batch_size: int = 256) -> tuple[NDArray[np.int64], NDArray[np.int64], sp.csr_matrix]:
    """``(users, ranked, truth)``: users with held-out positives, their top-``k`` lists, the truth
    (training-seen items removed when ``exclude_seen``). Model columns beyond ``model.n_items_``
    (items the model never saw) score ``-inf``."""
    truth = sp.csr_matrix(truth, dtype=bool)
    seen = sp.csr_matrix(train.seen, dtype=bool)
    if exclude_seen:
        truth = sp.csr_matrix(truth > seen)
    n_items = train.shape[1]
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    banned = sp.csr_matrix(train.dismissed, dtype=bool)
    if exclude_seen:
        banned = sp.csr_matrix(banned + seen)
    ranked = np.full((len(users), k), -1, dtype=np.int64)
    feats = None if user_features is None else sp.csr_matrix(user_features)
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        rows = train.matrix[batch][:, : model.n_items_] if n_items > model.n_items_ else train.matrix[batch]
        s = model.score(batch, rows, user_features=None if feats is None else feats[batch])
        full = np.full((len(batch), n_items), -np.inf, dtype=np.float32)
        full[:, : min(n_items, s.shape[1])] = s[:, :n_items]
        ranked[start:start + len(batch)] = topk(full, k, exclude=banned[batch])[0]
    return users, ranked, truth


def ranking_metrics(users: NDArray[np.int64], ranked: NDArray[np.int64], truth: sp.csr_matrix,
                    train: Interactions, k: int, *, freshness: NDArray[np.float64] | None = None,
                    stale_threshold: float = 0.5,
                    user_slices: Mapping[str, NDArray[np.bool_]] | None = None) -> dict[str, float]:
    """Every metric at ``k`` (keys with ``@``) from ranked lists; see the module docstring.

    ``user_slices`` maps a slice name to a boolean mask over all user rows; each adds
    ``<name>/ndcg@k`` and ``<name>/n_users`` over the scored users in the slice."""
    top = ranked[:, :k]
    n_users, n_items = train.shape
    rels = truth_rows(truth, users)
    per_user = {name: np.array([fn(top[r], rels[r], k) for r in range(len(users))])
                for name, fn in _PER_USER.items()}
    out: dict[str, float] = {f"{name}@{k}": float(v.mean()) if len(v) else 0.0 for name, v in per_user.items()}
    out[f"coverage@{k}"] = catalog_coverage(top, n_items)
    used = np.asarray((train.matrix > 0).sum(axis=0)).ravel()
    out[f"novelty@{k}"] = novelty(top, item_self_information(used, n_users))
    if freshness is not None:
        out[f"stale_share@{k}"] = stale_share(top, freshness, stale_threshold)
    has_history = np.diff(sp.csr_matrix(train.matrix).indptr)[users] > 0
    slices = [("warm", has_history), ("cold_mentee", ~has_history),
              *((n, np.asarray(m, bool)[users]) for n, m in (user_slices or {}).items())]
    for name, mask in slices:
        out[f"{name}/ndcg@{k}"] = float(per_user["ndcg"][mask].mean()) if mask.any() else float("nan")
        out[f"{name}/n_users"] = float(mask.sum())
    cold_items = used == 0
    recalls = []
    for r in range(len(users)):
        rel = rels[r][cold_items[rels[r]]]
        if len(rel):
            recalls.append(recall_at_k(top[r], rel, k))
    out[f"cold_item/recall@{k}"] = float(np.mean(recalls)) if recalls else float("nan")
    out["cold_item/n_users"] = float(len(recalls))
    out["n_users"] = float(len(users))
    return out


def ndcg_curve(users: NDArray[np.int64], ranked: NDArray[np.int64], truth: sp.csr_matrix,
               k_max: int = CURVE_K) -> NDArray[np.float64]:
    """Mean NDCG@k for k = 1..k_max (one ranking pass, prefixes of the same lists)."""
    if not len(users):
        return np.zeros(k_max)
    rels = truth_rows(truth, users)
    return np.array([np.mean([ndcg_at_k(ranked[r, :k], rels[r], k) for r in range(len(users))])
                     for k in range(1, k_max + 1)])


def truth_rows(truth: sp.csr_matrix, users: NDArray[np.int64]) -> list[NDArray[np.int32]]:
    """Each user's relevant item indices (``truth[u].indices``), sliced from the CSR arrays: indexing
    a sparse row builds a new matrix (about a millisecond each, 58,000 of them in one ``train``)."""
    truth = sp.csr_matrix(truth)
    ptr, idx = truth.indptr, truth.indices
    return [idx[ptr[u]:ptr[u + 1]] for u in users.tolist()]


def fit_resolved(name: str, prepared: Prepared, params: Mapping[str, Any], *, k: int = 10,
                 split: str = "temporal") -> tuple[Recommender, float, AutoResult | None]:
    """``params`` (complete: no defaults added) with ``"auto"`` values resolved on the fit window
    (:func:`training.autoprior.resolve_auto`), then the model fitted on ``prepared.train``;
    returns ``(model, fit seconds, AutoResult or None)``. The model's params are the chosen values.
    ``split`` is how the held-out data relates to ``prepared.train`` (:mod:`training.splits`): the
    inner validation of the tuner mirrors it."""
    resolved, auto = resolve_auto(name, prepared, params, k=k, split=split)
    model = make_model(name, **resolved)
    item_f, user_f = prepared.features.for_model(model)
    t0 = time.perf_counter()
    model.fit(prepared.train, item_features=item_f, user_features=user_f)
    return model, time.perf_counter() - t0, auto


def fit_model(name: str, prepared: Prepared, params: Mapping[str, Any] | None = None) -> tuple[Recommender, float]:
    """A model fitted on ``prepared.train`` with its features (defaults under ``params``, ``"auto"``
    values resolved on the fit window); returns ``(model, seconds)``."""
    model, seconds, _ = fit_resolved(name, prepared, model_params(name, params))
    return model, seconds


def truth_of(prepared: Prepared) -> sp.csr_matrix:
    """The held-out truth of ``prepared``: its test window's positive (user, item) pairs."""
    pos = positive_events(prepared.test_events)
    return truth_matrix(pos[["user_id", "item_id"]], prepared.train)


def score_prepared(model: Recommender, prepared: Prepared, k: int, *, freshness: NDArray[np.float64] | None,
                   stale_threshold: float = 0.5, user_features: sp.spmatrix | None = None,
                   user_slices: Mapping[str, NDArray[np.bool_]] | None = None,
                   ) -> tuple[dict[str, float], NDArray[np.float64], NDArray[np.float64]]:
    """``(metrics, ndcg_curve, recommended_freshness)`` of a fitted model on ``prepared``."""
    if user_features is None:
        user_features = prepared.features.for_model(model)[1]
    users, ranked, truth = rank_users(model, prepared.train, truth_of(prepared), max(k, CURVE_K),
                                      user_features=user_features)
    metrics = ranking_metrics(users, ranked, truth, prepared.train, k, freshness=freshness,
                              stale_threshold=stale_threshold, user_slices=user_slices)
    top = ranked[:, :k].ravel()
    rec_fresh = freshness[top[top >= 0]] if freshness is not None else np.zeros(0)
    return metrics, ndcg_curve(users, ranked, truth), rec_fresh


def table_columns(k: int) -> list[str]:
    """The comparison table's columns, in order."""
    return ["model", f"precision@{k}", f"recall@{k}", f"ndcg@{k}", f"map@{k}", f"hit_rate@{k}", f"coverage@{k}",
            f"novelty@{k}", f"stale_share@{k}", f"warm/ndcg@{k}", f"cold_mentee/ndcg@{k}", f"cold_item/recall@{k}",
            "n_users", "cold_mentee/n_users", "fit_seconds", "auto_seconds"]


def run_comparison(names: Sequence[str], train_events: pd.DataFrame, test_events: pd.DataFrame, world: World, *,
                   k: int = 10, params: Mapping[str, Mapping[str, Any]] | None = None,
                   as_of: datetime | str | None = None, stale_threshold: float = 0.5,
                   id_events: Sequence[pd.DataFrame] | None = None, split: str = "temporal",
                   keep_models: bool = False, user_extra: UserExtra | None = None,
                   user_slices: Callable[[IdMap], Mapping[str, NDArray[np.bool_]]] | None = None,
                   on_model: Callable[[str], None] | None = None) -> Comparison:
    """Fit every model in ``names`` on ``train_events``, score on ``test_events``; see :class:`Comparison`.

    ``as_of`` (default: the first test event) is when the lists are shown: it sets the
    item freshness behind ``stale_share``. ``params`` maps a model name to parameter
    overrides on top of :data:`training.defaults.DEFAULT_PARAMS`. ``user_extra`` appends user
    feature columns (see :func:`training.data.prepare`); ``user_slices(users)`` gives boolean
    masks over the user rows, each adding ``<slice>/ndcg@k`` and ``<slice>/n_users`` columns.
    """
    if not names:
        raise ConfigError("no models to compare")
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    prepared = prepare(world, train_events, test_events, id_events=id_events, user_extra=user_extra)
    slices = dict(user_slices(prepared.users)) if user_slices is not None else {}
    if as_of is None:
        as_of = pd.to_datetime(test_events["timestamp"], utc=True).min() if len(test_events) else None
    freshness = None if as_of is None else catalog_freshness(world.catalog, parse_timestamp(str(as_of)))
    results: dict[str, ModelResult] = {}
    for name in names:
        if on_model is not None:
            on_model(name)
        recipe = model_params(name, (params or {}).get(name))
        model, seconds, auto = fit_resolved(name, prepared, recipe, k=k, split=inner_split(split))
        metrics, curve, rec_fresh = score_prepared(model, prepared, k, freshness=freshness,
                                                   stale_threshold=stale_threshold, user_slices=slices)
        results[name] = ModelResult(name=name, params=model.get_params(), metrics=metrics, ndcg_curve=curve,
                                    recommended_freshness=rec_fresh, fit_seconds=seconds,
                                    model=model if keep_models else None, recipe=recipe, auto=auto)
    rows = [{"model": n, **r.metrics, "fit_seconds": r.fit_seconds, "auto_seconds": r.auto_seconds}
            for n, r in results.items()]
    extra_cols = [c for n in slices for c in (f"{n}/ndcg@{k}", f"{n}/n_users")]
    table = pd.DataFrame(rows).reindex(columns=[*table_columns(k), *extra_cols])
    return Comparison(table=table, results=results, k=k, split=split, prepared=prepared)


def inner_split(split: str) -> str:
    """The inner validation rule (:data:`training.splits.SPLITS`) for a comparison's ``split`` label."""
    if split in SPLITS:
        return split
    return "leave-last-out" if split == "leave_last_n" else "temporal"


def detect_split(train_events: pd.DataFrame, test_events: pd.DataFrame) -> str:
    """``temporal`` when every test event is at or after the last training event, else ``user-holdout``."""
    if not len(train_events) or not len(test_events):
        return "temporal"
    last = pd.to_datetime(train_events["timestamp"], utc=True).max()
    return "temporal" if pd.to_datetime(test_events["timestamp"], utc=True).min() >= last else "user-holdout"


def split_events(events: pd.DataFrame, *, split: str = "temporal", cutoff: datetime | str | None = None,
                 test_fraction: float = 0.2, n: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, test)``: one global time cut (default: the last ``test_fraction`` of events), or
    each user's last ``n`` items held out (``split="leave_last_n"``, optimistic: see recommender.split)."""
    if split == "temporal":
        cut = pd.Timestamp(parse_timestamp(cutoff)) if cutoff is not None else time_quantile(events, 1 - test_fraction)
        ts = pd.to_datetime(events["timestamp"], utc=True)
        return events[(ts < cut).to_numpy()], events[(ts >= cut).to_numpy()]
    if split == "leave_last_n":
        return leave_last_n_out(events, n)
    raise ConfigError(f"split must be 'temporal' or 'leave_last_n', got {split!r}")


def compare_models(names: Sequence[str], train_events: pd.DataFrame, test_events: pd.DataFrame | None,
                   world: World, *, k: int = 10, split: str = "temporal", cutoff: datetime | str | None = None,
                   n: int = 1, params: Mapping[str, Mapping[str, Any]] | None = None,
                   as_of: datetime | str | None = None) -> pd.DataFrame:
    """The comparison table (one row per model; columns :func:`table_columns`).

    With ``test_events`` and ``split="temporal"`` the two frames are used as given. Without
    ``test_events``, ``train_events`` holds every event and is split here (temporal at
    ``cutoff``, default the last 20% of events; or ``split="leave_last_n"``). With
    ``split="leave_last_n"`` and both frames, they are pooled and split per user.
    """
    if split == "leave_last_n" or test_events is None:
        pool = train_events if test_events is None else pd.concat([train_events, test_events], ignore_index=True)
        train_events, test_events = split_events(pool, split=split, cutoff=cutoff, n=n)
    elif split != "temporal":
        raise ConfigError(f"split must be 'temporal' or 'leave_last_n', got {split!r}")
    return run_comparison(names, train_events, test_events, world, k=k, params=params, as_of=as_of,
                          split=split).table
