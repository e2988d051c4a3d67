"""The hybrid default offline: its lists for held-out mentees, their metrics, and the weight tuner.

:func:`hybrid_inputs_for` computes each mentee's blend parts once (mastery and plan from the
training events as of the cut, the collaborative model's scores of their training history,
seen and dismissed items excluded as in :func:`training.evaluate.rank_users`), so any number
of weight settings rank from them cheaply (:func:`rank_hybrid`).

:func:`tune_weights` picks the weights on a validation window cut from the TRAINING events
(never the test window): the setting with the most learning weight (``plan + goal + gap``)
whose validation NDCG@k is within ``tolerance`` of the collaborative model's own, ties
broken by coverage then NDCG; if none is, the best NDCG. Exploration (``explore``) and
diversity carry no learning weight: they are kept only where they raise coverage within the
same NDCG budget. Coverage depends on how many lists are pooled, so tune on as many
validation mentees as the test reports.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import World
from catalog.errors import ConfigError
from catalog.freshness import catalog_freshness
from catalog.schema import Mentee
from recommender.hybrid import HybridInputs, HybridWeights, hybrid_inputs, mmr_select
from recommender.mastery import MasteryModel
from recommender.metrics import catalog_coverage, ndcg_at_k
from recommender.models import Recommender
from training.data import Prepared

__all__ = ["WEIGHT_GRID", "TunedWeights", "hybrid_inputs_for", "rank_hybrid", "ndcg_per_user", "tune_weights"]

WEIGHT_GRID: dict[str, list[float]] = {
    "plan": [0.0, 0.3, 1.0],
    "goal": [0.0, 0.3, 1.0],
    "gap": [0.0, 0.2],
    "explore": [0.0, 0.01, 0.03],
    "diversity": [0.0, 0.1],
}


def hybrid_inputs_for(model: Recommender, prepared: Prepared, world: World, users: Iterable[int], *,
                      now: datetime, mastery_model: MasteryModel | None = None) -> list[HybridInputs]:
    """Blend parts for each user row of ``prepared`` (training events up to ``now``)."""
    cat = world.catalog
    if prepared.items.to_list() != cat.items.to_list():
        raise ConfigError("the prepared item ids must be the catalog's, in order")
    mm = mastery_model or MasteryModel()
    train = prepared.train
    banned = sp.csr_matrix(sp.csr_matrix(train.seen, dtype=bool) + sp.csr_matrix(train.dismissed, dtype=bool))
    ev = prepared.train_events
    by_user = {str(u): g for u, g in ev.groupby("user_id", sort=False)} if ev is not None else {}
    empty = (ev if ev is not None else pd.DataFrame()).head(0)
    fresh = catalog_freshness(cat, now)
    feats = prepared.features.for_model(model)[1]
    out = []
    for u in users:
        uid = prepared.users.ids[int(u)]
        mentee = world.mentees.get(uid) or Mentee(uid)
        events = by_user.get(uid, empty)
        state = mm.update(mm.initial_state(cat, user_id=uid, self_levels=mentee.self_levels), events, cat, now=now)
        row = train.matrix[[int(u)]]
        cf = np.asarray(model.score([int(u)], row, user_features=None if feats is None else feats[[int(u)]])[0],
                        dtype=np.float64)
        allowed = np.ones(cat.n_items, dtype=bool)
        allowed[banned[int(u)].indices] = False
        out.append(hybrid_inputs(catalog=cat, mentee=mentee, events=events, now=now, state=state, cf_scores=cf,
                                 allowed=allowed, freshness=fresh, mastery_model=mm))
    return out


def rank_hybrid(world: World, inputs: Sequence[HybridInputs], weights: HybridWeights, k: int) -> NDArray[np.int64]:
    """``len(inputs) x k`` item indices (-1 padded) by the blend under ``weights``."""
    ranked = np.full((len(inputs), k), -1, dtype=np.int64)
    for r, x in enumerate(inputs):
        items = mmr_select(world.catalog, x.parts, x.candidates, k, weights).items
        ranked[r, :len(items)] = items
    return ranked


def ndcg_per_user(ranked: NDArray[np.int64], truth: sp.csr_matrix, users: NDArray[np.int64], k: int
                  ) -> NDArray[np.float64]:
    return np.array([ndcg_at_k(ranked[r], truth[u].indices, k) for r, u in enumerate(users)])


@dataclass(frozen=True)
class TunedWeights:
    """The chosen weights and every setting's validation NDCG@k and coverage@k."""

    chosen: HybridWeights
    cf_ndcg: float
    trials: list[tuple[HybridWeights, float, float]]


def tune_weights(world: World, inputs: Sequence[HybridInputs], truth: sp.csr_matrix, users: NDArray[np.int64],
                 *, cf_ndcg: float, k: int = 10, tolerance: float = 0.02,
                 grid: dict[str, list[float]] | None = None) -> TunedWeights:
    """Pick the weights (module docstring) from ``inputs`` of validation users against ``truth``."""
    g = grid or WEIGHT_GRID
    trials: list[tuple[HybridWeights, float, float]] = []
    for plan, goal, gap, explore, div in itertools.product(g["plan"], g["goal"], g["gap"], g.get("explore", [0.0]),
                                                           g["diversity"]):
        w = HybridWeights(cf=1.0, plan=plan, goal=goal, gap=gap, explore=explore, diversity=div)
        ranked = rank_hybrid(world, inputs, w, k)
        trials.append((w, float(ndcg_per_user(ranked, truth, users, k).mean()),
                       catalog_coverage(ranked, world.catalog.n_items)))
    ok = [t for t in trials if t[1] >= (1 - tolerance) * cf_ndcg]
    if ok:
        best = max(ok, key=lambda t: (t[0].plan + t[0].goal + t[0].gap, t[2], t[1]))
    else:
        best = max(trials, key=lambda t: t[1])
    return TunedWeights(best[0], cf_ndcg, trials)
