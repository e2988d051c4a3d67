"""The hybrid default offline: its lists for held-out mentees, their metrics, and the weight tuner.

:func:`eval_case` builds what a split is scored on (the prepared TRAIN side, the held-out
truth without TRAIN-seen items, the serving time) and is the one builder for the validation
split and for TEST, so both get the same goals (the world's mentees), the same history (their
TRAIN-side events up to ``now``) and the same filters. :func:`hybrid_inputs_for` computes each
mentee's blend parts once (mastery and plan from those events as of ``now``, the collaborative
model's scores of their history, seen and dismissed items excluded as in
:func:`training.evaluate.rank_users`), so any number of weight settings rank from them cheaply
(:func:`rank_hybrid`).

:func:`tune_weights` picks the weights on a validation window cut from the TRAINING events
(never the test window), against the validation champion's own NDCG@k (the family the blend
rides on, :func:`champion_on_validation`). Every term must earn its place against the same
setting without it (ties go to the simpler setting): ``goal``, ``gap``, ``explore`` and
``diversity`` only if validation NDCG beats their absence beyond noise (paired bootstrap over
validation users) or the coverage floor is met where their absence misses it; ``plan``, whose
value (learning on the simulator) NDCG cannot see, only if it changes the validation lists at
all. Among the admissible settings within ``tolerance`` of the champion: those meeting the
coverage floor if any do (a stated product floor, not a tie-break); among them the most
learning weight (``plan + goal + gap``), ties by NDCG, then by fewer terms. If nothing is
within the budget, the best NDCG. Coverage depends on how many lists are pooled, so tune on as
many validation mentees as the test reports.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
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
from training.autoprior import paired_bootstrap
from training.data import Prepared, prepare
from training.evaluate import truth_of

__all__ = ["WEIGHT_GRID", "COVERAGE_FLOOR", "MUST_BEAT", "EvalCase", "eval_case", "drop_seen", "TunedWeights",
           "champion_on_validation", "hybrid_inputs_for", "rank_hybrid", "ndcg_per_user", "tune_weights"]

WEIGHT_GRID: dict[str, list[float]] = {
    "plan": [0.0, 0.3, 1.0],
    "goal": [0.0, 0.3, 1.0],
    "gap": [0.0, 0.2],
    "explore": [0.0, 0.01, 0.03],
    "diversity": [0.0, 0.1],
}
COVERAGE_FLOOR = 0.20  # the product requirement on coverage@10 (issue #17), a floor on the validation lists
# terms whose claim validation NDCG can judge: kept only if they beat their absence beyond noise
MUST_BEAT: tuple[str, ...] = ("goal", "gap", "explore", "diversity")


@dataclass(frozen=True)
class EvalCase:
    """What one split is scored on: TRAIN prepared, the held-out truth (TRAIN-seen items removed)
    and ``now``, the time the lists are served at (the cut for a temporal split)."""

    prepared: Prepared
    truth: sp.csr_matrix
    now: datetime


def drop_seen(truth: sp.csr_matrix, prepared: Prepared) -> sp.csr_matrix:
    """``truth`` without the items its users saw in TRAIN (what :func:`training.evaluate.rank_users` scores)."""
    t = sp.csr_matrix(truth, dtype=bool)
    return sp.csr_matrix(t > sp.csr_matrix(prepared.train.seen, dtype=bool))


def eval_case(world: World, train_events: pd.DataFrame, held_out: pd.DataFrame, *, now: datetime,
              id_events: Iterable[pd.DataFrame]) -> EvalCase:
    """The one builder of a split's case, for the validation split and for TEST alike (``id_events``:
    every event of that split's universe, so its mentees and items get rows)."""
    prepared = prepare(world, train_events, held_out, id_events=list(id_events))
    return EvalCase(prepared, drop_seen(truth_of(prepared), prepared), now)


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
    """The chosen weights, the budget's reference and every setting's validation NDCG@k and coverage@k.

    ``floor_met`` says whether any setting within the NDCG budget met the coverage floor;
    ``dropped`` maps each inadmissible setting to the first term that did not earn its place
    (and why), so a recorded run says why a weight is gone.
    """

    chosen: HybridWeights
    cf_ndcg: float
    trials: list[tuple[HybridWeights, float, float]]
    floor_met: bool = False
    coverage_floor: float = COVERAGE_FLOOR
    dropped: dict[HybridWeights, str] = field(default_factory=dict)


def _n_terms(w: HybridWeights) -> int:
    return sum(getattr(w, t) > 0 for t in ("plan", *MUST_BEAT))


def tune_weights(world: World, inputs: Sequence[HybridInputs], truth: sp.csr_matrix, users: NDArray[np.int64],
                 *, cf_ndcg: float, k: int = 10, tolerance: float = 0.02, coverage_floor: float = COVERAGE_FLOOR,
                 grid: dict[str, list[float]] | None = None, seed: int = 0) -> TunedWeights:
    """Pick the weights (the rule in the module docstring and docs/hybrid.md) from ``inputs`` of
    validation users against ``truth``; ``cf_ndcg`` is the validation champion's own NDCG@k."""
    g = grid or WEIGHT_GRID
    trials: list[tuple[HybridWeights, float, float]] = []
    per_user: dict[HybridWeights, NDArray[np.float64]] = {}
    lists: dict[HybridWeights, NDArray[np.int64]] = {}
    for plan, goal, gap, explore, div in itertools.product(g["plan"], g["goal"], g["gap"], g.get("explore", [0.0]),
                                                           g["diversity"]):
        w = HybridWeights(cf=1.0, plan=plan, goal=goal, gap=gap, explore=explore, diversity=div)
        lists[w] = rank_hybrid(world, inputs, w, k)
        per_user[w] = ndcg_per_user(lists[w], truth, users, k)
        trials.append((w, float(per_user[w].mean()), catalog_coverage(lists[w], world.catalog.n_items)))
    cov = {t[0]: t[2] for t in trials}
    budget = (1 - tolerance) * cf_ndcg

    def why_not(w: HybridWeights) -> str | None:
        """None if every term of ``w`` earns its place against the same setting without it."""
        for term in ("plan", *MUST_BEAT):
            if getattr(w, term) == 0:
                continue
            base = replace(w, **{term: 0.0})
            if base not in per_user:
                return f"{term}: no setting without it in the grid to compare with"
            if term == "plan":
                if np.array_equal(lists[w], lists[base]):
                    return "plan: the validation lists are the same without it (a tie: the simpler setting)"
                continue
            if cov[w] >= coverage_floor > cov[base]:
                continue  # it meets the stated floor where its absence does not
            if not paired_bootstrap(per_user[w], per_user[base], seed=seed)[1] > 0:
                return f"{term}: validation NDCG does not beat the setting without it beyond noise"
        return None

    dropped = {t[0]: r for t in trials if (r := why_not(t[0])) is not None}
    kept = [t for t in trials if t[0] not in dropped] or trials
    ok = [t for t in kept if t[1] >= budget]
    if not ok:
        return TunedWeights(max(kept, key=lambda t: t[1])[0], cf_ndcg, trials, False, coverage_floor, dropped)
    floor = [t for t in ok if t[2] >= coverage_floor]
    best = max(floor or ok, key=lambda t: (t[0].plan + t[0].goal + t[0].gap, t[1], -_n_terms(t[0])))
    return TunedWeights(best[0], cf_ndcg, trials, bool(floor), coverage_floor, dropped)


def champion_on_validation(scores: dict[str, NDArray[np.float64]]) -> str:
    """The family with the best mean validation NDCG (per-user arrays by name); ties: the first given."""
    if not scores:
        raise ConfigError("no model to choose a champion from")
    return max(scores, key=lambda name: (float(np.mean(scores[name])), -list(scores).index(name)))
