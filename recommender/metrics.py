"""Offline ranking metrics: small pure functions, each checkable by hand.

Per-user metrics take ``ranked`` (item indices, best first; ``-1`` pads short lists)
and ``relevant`` (the held-out items) with binary relevance:

- ``precision@k = hits / k``; ``recall@k = hits / |relevant|``; ``hit_rate@k = [hits > 0]``;
- ``ndcg@k = DCG / IDCG`` with ``DCG = sum 1/log2(rank + 1)`` over hits (rank from 1) and
  IDCG the DCG of ``min(|relevant|, k)`` hits at the top;
- ``map@k = (1 / min(|relevant|, k)) * sum over hits of precision at that hit's rank``.

List-level metrics: ``catalog_coverage`` (share of items recommended to anyone),
``novelty`` (mean self-information ``-log2 p(i)`` of recommended items, ``p(i)`` the share
of training users who interacted with ``i``, smoothed as ``(n_i + 1) / (n_users + 1)``),
``stale_share`` (share of recommended slots whose freshness is below a threshold).

:func:`evaluate_model` runs a model over held-out interactions and reports all of them,
overall and per slice (warm users with training history, cold users without).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from catalog.errors import ConfigError
from recommender.interactions import Interactions
from recommender.topk import topk

if TYPE_CHECKING:
    from recommender.models.base import Recommender

__all__ = [
    "precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k", "hit_rate_at_k",
    "catalog_coverage", "novelty", "stale_share", "item_self_information", "truth_matrix",
    "evaluate_model",
]


def _hits(ranked: ArrayLike, relevant: Iterable[int], k: int) -> tuple[NDArray[np.bool_], int]:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    top = np.asarray(ranked, dtype=np.int64)[:k]
    rel = np.fromiter(set(int(i) for i in relevant), dtype=np.int64)
    return np.isin(top, rel) & (top >= 0), len(rel)


def precision_at_k(ranked: ArrayLike, relevant: Iterable[int], k: int) -> float:
    hits, _ = _hits(ranked, relevant, k)
    return float(hits.sum()) / k


def recall_at_k(ranked: ArrayLike, relevant: Iterable[int], k: int) -> float:
    hits, n_rel = _hits(ranked, relevant, k)
    return float(hits.sum()) / n_rel if n_rel else 0.0


def hit_rate_at_k(ranked: ArrayLike, relevant: Iterable[int], k: int) -> float:
    hits, _ = _hits(ranked, relevant, k)
    return float(hits.any())


def ndcg_at_k(ranked: ArrayLike, relevant: Iterable[int], k: int) -> float:
    hits, n_rel = _hits(ranked, relevant, k)
    if not n_rel:
        return 0.0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(discounts[: len(hits)][hits].sum())
    idcg = float(discounts[: min(n_rel, k)].sum())
    return dcg / idcg


def map_at_k(ranked: ArrayLike, relevant: Iterable[int], k: int) -> float:
    hits, n_rel = _hits(ranked, relevant, k)
    if not n_rel:
        return 0.0
    precisions = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precisions[hits].sum()) / min(n_rel, k)


def _flat(recommended: Sequence[ArrayLike] | NDArray[np.int64]) -> NDArray[np.int64]:
    parts = [np.asarray(r, dtype=np.int64).ravel() for r in recommended]
    flat = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return flat[flat >= 0]


def catalog_coverage(recommended: Sequence[ArrayLike] | NDArray[np.int64], n_items: int) -> float:
    """Share of the ``n_items`` catalog that appears in at least one list."""
    if n_items <= 0:
        return 0.0
    return len(np.unique(_flat(recommended))) / n_items


def item_self_information(interaction_counts: ArrayLike, n_users: int) -> NDArray[np.float64]:
    """``-log2((n_i + 1) / (n_users + 1))`` per item: rare items carry more bits."""
    counts = np.asarray(interaction_counts, dtype=np.float64)
    return -np.log2((counts + 1.0) / (n_users + 1.0))


def novelty(recommended: Sequence[ArrayLike] | NDArray[np.int64], self_information: ArrayLike) -> float:
    """Mean self-information of every recommended slot (see :func:`item_self_information`)."""
    flat = _flat(recommended)
    if not flat.size:
        return 0.0
    return float(np.asarray(self_information, dtype=np.float64)[flat].mean())


def stale_share(recommended: Sequence[ArrayLike] | NDArray[np.int64], freshness: ArrayLike,
                threshold: float = 0.5) -> float:
    """Share of recommended slots whose item freshness is strictly below ``threshold``."""
    flat = _flat(recommended)
    if not flat.size:
        return 0.0
    return float((np.asarray(freshness, dtype=np.float64)[flat] < threshold).mean())


_PER_USER = {
    "precision": precision_at_k, "recall": recall_at_k, "ndcg": ndcg_at_k, "map": map_at_k,
    "hit_rate": hit_rate_at_k,
}


def truth_matrix(test_pairs: Interactions | sp.spmatrix | pd.DataFrame, train: Interactions) -> sp.csr_matrix:
    """Held-out positives as a bool CSR aligned with ``train`` (DataFrame pairs with unknown ids are dropped)."""
    shape = train.shape
    if isinstance(test_pairs, Interactions):
        m = test_pairs.matrix
    elif sp.issparse(test_pairs):
        m = sp.csr_matrix(test_pairs)
    elif isinstance(test_pairs, pd.DataFrame):
        u = train.users.indices(test_pairs["user_id"].astype(str).tolist(), missing="-1")
        i = train.items.indices(test_pairs["item_id"].astype(str).tolist(), missing="-1")
        ok = (u >= 0) & (i >= 0)
        m = sp.csr_matrix((np.ones(int(ok.sum()), np.float32), (u[ok], i[ok])), shape=shape)
    else:
        raise ConfigError("test_pairs must be Interactions, a sparse matrix or a (user_id, item_id) DataFrame")
    if m.shape != shape:
        raise ConfigError(f"test matrix shape {m.shape} differs from the training shape {shape}")
    m = sp.csr_matrix(m > 0)
    m.eliminate_zeros()
    return m


def evaluate_model(model: "Recommender", train: Interactions, test_pairs: Interactions | sp.spmatrix | pd.DataFrame,
                   k: int = 10, *, exclude_seen: bool = True,
                   slices: Mapping[str, ArrayLike] | None = None, user_features: sp.spmatrix | None = None,
                   freshness: ArrayLike | None = None, stale_threshold: float = 0.5,
                   batch_size: int = 256) -> dict[str, float]:
    """Recommend ``k`` items to every user with held-out positives and score the lists.

    Users are scored from their training rows (``model.score``); dismissed items are
    always excluded, training-seen items too when ``exclude_seen`` (and then they are
    also removed from the truth: they could not be recommended). ``slices`` maps a name
    to user indices; by default ``warm`` (non-empty training row) and ``cold`` (empty).

    Returns a flat dict of floats, MLflow-ready: ``ndcg_at_10`` ..., ``coverage_at_10``,
    ``novelty_at_10``, ``stale_share_at_10`` (with ``freshness``), ``n_users``, and
    ``<slice>/<metric>`` for each slice.
    """
    truth = truth_matrix(test_pairs, train)
    if exclude_seen:
        truth = sp.csr_matrix(truth > sp.csr_matrix(train.seen, dtype=bool))
    n_users, n_items = train.shape
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    banned_all = sp.csr_matrix(train.dismissed, dtype=bool)
    if exclude_seen:
        banned_all = banned_all + sp.csr_matrix(train.seen, dtype=bool)
    ranked = np.full((len(users), k), -1, dtype=np.int64)
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        feats = None if user_features is None else sp.csr_matrix(user_features)[batch]
        scores = model.score(batch, train.matrix[batch], user_features=feats)[:, :n_items]
        ranked[start:start + len(batch)] = topk(scores, k, exclude=banned_all[batch])[0]
    per_user = {name: np.array([fn(ranked[r], truth[u].indices, k) for r, u in enumerate(users)])
                for name, fn in _PER_USER.items()}
    out: dict[str, float] = {"n_users": float(len(users))}
    out.update({f"{name}_at_{k}": float(v.mean()) if len(v) else 0.0 for name, v in per_user.items()})
    out[f"coverage_at_{k}"] = catalog_coverage(ranked, n_items)
    counts = np.asarray((train.matrix > 0).sum(axis=0)).ravel()
    out[f"novelty_at_{k}"] = novelty(ranked, item_self_information(counts, n_users))
    if freshness is not None:
        out[f"stale_share_at_{k}"] = stale_share(ranked, freshness, stale_threshold)
    if slices is None:
        has_history = np.diff(sp.csr_matrix(train.matrix).indptr) > 0
        slices = {"warm": np.flatnonzero(has_history), "cold": np.flatnonzero(~has_history)}
    for sname, members in slices.items():
        m = np.asarray(members)
        member_idx = np.flatnonzero(m) if m.dtype == bool else m.astype(np.int64)
        mask = np.isin(users, member_idx)
        out[f"{sname}/n_users"] = float(mask.sum())
        for name, v in per_user.items():
            out[f"{sname}/{name}_at_{k}"] = float(v[mask].mean()) if mask.any() else 0.0
    return out
