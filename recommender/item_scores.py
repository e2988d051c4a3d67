"""Score vectors over a catalog's items for one mentee: from a trained model, or the cold-start popularity.

The planner (:func:`recommender.paths.plan_path`) takes any score vector aligned with
``catalog.items``. :func:`model_scores` produces one from a loaded model for a mentee's
context (a model whose item id map differs from today's catalog scores the items it never
saw just below its lowest score, so they stay plannable but rank last).
:func:`popularity_scores` is the one cold-start ranking the service and the CLI share: the
``popularity`` model's own rule, decayed with the served model's recency half-life
(:func:`cold_half_life`), so a mentee with no history and no goals gets the ranking that
model was evaluated with.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import IntegrityError
from catalog.ids import IdMap
from recommender.context import MenteeContext
from recommender.interactions import build_interactions, user_id_map
from recommender.models import PopularityRecommender, Recommender

__all__ = ["popularity_scores", "cold_half_life", "model_scores", "align_to_catalog"]


def popularity_scores(events: pd.DataFrame, catalog: Catalog, *, now: datetime | None = None,
                      half_life_days: float | None = None) -> NDArray[np.float64]:
    """Mentees who engaged positively with each catalog item, up to ``now``, scaled to a maximum of 1.

    The ``popularity`` model with ``binary=True`` over the same confidence matrix the other
    models train on: each (mentee, item) counts once, weighted ``0.5 ** (age / half_life_days)``
    by the age of its latest positive event at ``now`` (all-time counts when None); a later
    dismissal removes it; events on items outside the catalog are ignored. All zeros
    without events.
    """
    if events is None or len(events) == 0:
        return np.zeros(catalog.n_items)
    users = user_id_map(events)
    inter = build_interactions(events, users=users, items=catalog.items, now=now, on_unknown="drop")
    model = PopularityRecommender(binary=True, half_life_days=half_life_days).fit(inter)
    return model.score([-1], None)[0].astype(np.float64)


def cold_half_life(model: object) -> float | None:
    """The recency half-life (days) a model ranks cold mentees with: its prior's, or popularity's own.

    None (all-time counts) when the model has no recency setting or its prior is off.
    """
    if getattr(model, "recency_weight", 0) and getattr(model, "recency_half_life_days", None):
        return float(model.recency_half_life_days)  # type: ignore[attr-defined]
    h = getattr(model, "half_life_days", None)
    return float(h) if isinstance(h, (int, float)) and h > 0 else None


def align_to_catalog(scores: NDArray[np.floating], model_items: IdMap | None, catalog: Catalog
                     ) -> NDArray[np.float64]:
    """Scores in the model's item order -> scores over ``catalog.items``.

    Catalog items the model does not know get just below its lowest finite score.
    Without an item map the model must have exactly the catalog's items, in order.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    if model_items is None:
        if len(s) != catalog.n_items:
            raise IntegrityError(f"the model scores {len(s)} items and has no item map; the catalog has "
                                 f"{catalog.n_items}: retrain on this catalog")
        return s.copy()
    if len(model_items) != len(s):
        raise IntegrityError(f"the model's item map has {len(model_items)} ids but it scores {len(s)} items")
    finite = s[np.isfinite(s)]
    low = (float(finite.min()) - 1.0) if len(finite) else 0.0
    out = np.full(catalog.n_items, low)
    idx = catalog.items.indices(model_items.to_list(), missing="-1")
    ok = idx >= 0
    out[idx[ok]] = s[ok]
    return out


def model_scores(model: Recommender, ctx: MenteeContext) -> NDArray[np.float64]:
    """A trained model's scores over ``ctx.catalog.items`` for the mentee of ``ctx``.

    A mentee the model was trained on uses their learned state (with their history row,
    which EASE-like models score from); anyone else is folded in from the context's
    history row. The model's saved id maps (``users``, ``items``) align it with the catalog.
    """
    catalog = ctx.catalog
    maps = getattr(model, "id_maps_", {}) or {}
    items: IdMap | None = maps.get("items")
    users: IdMap | None = maps.get("users")
    if items is None and model.n_items_ != catalog.n_items:
        raise IntegrityError(f"the model knows {model.n_items_} items and has no item map; the catalog has "
                             f"{catalog.n_items}: retrain on this catalog")
    row = ctx.history if ctx.history.nnz else None
    if row is not None and items is not None and items.to_list() != catalog.items.to_list():
        cols = items.indices(catalog.items.to_ids(row.indices), missing="-1")
        keep = cols >= 0
        row = sp.csr_matrix((row.data[keep], (np.zeros(int(keep.sum()), np.int64), cols[keep])),
                            shape=(1, len(items)), dtype=np.float32)
    u = users.get(ctx.user_id) if users is not None else -1
    if u >= model.n_users_:
        u = -1
    raw = model.score([u], row)[0]
    return align_to_catalog(raw, items, catalog)
