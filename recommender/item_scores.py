"""Score vectors over a catalog's items for one mentee, from a trained model or from popularity.

The planner (:func:`recommender.paths.plan_path`) takes any score vector aligned with
``catalog.items``; these helpers produce one from a loaded model (whose item id map may
differ from today's catalog: items the model never saw score just below its lowest
score, so they stay plannable but rank last) or, without a model, from how many
mentees engaged with each item (the cold-start baseline).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import IntegrityError
from catalog.ids import IdMap
from recommender.interactions import build_interactions, user_id_map
from recommender.models import PopularityRecommender, Recommender

__all__ = ["popularity_scores", "model_scores", "align_to_catalog"]


def popularity_scores(events: pd.DataFrame, catalog: Catalog, *, now: datetime | None = None
                      ) -> NDArray[np.float64]:
    """Share of mentees (max 1) who engaged positively with each catalog item, up to ``now``.

    The ``popularity`` model with ``binary=True`` over the same confidence matrix the other
    models train on; events on items outside the catalog are ignored. All zeros without events.
    """
    if events is None or len(events) == 0:
        return np.zeros(catalog.n_items)
    users = user_id_map(events)
    inter = build_interactions(events, users=users, items=catalog.items, now=now, on_unknown="drop")
    model = PopularityRecommender(binary=True).fit(inter)
    return model.score([-1], None)[0].astype(np.float64)


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


def model_scores(model: Recommender, catalog: Catalog, events: pd.DataFrame, *, user_id: str,
                 now: datetime | None = None) -> NDArray[np.float64]:
    """A trained model's scores over ``catalog.items`` for ``user_id``.

    A mentee the model was trained on uses their learned state (with their history row,
    which EASE-like models score from); anyone else is folded in from their events up to
    ``now``. The model's saved id maps (``users``, ``items``) align it with the catalog.
    """
    maps = getattr(model, "id_maps_", {}) or {}
    items: IdMap | None = maps.get("items")
    users: IdMap | None = maps.get("users")
    if items is None and model.n_items_ != catalog.n_items:
        raise IntegrityError(f"the model knows {model.n_items_} items and has no item map; the catalog has "
                             f"{catalog.n_items}: retrain on this catalog")
    item_map = items if items is not None else catalog.items
    mine = events[events["user_id"] == user_id] if len(events) else events
    if len(mine):
        row = build_interactions(mine, users=IdMap([user_id]), items=item_map, now=now,
                                 on_unknown="drop").matrix
    else:
        row = None
    u = users.get(user_id) if users is not None else -1
    if u >= model.n_users_:
        u = -1
    raw = model.score([u], row)[0]
    return align_to_catalog(raw, items, catalog)
