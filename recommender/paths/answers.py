"""A mentee's learning path as a JSON-ready answer, for the API and the CLI.

:func:`path_view` validates what a request may get wrong (``max_steps``,
``minutes_per_week``, array shapes, a mentee with nothing to plan for), plans with
:func:`recommender.paths.replan.replan` from the mentee's context (events and mastery
from :class:`recommender.context.MenteeContext`) and returns plain
``dict``/``list``/``str``/``int``/``float`` values only, so an endpoint can return it as it
is. :func:`next_up_view` is the first few steps (``/recommend`` in mode ``path``);
:func:`skill_view` describes one skill with its prerequisites and dependents.

Pure: the caller passes the context (with ``now``), a model's score vector and freshness.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import ConfigError, UnknownUserError
from catalog.schema import MAX_LEVEL, MIN_LEVEL, Goal
from recommender.context import MenteeContext
from recommender.mastery import MasteryModel, MasteryState
from recommender.paths.planner import LearningPath
from recommender.paths.replan import DEFAULT_MINUTES_PER_WEEK, replan

__all__ = ["MAX_PATH_STEPS", "MAX_NEXT_UP", "path_view", "next_up_view", "skill_view"]

MAX_PATH_STEPS = 50
MAX_NEXT_UP = 5
MAX_MINUTES_PER_WEEK = 7 * 24 * 60

def _check_array(name: str, a: NDArray[np.floating], n: int) -> NDArray[np.float64]:
    arr = np.asarray(a, dtype=np.float64)
    if arr.shape != (n,):
        raise ConfigError(f"{name} must have one value per catalog item, shape ({n},), got {arr.shape}")
    return arr


def _relevant_skills(catalog: Catalog, goals: Sequence[Goal], path: LearningPath) -> list[str]:
    """Goal skills, their transitive prerequisites and every skill the path works on, in graph order."""
    g = catalog.graph
    keep: set[str] = set()
    for gl in goals:
        keep.add(gl.skill_id)
        keep |= g.ancestors(gl.skill_id)
    keep |= set(path.skills())
    return sorted(keep, key=g.rank)


def _step_dict(n: int, step: Any, catalog: Catalog) -> dict[str, Any]:
    res = catalog.resources[step.item_index]
    g = catalog.graph
    return {
        "step": n,
        "item_id": step.item_id,
        "title": res.title,
        "type": res.type,
        "url": res.url,
        "skill": step.skill_id,
        "skill_name": g.skills[step.skill_id].name,
        "level": int(step.level),
        "goal": step.goal_skill_id,
        "reasons": list(step.reasons),
        "eta": step.eta.isoformat(),
        "minutes": int(step.minutes),
        "remediation": bool(step.remediation),
    }


def _plan(ctx: MenteeContext, *, scores: NDArray[np.floating], freshness: NDArray[np.floating],
          max_steps: int, minutes_per_week: int | None, horizon_weeks: int, prerequisites: bool,
          mastery_model: MasteryModel | None, credit_completed: bool) -> tuple[int, MasteryState, LearningPath]:
    if isinstance(max_steps, bool) or not 1 <= int(max_steps) <= MAX_PATH_STEPS:
        raise ConfigError(f"max_steps must be 1-{MAX_PATH_STEPS}, got {max_steps!r}")
    if minutes_per_week is not None and not 1 <= int(minutes_per_week) <= MAX_MINUTES_PER_WEEK:
        raise ConfigError(f"minutes_per_week must be 1-{MAX_MINUTES_PER_WEEK}, got {minutes_per_week!r}")
    if isinstance(horizon_weeks, bool) or not 1 <= int(horizon_weeks) <= 520:
        raise ConfigError(f"horizon_weeks must be 1-520, got {horizon_weeks!r}")
    if not ctx.has_profile and not ctx.goals_requested:
        raise UnknownUserError(ctx.user_id)  # no profile, so no stored goals to plan for
    if not ctx.goals:
        raise ConfigError(f"mentee {ctx.user_id!r} has no goals; pass goals explicitly (SKILL:LEVEL)")
    cat = ctx.catalog
    sc = _check_array("scores", scores, cat.n_items)
    fr = _check_array("freshness", freshness, cat.n_items)
    mentee = ctx.mentee
    mpw = int(minutes_per_week or mentee.minutes_per_week or DEFAULT_MINUTES_PER_WEEK)
    model = mastery_model or MasteryModel()
    state, path = replan(
        model=model, mentee=dataclasses.replace(mentee, goals=ctx.goals), events=ctx.events, catalog=cat,
        scores=sc, freshness=fr, now=ctx.now, horizon_weeks=int(horizon_weeks), max_steps=int(max_steps),
        minutes_per_week=mpw, prerequisites=prerequisites, credit_completed=credit_completed,
        state=ctx.mastery(model))
    return mpw, state, path


def _view(ctx: MenteeContext, mpw: int, horizon_weeks: int, state: MasteryState, path: LearningPath,
          steps: Sequence[Any], prerequisites: bool) -> dict[str, Any]:
    cat, goals = ctx.catalog, ctx.goals
    name = lambda s: cat.graph.skills[s].name  # noqa: E731
    return {
        "user_id": ctx.user_id,
        "as_of": ctx.now.isoformat(),
        "goals": [{"skill": gl.skill_id, "skill_name": name(gl.skill_id), "level": gl.level,
                   "deadline": gl.deadline.isoformat() if gl.deadline else None,
                   "met": gl.skill_id in path.already_met,
                   # past its deadline and not met: the CLI and the service flag it
                   "overdue": bool(gl.deadline and gl.deadline < ctx.now.date() and gl.skill_id not in path.already_met)}
                  for gl in goals],
        "minutes_per_week": mpw,
        "horizon_weeks": int(horizon_weeks),
        "prerequisites": bool(prerequisites),
        "steps": [_step_dict(k, s, cat) for k, s in enumerate(steps, start=1)],
        "total_steps": len(path.steps),
        "total_minutes": int(path.total_minutes),
        "unreachable": [{"skill": s, "skill_name": name(s), "reason": why} for s, why in path.unreachable],
        "already_met": list(path.already_met),
        "mastery": {s: round(state.mastery(s), 4) for s in _relevant_skills(cat, goals, path)},
    }


def path_view(ctx: MenteeContext, *, scores: NDArray[np.floating], freshness: NDArray[np.floating],
              max_steps: int = 10, minutes_per_week: int | None = None, horizon_weeks: int = 12,
              prerequisites: bool = True, mastery_model: MasteryModel | None = None,
              credit_completed: bool = True) -> dict[str, Any]:
    """The mentee's learning path toward ``ctx.goals`` as a JSON-ready dict.

    Parameters
    ----------
    ctx : MenteeContext
        The mentee at ``now`` (:func:`recommender.context.mentee_context`). Completed,
        assessed and dismissed items are never planned; mastery comes from its events (BKT).
    scores, freshness : arrays over ``ctx.catalog.items``
        Any model's scores for this mentee (NaN = never recommend) and freshness in [0, 1].
    max_steps : 1-50. ``minutes_per_week`` : default the mentee's, else 120.
    credit_completed : see :func:`recommender.paths.replan.replan` (True: partial credit for
        completed work, :data:`recommender.paths.credit.DEFAULT_CREDIT`; False: levels from BKT
        mastery alone; ``docs/paths_eval.md``).

    Returns
    -------
    dict
        ``user_id, as_of, goals [{skill, skill_name, level, deadline, met}], minutes_per_week,
        horizon_weeks, prerequisites, steps [{step, item_id, title, type, url, skill,
        skill_name, level, goal, reasons, eta, minutes, remediation}], total_steps,
        total_minutes, unreachable [{skill, skill_name, reason}], already_met,
        mastery {skill: p}`` (goal skills, their prerequisites and the path's skills).

    Raises
    ------
    UnknownUserError (no profile and no goals requested), ConfigError (no goals, bad options).
    """
    mpw, state, path = _plan(
        ctx, scores=scores, freshness=freshness, max_steps=max_steps, minutes_per_week=minutes_per_week,
        horizon_weeks=horizon_weeks, prerequisites=prerequisites, mastery_model=mastery_model,
        credit_completed=credit_completed)
    return _view(ctx, mpw, horizon_weeks, state, path, path.steps, prerequisites)


def next_up_view(ctx: MenteeContext, *, scores: NDArray[np.floating], freshness: NDArray[np.floating], n: int = 3,
                 minutes_per_week: int | None = None, horizon_weeks: int = 12, prerequisites: bool = True,
                 mastery_model: MasteryModel | None = None, plan_steps: int = 20,
                 credit_completed: bool = True) -> dict[str, Any]:
    """What to do now: the first ``n`` (1-5) steps of the path, in the :func:`path_view` shape.

    The whole path (``plan_steps`` long) is planned so ``unreachable`` and
    ``total_steps`` describe it; ``steps`` holds only the first ``n``.
    """
    if isinstance(n, bool) or not 1 <= int(n) <= MAX_NEXT_UP:
        raise ConfigError(f"n must be 1-{MAX_NEXT_UP}, got {n!r}")
    mpw, state, path = _plan(
        ctx, scores=scores, freshness=freshness, max_steps=max(int(n), int(plan_steps)),
        minutes_per_week=minutes_per_week, horizon_weeks=horizon_weeks, prerequisites=prerequisites,
        mastery_model=mastery_model, credit_completed=credit_completed)
    return _view(ctx, mpw, horizon_weeks, state, path, path.steps[:int(n)], prerequisites)


def skill_view(catalog: Catalog, skill_id: str) -> dict[str, Any]:
    """One skill with its direct prerequisites (level required) and dependents (the level
    each requires of it), plus how many active resources teach it at each level.

    Raises UnknownSkillError for an unknown ``skill_id``.
    """
    g = catalog.graph
    sk = g[skill_id]
    j = catalog.skill_ids.index(skill_id)
    csc = catalog.item_skill_levels_csc
    items = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
    levels = csc.data[csc.indptr[j]:csc.indptr[j + 1]].astype(np.int64)
    active = catalog.active[items]
    by_level = {str(L): int(((levels == L) & active).sum()) for L in range(MIN_LEVEL, MAX_LEVEL + 1)}
    dependents = []
    for d in sorted(g.dependents[skill_id], key=g.rank):
        req = next(q.level for q in g.prereqs[d] if q.skill_id == skill_id)
        dependents.append({"skill_id": d, "name": g.skills[d].name, "level": int(req)})
    return {
        "skill_id": sk.skill_id,
        "name": sk.name,
        "domain": sk.domain,
        "half_life_days": sk.half_life_days,
        "prerequisites": [{"skill_id": q.skill_id, "name": g.skills[q.skill_id].name, "level": int(q.level)}
                          for q in sk.prerequisites],
        "dependents": dependents,
        "all_prerequisites": sorted(g.ancestors(skill_id), key=g.rank),
        "resources": int(active.sum()),
        "resources_by_level": by_level,
    }
