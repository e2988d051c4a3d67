"""A mentee's hybrid "next up": mastery, the plan and the model's scores blended into one list.

:func:`hybrid_next_up` reads the levels the mentee holds for planning (mastery at the
planner's bar, raised by credited completed work, as :func:`recommender.paths.replan.replan`
reads them), plans the next few steps towards the goals, drops every item whose skills'
prerequisites are not held, and blends (:mod:`recommender.hybrid.blend`). Pure: ``now``,
scores and the mastery state come in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.schema import Mentee
from recommender.hybrid.blend import DEFAULT_WEIGHTS, HybridList, HybridWeights, blend_parts, mmr_select, \
    ready_items, required_levels, skill_ready
from recommender.mastery import MasteryModel, MasteryState
from recommender.paths.planner import LearningPath
from recommender.paths.replan import PLANNING_THRESHOLD, History, mentee_history, progress_levels, replan

__all__ = ["PLAN_STEPS", "lead_step", "scored_levels", "HybridInputs", "HybridResult", "hybrid_inputs", "planning_levels", "hybrid_next_up", "hybrid_reasons"]

PLAN_STEPS = 5  # planner steps planned (the first leads the blend; the rest are named in the reasons)
LEAD_MIN_FRESHNESS = 0.5  # the planner's own freshness bar (recommender.paths.planner.plan_path)


@dataclass(frozen=True)
class HybridResult:
    """The blended list, the plan it drew on and the levels it read (aligned with ``skill_ids``)."""

    chosen: HybridList
    path: LearningPath
    levels: NDArray[np.int64]


def planning_levels(model: MasteryModel, mentee: Mentee, events: pd.DataFrame, catalog: Catalog, *,
                    now: datetime, state: MasteryState, history: History | None = None) -> NDArray[np.int64]:
    """Levels held for planning: mastery at :data:`PLANNING_THRESHOLD`, raised by credited completions
    (``history``: :func:`~recommender.paths.replan.mentee_history` of ``events`` at ``now``, if at hand)."""
    hist = history if history is not None else (
        mentee_history(events, catalog, user_id=mentee.user_id, now=now) if len(events) else None)
    lv = replace(state, threshold=PLANNING_THRESHOLD).levels().copy()
    if hist is not None and len(hist.events):
        seed = replace(model.initial_state(catalog, user_id=mentee.user_id, self_levels=mentee.self_levels),
                       threshold=PLANNING_THRESHOLD)
        for s, L in progress_levels(hist, catalog, seed).items():
            j = catalog.skill_ids.index(s)
            lv[j] = max(lv[j], L)
    return lv


def scored_levels(model: MasteryModel, mentee: Mentee, events: pd.DataFrame, catalog: Catalog, *, now: datetime,
                  state: MasteryState, cf_scores: NDArray[np.floating], allowed: NDArray[np.bool_],
                  history: History | None) -> tuple[NDArray[np.float64], NDArray[np.bool_], History | None, NDArray[np.int64]]:
    """What both halves of the blend start from: the scores as float64, ``allowed`` without items the
    model cannot score, the mentee's history at ``now`` (built unless given) and the planning levels."""
    cf = np.asarray(cf_scores, dtype=np.float64)
    allowed = np.asarray(allowed, dtype=bool) & np.isfinite(cf)
    if history is None and len(events):
        history = mentee_history(events, catalog, user_id=mentee.user_id, now=now)
    levels = planning_levels(model, mentee, events, catalog, now=now, state=state, history=history)
    return cf, allowed, history, levels


@dataclass(frozen=True)
class HybridInputs:
    """Everything the blend needs for one mentee before the weights: parts, candidates, plan, levels."""

    parts: NDArray[np.float64]
    candidates: NDArray[np.bool_]
    path: LearningPath
    levels: NDArray[np.int64]


def hybrid_inputs(*, catalog: Catalog, mentee: Mentee, events: pd.DataFrame, now: datetime,
                  state: MasteryState, cf_scores: NDArray[np.floating], allowed: NDArray[np.bool_],
                  freshness: NDArray[np.floating], mastery_model: MasteryModel | None = None,
                  plan_steps: int = PLAN_STEPS, history: History | None = None, explore: bool = True) -> HybridInputs:
    """The parts of every candidate for ``mentee`` (the weights come later, in :func:`mmr_select`);
    ``history``: the mentee's :func:`~recommender.paths.replan.mentee_history` at ``now``, if at hand;
    ``explore=False`` skips the exploration draws when their weight is 0."""
    model = mastery_model or MasteryModel()
    cf, allowed, history, levels = scored_levels(model, mentee, events, catalog, now=now, state=state,
                                                 cf_scores=cf_scores, allowed=allowed, history=history)
    path = LearningPath([])
    if mentee.goals and plan_steps > 0:
        _, path = replan(model=model, mentee=mentee, events=events, catalog=catalog,
                         scores=np.where(allowed, cf, np.nan), freshness=freshness, now=now,
                         max_steps=plan_steps, state=state, history=history)
    candidates = allowed & ready_items(catalog, levels)
    ok_skill = skill_ready(catalog, levels)
    for st in path.steps:  # the planner's rule: the prerequisites of the skill the step was planned for
        if ok_skill[catalog.skill_ids.index(st.skill_id)] and allowed[st.item_index]:
            candidates[st.item_index] = True
    path = lead_step(catalog, path, candidates=candidates, cf_scores=cf, freshness=np.asarray(freshness))
    parts = blend_parts(catalog, cf_scores=cf, candidates=candidates, levels=levels, goals=mentee.goals,
                        plan_items=[s.item_index for s in path.steps[:1]],
                        user_key=mentee.user_id if explore else None)
    return HybridInputs(parts, candidates, path, levels)


def lead_step(catalog: Catalog, path: LearningPath, *, candidates: NDArray[np.bool_], cf_scores: NDArray[np.float64],
              freshness: NDArray[np.floating], min_freshness: float = LEAD_MIN_FRESHNESS) -> LearningPath:
    """``path`` with its first step served by the candidate the model rates highest among those
    teaching the step's skill at exactly the step's level (fresh enough for the planner).

    The planner's step is a skill at a level; the learning effect is that of the level taught,
    while which equivalent resource a mentee takes up is what the collaborative model predicts.
    Choosing the most engaging equivalent kept validation NDCG@10 within 2 % of the model alone
    where the planner's own item cost 6 % (docs/hybrid.md); the planner's item wins ties.
    """
    if not path.steps:
        return path
    st = path.steps[0]
    j = catalog.skill_ids.index(st.skill_id)
    m = catalog.item_skill_levels_csc
    items = m.indices[m.indptr[j]:m.indptr[j + 1]]
    lv = m.data[m.indptr[j]:m.indptr[j + 1]]
    eq = items[(lv == st.level) & candidates[items] & (freshness[items] >= min_freshness) & np.isfinite(cf_scores[items])]
    if not len(eq) or not np.isfinite(cf_scores[st.item_index]):
        return path
    best = int(eq[np.argmax(cf_scores[eq])])
    if cf_scores[best] <= cf_scores[st.item_index] or best == st.item_index:
        return path
    name = catalog.graph.skills[st.skill_id].name or st.skill_id
    lead = replace(st, item_index=best, item_id=catalog.items.ids[best],
                   reasons=[f"teaches {name} at level {st.level}, the level your plan needs next",
                            "of the resources at that level, the one mentees like you take up most"])
    return LearningPath([lead, *path.steps[1:]], path.unreachable, path.already_met)


def hybrid_next_up(*, catalog: Catalog, mentee: Mentee, events: pd.DataFrame, now: datetime,
                   state: MasteryState, cf_scores: NDArray[np.floating], allowed: NDArray[np.bool_],
                   freshness: NDArray[np.floating], k: int, weights: HybridWeights = DEFAULT_WEIGHTS,
                   mastery_model: MasteryModel | None = None, plan_steps: int = PLAN_STEPS,
                   history: History | None = None) -> HybridResult:
    """The top ``k`` by the hybrid blend for ``mentee`` (goals from ``mentee.goals``).

    ``allowed`` marks what the request may return (filters, exclusions, availability);
    ``cf_scores`` (NaN = never) may include the freshness term. Items whose main skill's
    prerequisites the mentee does not hold are never returned.
    """
    x = hybrid_inputs(catalog=catalog, mentee=mentee, events=events, now=now, state=state, cf_scores=cf_scores,
                      allowed=allowed, freshness=freshness, mastery_model=mastery_model, plan_steps=plan_steps,
                      history=history, explore=weights.explore > 0)
    return HybridResult(mmr_select(catalog, x.parts, x.candidates, k, weights), x.path, x.levels)


def hybrid_reasons(catalog: Catalog, result: HybridResult, goals: tuple = ()) -> list[list[str]]:
    """Per chosen item: first which part chose it (in words), then the supporting facts."""
    g = catalog.graph
    name = lambda s: g.skills[s].name or s  # noqa: E731
    ids = catalog.skill_ids
    held = dict(zip(ids.ids, np.asarray(result.levels).tolist()))
    req = required_levels(catalog, goals, held)
    goal_set = {gl.skill_id for gl in goals}
    step_of = {st.item_index: (n, st) for n, st in enumerate(result.path.steps, start=1)}
    above: set[str] = set()
    out: list[list[str]] = []
    for i, by in zip(result.chosen.items.tolist(), result.chosen.chosen_by):
        res = catalog.resources[i]
        skills = [(sl.skill_id, sl.level) for sl in res.skills]
        needed = [(s, L) for s, L in skills if s in req and L > held[s]]
        facts: list[str] = []
        if by == "plan" and i in step_of:
            n, st = step_of[i]
            head = f"chosen by your learning path: step {n} towards {name(st.goal_skill_id)}"
            facts = [r for r in st.reasons[:2]]
        elif by in ("goal", "gap") and needed:
            s, L = max(needed, key=lambda x: (x[0] in goal_set, -abs(x[1] - held[x[0]] - 1)))
            kind = "your goal" if s in goal_set else "a prerequisite of your goals"
            if by == "goal":
                head = f"chosen by your goals: teaches {name(s)}, {kind}"
            else:
                head = f"chosen by your mastery gap: {name(s)} level {L} (you are at level {held[s]})"
        elif by == "goal" and goal_set & {s for s, _ in skills}:
            s = next(s for s, _ in skills if s in goal_set)
            head = f"chosen by your goals: practises {name(s)}, your goal, until an assessment confirms it"
        elif by == "explore":
            head = "chosen to explore: a less common pick among the items that fit you"
        elif by == "diversity":
            new = [s for s, _ in skills if s not in above] or [skills[0][0]]
            head = f"chosen for variety: {name(new[0])}, a skill the items above do not cover"
        else:
            head = "chosen by the model: mentees with a history like yours engage with it"
        if by != "plan" and i in step_of:
            facts.append(f"also step {step_of[i][0]} of your learning path")
        if by not in ("goal", "gap") and needed:
            s, _ = needed[0]
            facts.append(f"fits your goal: {name(s)}" if s in goal_set else f"prerequisite on the way to your goals: {name(s)}")
        above.update(s for s, _ in skills)
        out.append([head, *facts])
    return out
