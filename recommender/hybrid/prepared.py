"""The hybrid list in two halves: what a mentee's context fixes, and what each request's filter changes.

:func:`prepare_next_up` does, once per mentee context (events, goals, clock hour, bundle), the
work that no request filter changes: the levels held, the readiness of each item, the
planner's score-independent inputs, the goal and gap parts of every item teaching a needed
skill, and the model's scores. It keeps them over the few items a list can ever draw on (the
ready items and the items of the skills the plan needs), so a remembered context costs
kilobytes, not a catalog-length vector. :meth:`PreparedNextUp.select` then answers one
request's filter: the plan under the filter, the candidates, the CF percentile of a few
rows and the MMR pool.

Invariant: ``prepare_next_up(allowed=A).select(F, ...)`` equals
:func:`recommender.hybrid.next_up.hybrid_next_up` with ``allowed=A & F`` (the reference
path; ``tests/recommender/hybrid/test_prepared.py`` checks items, relevance, parts, reasons
and the plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.schema import Mentee
from recommender.hybrid.blend import PARTS, TOP_CF, HybridWeights, explore_draws, goal_gap_parts, mmr_rows, \
    percentile_among, required_levels, skill_ready
from recommender.hybrid.next_up import PLAN_STEPS, HybridResult, lead_step, scored_levels
from recommender.mastery import MasteryModel, MasteryState
from recommender.paths.planner import LearningPath, PathStep
from recommender.paths.replan import History, PlanInputs, plan_from, plan_inputs

__all__ = ["PreparedNextUp", "prepare_next_up"]


@dataclass(frozen=True, eq=False)
class PreparedNextUp:
    """One mentee's filter-independent hybrid inputs over the items ``u`` (ascending catalog indices).

    ``u`` holds every item a list or a plan can use: the allowed items whose main skill is
    ready (``ready``) and the plannable items teaching a skill the plan needs (``plannable``).
    ``cf`` is the model's score (with freshness) at ``u``; ``goal`` and ``gap`` the blend's
    parts at ``u`` before candidates are cut (zero for an item teaching no needed skill;
    ``marked``: the items that teach one, which always get a CF part).
    """

    catalog: Catalog
    mentee: Mentee
    now: datetime
    levels: NDArray[np.int64]
    skill_ok: NDArray[np.bool_]
    plan: PlanInputs | None
    plan_steps: int
    u: NDArray[np.int32]
    cf: NDArray[np.float64]
    ready: NDArray[np.bool_]
    plannable: NDArray[np.bool_]
    marked: NDArray[np.bool_]
    goal: NDArray[np.floating]
    gap: NDArray[np.floating]
    freshness: NDArray[np.floating]
    user_key: str | None
    all_scored: bool = True  # the model scored every item (recommender.hybrid.advance reads it)

    @property
    def nbytes(self) -> int:
        """Memory held by the per-item arrays (what a cache of these should count)."""
        return sum(a.nbytes for a in (self.u, self.cf, self.ready, self.plannable, self.marked, self.goal, self.gap))

    @cached_property
    def explore(self) -> NDArray[np.float64]:
        """The mentee's exploration draws at ``u`` (drawn once per context)."""
        if self.user_key is None:
            return np.zeros(len(self.u))
        return explore_draws(self.user_key, self.catalog.n_items)[self.u]

    def _plan(self, kept: NDArray[np.bool_]) -> tuple[LearningPath, NDArray[np.float64]]:
        """The planner's next steps over the plannable items ``kept`` (aligned with ``u``), and the scores
        by catalog item it read (NaN outside ``u``, never read there)."""
        n, u = self.catalog.n_items, self.u
        path = LearningPath([])
        scores = np.full(n, np.nan)
        scores[u] = self.cf
        if self.plan is not None:
            usable = np.zeros(n, dtype=bool)
            usable[u[self.plannable & kept]] = True
            path = plan_from(self.plan, mentee=self.mentee, catalog=self.catalog, scores=scores,
                             freshness=self.freshness, now=self.now, max_steps=self.plan_steps, usable=usable)
        return path, scores

    def ready_steps(self, keep: NDArray[np.bool_] | None) -> tuple[list[tuple[PathStep, float]], LearningPath]:
        """The plan's steps under the filter ``keep`` that the mentee can take now, in the planner's order,
        each with its score (the model's, with freshness); and the whole plan (what it could not reach, why).

        A step is kept when the prerequisites of the skill it was planned for are held (the rule by
        which plan steps become candidates in :meth:`select`), so no step needs an earlier one first:
        this is the list a goal with no ready item falls back to (``serving.views.hybrid``)."""
        cat, u = self.catalog, self.u
        kept = np.ones(len(u), dtype=bool) if keep is None else keep[u]
        path, scores = self._plan(kept)
        return [(st, float(scores[st.item_index])) for st in path.steps
                if self.skill_ok[cat.skill_ids.index(st.skill_id)]], path

    def select(self, keep: NDArray[np.bool_] | None, k: int, weights: HybridWeights) -> HybridResult:
        """The top ``k`` for a request whose filter keeps the items ``keep`` (catalog-length; None: all)."""
        cat, n, u = self.catalog, self.catalog.n_items, self.u
        kept = np.ones(len(u), dtype=bool) if keep is None else keep[u]
        path, scores = self._plan(kept)
        cand_u = self.ready & kept
        extra = [st.item_index for st in path.steps
                 if self.skill_ok[cat.skill_ids.index(st.skill_id)]]  # the planner's rule (hybrid_inputs)
        if extra:  # plan steps are plannable, so allowed, kept and in u
            cand_u = cand_u.copy()
            cand_u[np.searchsorted(u, extra)] = True
        candidates = np.zeros(n, dtype=bool)
        candidates[u[cand_u]] = True
        path = lead_step(cat, path, candidates=candidates, cf_scores=scores, freshness=np.asarray(self.freshness))
        # the rows blend_parts gives a CF part: every marked candidate, the plan's lead, the best TOP_CF by score
        ok = np.flatnonzero(cand_u)
        c_ok = self.cf[ok]
        lead = int(np.searchsorted(u, path.steps[0].item_index)) if path.steps else -1
        lead_ok = lead >= 0 and bool(cand_u[lead])
        # rows: ok's marked items, its best TOP_CF by score (ties included) and the lead, ascending (one mask
        # over ok, as every row is a candidate)
        take = self.marked[ok]
        if len(ok) > TOP_CF:
            take |= c_ok >= np.partition(c_ok, len(c_ok) - TOP_CF)[len(c_ok) - TOP_CF]
        else:
            take[:] = True
        if lead_ok:
            take[np.searchsorted(ok, lead)] = True
        rows = ok[take]
        parts = np.zeros((len(rows), len(PARTS)))
        parts[:, 0] = percentile_among(c_ok, c_ok[take])
        parts[:, 1] = self.goal[rows]  # float16 holds these values exactly (_small)
        parts[:, 2] = self.gap[rows]
        if lead_ok:
            parts[np.searchsorted(rows, lead), 3] = 1.0
        if self.user_key is not None:
            parts[:, 4] = self.explore[rows]
        return HybridResult(mmr_rows(cat, u[rows], parts, k, weights), path, self.levels)


def prepare_next_up(*, catalog: Catalog, mentee: Mentee, events: pd.DataFrame, now: datetime, state: MasteryState,
                    cf_scores: NDArray[np.floating], allowed: NDArray[np.bool_], freshness: NDArray[np.floating],
                    mastery_model: MasteryModel | None = None, plan_steps: int = PLAN_STEPS,
                    history: History | None = None, explore: bool = True) -> PreparedNextUp:
    """The filter-independent half of :func:`~recommender.hybrid.next_up.hybrid_next_up` (same parameters;
    ``allowed`` without the request's filters, which :meth:`PreparedNextUp.select` takes)."""
    model = mastery_model or MasteryModel()
    cf, allowed, history, levels = scored_levels(model, mentee, events, catalog, now=now, state=state,
                                                 cf_scores=cf_scores, allowed=allowed, history=history)
    skill_ok = skill_ready(catalog, levels)
    ready = allowed & skill_ok[catalog.main_skill]
    plan = None
    plannable = np.zeros(catalog.n_items, dtype=bool)
    if mentee.goals and plan_steps > 0:
        plan = plan_inputs(model=model, mentee=mentee, events=events, catalog=catalog, now=now, state=state,
                           history=history)
        plannable = catalog.available_at(now) & allowed
        plannable[plan.completed] = False
        plannable[plan.dismissed] = False
        # the planner reads only the items of the skills it needs; reading levels no higher than its own
        # start (progress may lower one) can only add skills, never miss one
        held = dict(zip(catalog.skill_ids.ids, plan.plan_state.levels().tolist()))
        need = [catalog.skill_ids.index(s) for s in required_levels(catalog, mentee.goals,
                                                                    {**held, **(plan.progress or {})})]
        m = catalog.item_skill_levels_csc
        teaches = np.zeros(catalog.n_items, dtype=bool)
        for j in need:
            teaches[m.indices[m.indptr[j]:m.indptr[j + 1]]] = True
        plannable &= teaches
    goal_n, gap_n = goal_gap_parts(catalog, levels, tuple(mentee.goals))
    u = np.flatnonzero(ready | plannable)
    goal, gap = goal_n[u], gap_n[u]
    hit = ~np.isnan(goal)
    goal[~hit] = 0.0
    return PreparedNextUp(catalog=catalog, mentee=mentee, now=now, levels=levels, skill_ok=skill_ok, plan=plan,
                          plan_steps=plan_steps, u=u.astype(np.int32), cf=cf[u], ready=ready[u],
                          plannable=plannable[u], marked=hit, goal=_small(goal), gap=_small(gap), freshness=freshness,
                          user_key=mentee.user_id if explore else None,
                          all_scored=bool(np.isfinite(cf).all()))


def _small(x: NDArray[np.float64]) -> NDArray[np.floating]:
    """``x`` as float16 when that is exact (goal and gap parts are 0, 0.5, 1 and powers of two), else as is."""
    h = x.astype(np.float16)
    return h if np.array_equal(h.astype(np.float64), x) else x

