"""Fit a trained model to the catalog as it is now: new items placed by content, removed ones skipped.

The catalog changes between trainings (resources added over the API or to
``resources.csv``, retired ones kept but inactive). :func:`align_model` returns a model
whose items are exactly the catalog's, in its order, without retraining:

- items the model knows keep their trained state;
- new items are *cold*: a model with skill features (the content model) scores them from
  their skill levels; factor models (ALS, BPR, LightFM) place them at the similarity-
  weighted mean of the trained items that share their skills, level and type
  (:func:`content_placement`), so a cold Python book lands among Python books;
  the other models score them neutrally (zero, plus the recency prior of an unused item);
- items the model knows but the catalog no longer lists are dropped (factor models), so
  nothing is ever answered that the catalog does not hold.

The model passed in is never modified.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import IntegrityError
from catalog.ids import IdMap
from recommender.models.base import Recommender
from recommender.models.factor import FactorRecommender

__all__ = ["align_model", "content_placement", "item_content", "align_vector"]

F32 = NDArray[np.float32]


def item_content(catalog: Catalog) -> sp.csr_matrix:
    """Row-normalised content rows per item: skill levels, plus one-hot type and difficulty."""
    n = catalog.n_items
    types = sorted(set(catalog.types.tolist()))
    t_idx = np.array([types.index(t) for t in catalog.types.tolist()], dtype=np.int64)
    extra = sp.csr_matrix((np.full(n, 0.5, np.float32), (np.arange(n), t_idx)), shape=(n, len(types)))
    diff = sp.csr_matrix((np.full(n, 0.5, np.float32), (np.arange(n), np.clip(catalog.difficulty, 1, 5) - 1)),
                         shape=(n, 5))
    m = sp.hstack([catalog.item_skill_levels.astype(np.float32), extra, diff], format="csr")
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0)) @ m, dtype=np.float32)


def content_placement(known_rows: F32, known: NDArray[np.int64], cold: NDArray[np.int64], content: sp.csr_matrix,
                      *, neighbours: int = 20) -> F32:
    """Rows for ``cold`` items: the similarity-weighted mean of the ``neighbours`` most similar known items'
    rows (``known_rows[j]`` belongs to item ``known[j]``); zeros for an item sharing nothing.

    Cold items with identical content rows (same skills, levels, type and difficulty: common in a batch)
    get identical placements, so each distinct row is placed once: the neighbour search over every known
    item is what a batch of new resources spends its time on.
    """
    out = np.zeros((len(cold), known_rows.shape[1]), np.float32)
    if not len(cold) or not len(known):
        return out
    rows = sp.csr_matrix(content[cold])
    rows.sort_indices()
    distinct: dict[tuple[bytes, bytes], int] = {}
    inverse = np.fromiter((distinct.setdefault((rows.indices[a:b].tobytes(), rows.data[a:b].tobytes()), len(distinct))
                           for a, b in zip(rows.indptr[:-1].tolist(), rows.indptr[1:].tolist())),
                          dtype=np.int64, count=len(cold))
    firsts = np.full(len(distinct), -1, np.int64)
    firsts[inverse[::-1]] = np.arange(len(cold))[::-1]  # the first cold item of each distinct row
    sims = (rows[firsts] @ content[known].T).toarray()
    k = min(neighbours, len(known))
    top = _top_k(sims, k)
    w = np.clip(np.take_along_axis(sims, top, axis=1), 0, None)
    total = w.sum(axis=1)
    placed = np.einsum("rk,rkd->rd", w, known_rows[top], dtype=np.float64)
    ok = total > 0
    uniq = np.zeros((len(firsts), known_rows.shape[1]), np.float32)
    uniq[ok] = placed[ok] / total[ok, None]
    out[:] = uniq[inverse]
    return out


def _top_k(sims: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    """Per row, the columns of the ``k`` largest values (in no order; among equal values any).

    Exact, without partitioning every row in full: the ``k``-th largest of an evenly spaced sample of
    columns is a threshold at least ``k`` columns of the row reach (the sample's top ``k`` are among them),
    so the row's top ``k`` are among the columns at or above it, usually a few per cent of the row.
    """
    n_rows, n = sims.shape
    top = np.empty((n_rows, k), np.int64)
    step = n // (16 * k)
    if step < 2:  # a small catalog: partition each row in full
        for r in range(n_rows):
            top[r] = np.argpartition(-sims[r], k - 1)[:k]
        return top
    sample = sims[:, ::step]
    theta = -np.partition(-sample, k - 1, axis=1)[:, k - 1]
    for r in range(n_rows):
        cand = np.flatnonzero(sims[r] >= theta[r])
        top[r] = cand[np.argpartition(-sims[r, cand], k - 1)[:k]]
    return top


def align_vector(values: NDArray[Any], old: IdMap, new: IdMap, fill: float) -> NDArray[Any]:
    """``values`` (one per ``old`` item) re-indexed to ``new`` items; ``fill`` for items ``old`` lacks."""
    idx = old.indices(new.to_list(), missing="-1")
    out = np.full(len(new), fill, dtype=values.dtype)
    out[idx >= 0] = values[idx[idx >= 0]]
    return out


def align_model(model: Recommender, catalog: Catalog) -> Recommender:
    """``model`` over exactly ``catalog``'s items (see the module docstring); ``model`` itself if it already is."""
    items: IdMap | None = getattr(model, "id_maps_", {}).get("items")
    if items is None:
        raise IntegrityError(f"{model.name}: no item id map; cannot align it with the catalog")
    old, new = items.to_list(), catalog.items.to_list()
    if old == new:
        return model
    if new[: len(old)] == old:  # the catalog grew: append the cold items
        out = copy.copy(model)
        n_new = len(new) - len(old)
        if model.feature_kind == "skills":
            out.add_items(catalog.item_skill_levels[len(old):])
        else:
            out.add_items(n=n_new)
            if isinstance(out, FactorRecommender):
                _place_factors(out, np.arange(len(old)), np.arange(len(old), len(new)), catalog)
    elif isinstance(model, FactorRecommender):  # reordered or shrunk: rebuild the item arrays by id
        out = _reindexed(model, items, catalog)
    else:
        raise IntegrityError(f"{model.name}: its items are not a prefix of the catalog's; retrain on this catalog")
    out.id_maps_ = {**getattr(model, "id_maps_", {}), "items": catalog.items}
    return out


def _place_factors(m: FactorRecommender, known: NDArray[np.int64], cold: NDArray[np.int64], catalog: Catalog) -> None:
    V = m.item_factors_.copy()
    V[cold] = content_placement(V[known], known, cold, item_content(catalog))
    m.item_factors_ = np.ascontiguousarray(V, dtype=np.float32)
    m._gram = None


def _reindexed(model: FactorRecommender, items: IdMap, catalog: Catalog) -> FactorRecommender:
    idx = items.indices(catalog.items.to_list(), missing="-1")
    known, cold = np.flatnonzero(idx >= 0), np.flatnonzero(idx < 0)
    out = copy.copy(model)
    d = model.item_factors_.shape[1]
    V = np.zeros((catalog.n_items, d), np.float32)
    V[known] = model.item_factors_[idx[known]]
    V[cold] = content_placement(V[known], known, cold, item_content(catalog))
    out.item_factors_ = np.ascontiguousarray(V)
    for attr in ("item_bias_", "item_prior_"):
        a = getattr(model, attr, None)
        if a is not None:
            b = np.full(catalog.n_items, float(a.mean()) if len(a) else 0.0, np.float32)
            b[known] = a[idx[known]]
            setattr(out, attr, np.ascontiguousarray(b))
    out.n_items_ = catalog.n_items
    out._gram = None
    return out
