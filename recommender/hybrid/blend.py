"""The hybrid blend: learning value and predicted engagement in one list, diversified over skills.

Per candidate item ``i`` five parts, each in [0, 1]:

- ``cf``: the collaborative model's score as a percentile among the candidates (scale-free,
  so any model, or the cold start, blends alike);
- ``goal``: 1 if ``i`` teaches one of the mentee's goal skills above the level held,
  ``PREREQ_GOAL`` if it teaches an unmet prerequisite of a goal (transitively), ``HELD_GOAL``
  if it teaches a goal skill believed held already (mastery estimates run ahead of the truth,
  so goal material keeps its place until assessments back it; the planner falls back to goal
  items the same way), else 0;
- ``gap``: the mastery gap it fills: ``2 ** -|L - (c + 1)|`` for a needed skill taught at
  level ``L > c`` (``c`` the level held), 1 for the next level up, 0 for material already held;
- ``plan``: ``1 / (1 + position)`` for the ``plan_items`` given; :mod:`~recommender.hybrid.next_up`
  gives only the planner's next step (served by the most engaging resource at its skill and
  level), so the plan decides the first slot and the model the rest (later planned steps cost
  validation NDCG and taught no more on the simulator);
- ``explore``: calibrated exploration, a uniform draw in [0, 1) fixed per (mentee, item) (seeded by
  the mentee's id, so a mentee's list is stable between requests while two mentees with the same
  history see different near-ties), drawn where the CF part is computed; its weight is tuned on
  validation so coverage rises only while NDCG stays within tolerance;
- readiness is a hard rule, not a weight: an item whose main skill (its first tag) has a
  prerequisite the mentee does not hold at the level the graph asks is never a candidate
  (a planner step counts as ready when the skill it was planned for is, the planner's own rule).

``relevance = w_cf cf + w_goal goal + w_gap gap + w_plan plan + w_explore explore``; the list is then chosen by
maximal marginal relevance over skills: each next item maximises
``relevance - diversity * overlap``, where ``overlap`` is the largest Jaccard overlap of its
skills with an item already chosen. Each item keeps the part that contributed most as
``chosen_by`` (the reasons say so), or ``diversity`` when MMR moved it above an item of
higher relevance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import zlib

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import ConfigError
from catalog.schema import Goal

__all__ = ["PARTS", "LEARNING_PARTS", "PREREQ_GOAL", "HELD_GOAL", "HybridWeights", "DEFAULT_WEIGHTS", "HybridList",
           "required_levels", "goal_gap_parts", "ready_items", "skill_ready", "main_skills", "explore_draws", "blend_parts", "mmr_select",
           "mmr_rows", "percentile_among", "CANDIDATES", "TOP_CF"]

PARTS: tuple[str, ...] = ("cf", "goal", "gap", "plan", "explore")
LEARNING_PARTS: tuple[str, ...] = ("goal", "gap", "plan")
PREREQ_GOAL = 0.5   # an unmet prerequisite of a goal counts half a goal skill
HELD_GOAL = 0.5     # so does a goal skill believed held (practice until assessments confirm it)
CANDIDATES = 200    # MMR runs over the best this many items by relevance
TOP_CF = 1_000      # the CF part is computed for the best this many candidates by score (and marked items)


@dataclass(frozen=True, kw_only=True)
class HybridWeights:
    """Weights of the parts and of the diversity penalty (all >= 0; see the module docstring)."""

    cf: float = 1.0
    goal: float = 0.3
    gap: float = 0.2
    plan: float = 1.0
    explore: float = 0.0
    diversity: float = 0.3

    def __post_init__(self) -> None:
        for name in (*PARTS, "diversity"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
                raise ConfigError(f"hybrid weight {name} must be a finite number >= 0, got {v!r}")
        if not any(getattr(self, p) > 0 for p in PARTS if p != "explore"):
            raise ConfigError("at least one hybrid weight among cf, goal, gap, plan must be > 0")

    def as_array(self) -> NDArray[np.float64]:
        return np.array([getattr(self, p) for p in PARTS], dtype=np.float64)

    def to_dict(self) -> dict[str, float]:
        return {p: float(getattr(self, p)) for p in (*PARTS, "diversity")}


# The tuner's choice on a validation window cut from the synthetic world's training window (seed 7,
# temporal, all 1,584 validation mentees; never its test window), riding on the validation champion
# (BPR): the most learning weight whose validation NDCG@10 stays within 2 % of the champion alone,
# each term earning its place against its absence, ties to the simpler setting (training/hybrid_eval.py).
# Recorded with every trial in benchmarks/results/hybrid_synth_temporal.json; tests/training/test_hybrid_tune.py
# keeps the two equal.
DEFAULT_WEIGHTS = HybridWeights(cf=1.0, goal=1.0, gap=0.0, plan=1.0, explore=0.0, diversity=0.0)


@dataclass(frozen=True)
class HybridList:
    """The chosen items (catalog indices, best first), their relevance, parts and what chose each."""

    items: NDArray[np.int64]
    relevance: NDArray[np.float64]
    parts: NDArray[np.float64]      # len(items) x len(PARTS)
    chosen_by: list[str]


def required_levels(catalog: Catalog, goals: Sequence[Goal], held: Mapping[str, int]) -> dict[str, int]:
    """Goal skills not yet held at their level, plus (transitively) their unmet prerequisites at
    the levels the graph asks; the highest requirement wins (the planner's rule)."""
    req: dict[str, int] = {}
    for g in goals:
        req[g.skill_id] = max(req.get(g.skill_id, 0), g.level)
    for s in reversed(catalog.graph.order):
        if s in req and held.get(s, 0) < req[s]:
            for q in catalog.graph.prereqs[s]:
                req[q.skill_id] = max(req.get(q.skill_id, 0), q.level)
    return {s: L for s, L in req.items() if held.get(s, 0) < L}


def skill_ready(catalog: Catalog, levels: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Per skill: every prerequisite held at the level the graph asks."""
    e = catalog.prereq_edges
    unmet = levels[e[:, 1]] < e[:, 2]
    return np.bincount(e[unmet, 0], minlength=catalog.n_skills) == 0


def main_skills(catalog: Catalog) -> NDArray[np.int64]:
    """Each item's main skill (its first tag: what the resource is about)."""
    return catalog.main_skill


def ready_items(catalog: Catalog, levels: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Items whose main skill has its prerequisites held at the levels the graph asks."""
    return skill_ready(catalog, levels)[main_skills(catalog)]


def _percentile(scores: NDArray[np.float64], ok: NDArray[np.bool_], rows: NDArray[np.int64]) -> NDArray[np.float64]:
    """Rank percentile in (0, 1] of ``scores[rows]`` among the ``ok`` items (ties share the lower rank)."""
    return percentile_among(scores[ok], scores[rows])


def percentile_among(allv: NDArray[np.float64], vals: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rank percentile in (0, 1] of each of ``vals`` among ``allv`` (ties share the lower rank; NaN in
    ``allv`` ranks below nothing).

    One sort of ``allv`` and a search of each of ``vals`` in it: numpy's vectorised sort of the
    candidates' scores costs less than searching every score among the sorted ``vals``, even when
    ``vals`` are few (about 2x at 5k-16k candidates)."""
    if not len(vals) or not len(allv):
        return np.zeros(len(vals))
    return (np.searchsorted(np.sort(allv), vals, side="left") + 1) / len(allv)


def explore_draws(user_key: str, n: int) -> NDArray[np.float64]:
    """``n`` uniform draws in [0, 1) fixed by ``user_key`` (crc32 seed: the same on every process and run)."""
    return np.random.default_rng(zlib.crc32(user_key.encode("utf-8"))).random(n)


def goal_gap_parts(catalog: Catalog, levels: NDArray[np.int64], goals: Sequence[Goal]) -> tuple[NDArray[np.float64],
                                                                             NDArray[np.float64]]:
    """Per item the goal and gap parts before candidates are cut (catalog-length); NaN goal: the item teaches
    no needed skill (no part marks it, so it gets a CF part only among the best by score)."""
    ids = catalog.skill_ids
    held = dict(zip(ids.ids, np.asarray(levels).tolist()))
    req = required_levels(catalog, goals, held)
    m = catalog.item_skill_levels_csc
    goal, gap = np.full(catalog.n_items, np.nan), np.zeros(catalog.n_items)
    for s in {g.skill_id for g in goals} - set(req):
        if s in held:
            j = ids.index(s)
            items = m.indices[m.indptr[j]:m.indptr[j + 1]]
            goal[items] = np.fmax(goal[items], HELD_GOAL)
    goal_set = {g.skill_id for g in goals}
    for s in req:
        j = ids.index(s)
        items = m.indices[m.indptr[j]:m.indptr[j + 1]]
        lv = m.data[m.indptr[j]:m.indptr[j + 1]].astype(np.int64)
        above = lv > held[s]
        goal[items] = np.fmax(goal[items], np.where(above, 1.0 if s in goal_set else PREREQ_GOAL, 0.0))
        gap[items] = np.maximum(gap[items], np.exp2(-np.abs(lv - (held[s] + 1))) * above)
    return goal, gap


def blend_parts(catalog: Catalog, *, cf_scores: NDArray[np.floating], candidates: NDArray[np.bool_],
                levels: NDArray[np.int64], goals: Sequence[Goal], plan_items: Sequence[int],
                user_key: str | None = None) -> NDArray[np.float64]:
    """The ``n_items x len(PARTS)`` part matrix (zeros outside ``candidates``; the CF and explore parts
    only where the CF part can decide a list of up to :data:`TOP_CF` items, see the comment at its
    end; ``explore`` is 0 without a ``user_key``)."""
    n = catalog.n_items
    cf = np.asarray(cf_scores, dtype=np.float64)
    if cf.shape != (n,) or levels.shape != (catalog.n_skills,):
        raise ConfigError(f"cf_scores need one value per item ({n}) and levels one per skill ({catalog.n_skills})")
    ok = candidates & np.isfinite(cf)
    parts = np.zeros((n, len(PARTS)))
    goal, gap = goal_gap_parts(catalog, levels, goals)
    marked = ok & ~np.isnan(goal)  # parts stay zero outside the candidates
    parts[marked, 1], parts[marked, 2] = goal[marked], gap[marked]
    touched: list[NDArray[np.integer]] = [np.flatnonzero(marked)]
    for pos, i in enumerate(plan_items):
        if ok[int(i)]:
            parts[int(i), 3] = max(parts[int(i), 3], 1.0 / (1 + pos))
            touched.append(np.array([int(i)]))
    # The CF part where it can decide: every item another part marks, and the best TOP_CF
    # candidates by score (ties included). An unmarked item below those has no other part and
    # a lower percentile than each of them, so it never enters mmr_select's pool (k <= TOP_CF).
    cand = np.flatnonzero(ok)
    if len(cand) > TOP_CF:
        c = cf[cand]
        cand = cand[c >= np.partition(c, len(c) - TOP_CF)[len(c) - TOP_CF]]
    rows = np.unique(np.concatenate([cand, *touched])) if touched else cand
    parts[rows, 0] = _percentile(cf, ok, rows)
    if user_key is not None:
        # exploration reorders near-ties among these rows only (an item outside has no part that
        # could lift it past the pool of the best CANDIDATES <= TOP_CF at the tuned weights)
        parts[rows, 4] = explore_draws(user_key, n)[rows]
    return parts


def _skill_sets(catalog: Catalog, idx: NDArray[np.int64]) -> sp.csr_matrix:
    m = catalog.item_skill_levels.tocsr()[idx]
    return sp.csr_matrix((np.ones_like(m.data, dtype=np.float64), m.indices, m.indptr), shape=m.shape)


def mmr_select(catalog: Catalog, parts: NDArray[np.float64], candidates: NDArray[np.bool_], k: int,
               weights: HybridWeights) -> HybridList:
    """Up to ``k`` candidates chosen by maximal marginal relevance over skills (module docstring)."""
    idx = np.flatnonzero(candidates)
    return mmr_rows(catalog, idx, parts[idx], k, weights)


def mmr_rows(catalog: Catalog, idx: NDArray[np.integer], parts: NDArray[np.float64], k: int,
             weights: HybridWeights) -> HybridList:
    """:func:`mmr_select` over the candidates ``idx`` (ascending item indices) with their part rows.

    Candidates whose parts are all zero may be left out of ``idx``: each of them ranks below every
    candidate with a CF part (relevance, then CF part, then index), and :func:`blend_parts` gives a
    CF part to at least ``min(TOP_CF, candidates)`` >= the pool size, so they never reach the pool."""
    if not 1 <= k <= TOP_CF:
        raise ConfigError(f"k must be in 1..{TOP_CF}, got {k}")
    w = weights.as_array()
    if not len(idx):
        return HybridList(np.zeros(0, np.int64), np.zeros(0), np.zeros((0, len(PARTS))), [])
    rel_all = parts @ w
    # best CANDIDATES by relevance, ties by CF part then index (deterministic); sorting only the
    # items at or above the CANDIDATES-th relevance (ties included) gives the same pool
    m = max(CANDIDATES, k)
    pos = np.arange(len(idx))
    if len(idx) > m:
        pos = pos[rel_all >= np.partition(rel_all, len(idx) - m)[len(idx) - m]]
    pos = pos[np.lexsort((idx[pos], -parts[pos, 0], -rel_all[pos]))[:m]]
    pool, r, pparts = idx[pos], rel_all[pos], parts[pos]
    if weights.diversity == 0:  # no penalty: MMR is the relevance order (skips the pool's skill overlaps)
        c = pparts[:k] * w
        by = [PARTS[int(np.argmax(row))] if row.max() > 0 else "cf" for row in c]
        return HybridList(pool[:k].astype(np.int64), r[:k], pparts[:k], by)
    S = _skill_sets(catalog, pool)
    inter = (S @ S.T).toarray()
    size = np.asarray(S.sum(axis=1)).ravel()
    union = size[:, None] + size[None, :] - inter
    jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    overlap = np.zeros(len(pool))
    taken = np.zeros(len(pool), dtype=bool)
    chosen: list[int] = []
    by: list[str] = []
    lam = weights.diversity
    for _ in range(min(k, len(pool))):
        mmr = np.where(taken, -np.inf, r - lam * overlap)
        p = int(np.argmax(mmr))  # first max: the pool is already in relevance order
        best_rel = int(np.argmax(np.where(taken, -np.inf, r)))
        if p != best_rel and r[p] < r[best_rel]:
            by.append("diversity")
        else:
            c = pparts[p] * w
            by.append(PARTS[int(np.argmax(c))] if c.max() > 0 else "cf")
        chosen.append(p)
        taken[p] = True
        overlap = np.maximum(overlap, jac[p])
    return HybridList(pool[chosen].astype(np.int64), r[chosen], pparts[chosen], by)
