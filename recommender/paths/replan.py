"""Re-planning: rebuild a mentee's mastery from the event log and plan again.

The plan is a pure function of (catalog, mentee, events up to ``now``, scores,
freshness), so re-planning after any event is: rebuild, then :func:`plan_path`. Events
change the plan in three ways: mastery moves (a skill now held is skipped), the items
done or dismissed are never planned again (and completed work counts towards the level
the plan starts from), and a failed assessment whose skill has seen
no completion since makes the planner start that skill with an easier resource.
"""

from __future__ import annotations

from functools import cached_property
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import ConfigError
from catalog.schema import Mentee
from recommender.mastery import MasteryModel, MasteryState
from recommender.paths.credit import DEFAULT_CREDIT, CompletionCredit, progress_from_events
from recommender.paths.planner import LearningPath, plan_path

__all__ = ["DEFAULT_MINUTES_PER_WEEK", "DEFAULT_PASS_SCORE", "PLANNING_THRESHOLD", "PRACTICE_TYPES",
           "PRACTICE_SPACING_DAYS", "History", "PlanInputs", "plan_inputs", "plan_from", "mentee_history", "failed_assessments", "progress_levels",
           "practice_due", "assessed_levels", "rebuild_state", "replan"]

DEFAULT_MINUTES_PER_WEEK = 120  # when the mentee did not say
DEFAULT_PASS_SCORE = 60.0  # an assessment below this score is a failure
# The planner counts level L as held when mastery p >= L/5 * PLANNING_THRESHOLD: the level's own
# mastery (L/5), less 1 % so a self-assessed level (seeded at L/5, level 5 capped at 0.99) still
# reads back as itself. Mastery's display bar (0.95) is looser; planning on it started mentees on
# material too hard and on skills whose prerequisites were not really there (docs/paths_eval.md).
PLANNING_THRESHOLD = 0.99
# Practice is worth repeating: exercises and quizzes done at least this long ago may be planned again
# (spaced practice); everything else, once completed, is never planned again.
PRACTICE_TYPES: frozenset[str] = frozenset({"exercise", "quiz"})
PRACTICE_SPACING_DAYS = 7.0


@dataclass(frozen=True)
class History:
    """One mentee's events up to ``now``, time-sorted, with item indices (-1 = not in catalog)."""

    events: pd.DataFrame
    item_index: NDArray[np.int64]

    @cached_property
    def kinds(self) -> NDArray[np.object_]:
        """The events' types as an array (read per request by several rules)."""
        return self.events["event_type"].to_numpy(dtype=object)

    @cached_property
    def values(self) -> NDArray[np.float64]:
        """The events' values (scores of assessments; NaN where none)."""
        return self.events["value"].to_numpy(dtype=np.float64, na_value=np.nan)

    @cached_property
    def ts_us(self) -> NDArray[np.int64]:
        """The events' timestamps in microseconds since the epoch (UTC)."""
        t = self.events["timestamp"]
        if not (isinstance(t.dtype, pd.DatetimeTZDtype) and t.dtype.unit == "us"):
            t = pd.to_datetime(t, utc=True).astype("datetime64[us, UTC]")
        return np.asarray(t.array.asi8, dtype=np.int64)

    def items(self, *types: str) -> NDArray[np.int64]:
        """Indices of catalog items that have an event of one of ``types``."""
        kinds = self.kinds
        mask = np.zeros(len(kinds), dtype=bool)
        for t in types:
            mask |= kinds == t
        return np.unique(self.item_index[mask & (self.item_index >= 0)])


def mentee_history(events: pd.DataFrame, catalog: Catalog, *, user_id: str, now: datetime) -> History:
    """The events of ``user_id`` at or before ``now``, in stable time order."""
    ev = events[events["user_id"] == user_id]
    ts = pd.to_datetime(ev["timestamp"], utc=True)
    ev = ev[(ts <= pd.Timestamp(now)).to_numpy()]
    ev = ev.iloc[np.argsort(pd.to_datetime(ev["timestamp"], utc=True).to_numpy(), kind="stable")]
    ev = ev.reset_index(drop=True)
    return History(ev, catalog.items.indices(list(ev["item_id"]), missing="-1"))


def failed_assessments(history: History, catalog: Catalog, *,
                       pass_score: float = DEFAULT_PASS_SCORE) -> dict[str, int]:
    """Skill id -> item level of the latest assessment on that skill, if it scored below
    ``pass_score`` and no item teaching the skill was completed after it."""
    m = catalog.item_skill_levels.tocsr()
    latest: dict[int, tuple[float, int]] = {}  # skill -> (score, level) of the latest assessment
    for kind, value, i in zip(history.kinds.tolist(), history.values.tolist(), history.item_index.tolist()):
        if i < 0 or kind not in ("assess", "complete"):
            continue
        for j, lvl in zip(m.indices[m.indptr[i]:m.indptr[i + 1]], m.data[m.indptr[i]:m.indptr[i + 1]]):
            if kind == "assess":
                latest[int(j)] = (float(value), int(lvl))
            else:
                latest.pop(int(j), None)
    names = catalog.skill_ids
    return {names.to_ids([j])[0]: lvl for j, (score, lvl) in latest.items() if score < pass_score}


def practice_due(history: History, catalog: Catalog, *, now: datetime,
                 spacing_days: float = PRACTICE_SPACING_DAYS) -> NDArray[np.int64]:
    """Practice items (:data:`PRACTICE_TYPES`) the mentee completed or was assessed on, last touched at
    least ``spacing_days`` before ``now`` and never dismissed: they may be planned again."""
    idx = history.item_index
    if not len(idx):
        return np.zeros(0, np.int64)
    ts = history.ts_us
    last: dict[int, int] = {}
    for i, t in zip(idx.tolist(), ts.tolist()):
        if i >= 0:
            last[i] = max(last.get(i, t), t)
    dismissed = set(history.items("dismiss").tolist())
    limit = int(now.timestamp() * 1e6) - int(spacing_days * 86_400e6)
    due = [i for i in history.items("complete", "assess").tolist()
           if i not in dismissed and str(catalog.types[i]) in PRACTICE_TYPES and last[i] <= limit]
    return np.array(due, dtype=np.int64)


def assessed_levels(history: History, catalog: Catalog, *, pass_score: float = DEFAULT_PASS_SCORE) -> dict[str, int]:
    """Skill id -> the highest item level of a passed assessment on that skill (assessment evidence)."""
    m = catalog.item_skill_levels.tocsr()
    best: dict[str, int] = {}
    names = catalog.skill_ids.ids
    for kind, value, i in zip(history.kinds.tolist(), history.values.tolist(), history.item_index.tolist()):
        if i < 0 or kind != "assess" or not float(value) >= pass_score:
            continue
        for j, lvl in zip(m.indices[m.indptr[i]:m.indptr[i + 1]], m.data[m.indptr[i]:m.indptr[i + 1]]):
            best[names[j]] = max(best.get(names[j], 0), int(lvl))
    return best


def progress_levels(history: History, catalog: Catalog, start: MasteryState, *,
                    pass_score: float = DEFAULT_PASS_SCORE, max_stretch: int = 1,
                    credit: CompletionCredit = DEFAULT_CREDIT) -> dict[str, int]:
    """Skill id -> the whole level the mentee's completed work has taken them to, for planning.

    Mastery moves little on a completion (it is weak evidence); without some credit a
    re-plan would keep offering material at the level just studied. Starting from
    ``start`` (the state before any event), each completion moves the skill a fraction of a
    level by :class:`recommender.paths.credit.CompletionCredit` (level fit and duration; never
    past the item's level) and a failed assessment at level L caps it at L - 1. Only skills
    whose whole level moved are returned.
    """
    base = start.levels()
    x = progress_from_events(history.kinds, history.values,
                             history.item_index, catalog, base, credit=credit, pass_score=pass_score,
                             max_stretch=max_stretch)
    cur = np.floor(x + 1e-9).astype(np.int64)
    names = catalog.skill_ids.ids
    return {names[j]: int(cur[j]) for j in np.flatnonzero(cur != base)}


def rebuild_state(model: MasteryModel, mentee: Mentee, events: pd.DataFrame, catalog: Catalog, *,
                  now: datetime) -> MasteryState:
    """Mastery from scratch: self-assessed levels, then every event of the mentee up to ``now``."""
    state = model.initial_state(catalog, user_id=mentee.user_id, self_levels=mentee.self_levels)
    return model.update(state, events, catalog, now=now)


@dataclass(frozen=True)
class PlanInputs:
    """What :func:`plan_path` reads of one mentee's history at ``now``, before any scores: the state it
    plans from (failed assessments applied), completion credit, and the items never to plan again.

    Depends on the events and the clock only, so a caller that plans for the same mentee under
    several item filters (the hybrid list's request filters) builds it once."""

    state: MasteryState
    plan_state: MasteryState
    progress: dict[str, int] | None
    failed: dict[str, int]
    completed: NDArray[np.int64]
    dismissed: NDArray[np.int64]
    minutes_per_week: int


def plan_inputs(*, model: MasteryModel, mentee: Mentee, events: pd.DataFrame, catalog: Catalog, now: datetime,
                minutes_per_week: int | None = None, pass_score: float = DEFAULT_PASS_SCORE,
                credit_completed: bool = True, credit: CompletionCredit = DEFAULT_CREDIT,
                planning_threshold: float | None = PLANNING_THRESHOLD, state: MasteryState | None = None,
                practice_spacing_days: float | None = PRACTICE_SPACING_DAYS,
                history: History | None = None) -> PlanInputs:
    """The score-independent half of :func:`replan` (same parameters; see there)."""
    hist = history if history is not None else mentee_history(events, catalog, user_id=mentee.user_id, now=now)
    seed = model.initial_state(catalog, user_id=mentee.user_id, self_levels=mentee.self_levels)
    if state is None:
        state = model.update(seed, hist.events, catalog, now=now)
    if planning_threshold is not None:
        if not 0.0 < planning_threshold <= 1.0:
            raise ConfigError(f"planning_threshold must be in (0, 1], got {planning_threshold}")
        plan_seed = replace(seed, threshold=planning_threshold)
        plan_state = replace(state, threshold=planning_threshold)
    else:
        plan_seed, plan_state = seed, state
    failed = failed_assessments(hist, catalog, pass_score=pass_score)
    if failed:  # the answers say otherwise: plan the skill from below the failed level
        p = plan_state.p.copy()
        for s_id, lvl in failed.items():
            j = catalog.skill_ids.index(s_id)
            p[j] = min(p[j], max(0.0, (lvl - 1) / 5.0 * plan_state.threshold))
        plan_state = replace(plan_state, p=p)
    progress = (progress_levels(hist, catalog, plan_seed, pass_score=pass_score, credit=credit)
                if credit_completed else None)
    if progress:
        passed = assessed_levels(hist, catalog, pass_score=pass_score)
        for g in mentee.goals:
            if progress.get(g.skill_id, 0) >= g.level and passed.get(g.skill_id, 0) < g.level:
                progress[g.skill_id] = g.level - 1
    completed = hist.items("complete", "assess")
    if practice_spacing_days is not None:
        completed = np.setdiff1d(completed, practice_due(hist, catalog, now=now, spacing_days=practice_spacing_days))
    mpw = minutes_per_week or mentee.minutes_per_week or DEFAULT_MINUTES_PER_WEEK
    return PlanInputs(state, plan_state, progress, failed, completed, hist.items("dismiss"), mpw)


def plan_from(inputs: PlanInputs, *, mentee: Mentee, catalog: Catalog, scores: NDArray[np.floating],
              freshness: NDArray[np.floating], now: datetime, horizon_weeks: int = 12, max_steps: int = 20,
              prerequisites: bool = True, freshness_threshold: float = 0.5,
              usable: NDArray[np.bool_] | None = None) -> LearningPath:
    """:func:`plan_path` from ``inputs``; ``usable`` (see :func:`plan_path`) when the caller knows it."""
    return plan_path(
        mentee_state=inputs.plan_state, goals=mentee.goals, catalog=catalog, scores=scores, freshness=freshness,
        completed=inputs.completed, dismissed=inputs.dismissed,
        minutes_per_week=inputs.minutes_per_week, horizon_weeks=horizon_weeks, now=now, max_steps=max_steps,
        preferred_types=mentee.preferred_types, prerequisites=prerequisites,
        freshness_threshold=freshness_threshold, remediation=inputs.failed, progress=inputs.progress,
        usable=usable)


def replan(*, model: MasteryModel, mentee: Mentee, events: pd.DataFrame, catalog: Catalog,
           scores: NDArray[np.floating], freshness: NDArray[np.floating], now: datetime,
           horizon_weeks: int = 12, max_steps: int = 20, minutes_per_week: int | None = None,
           prerequisites: bool = True, freshness_threshold: float = 0.5,
           pass_score: float = DEFAULT_PASS_SCORE, credit_completed: bool = True,
           credit: CompletionCredit = DEFAULT_CREDIT, planning_threshold: float | None = PLANNING_THRESHOLD,
           state: MasteryState | None = None,
           practice_spacing_days: float | None = PRACTICE_SPACING_DAYS,
           history: History | None = None) -> tuple[MasteryState, LearningPath]:
    """Rebuild the mentee's state from ``events`` and plan towards their goals.

    Items the mentee completed, assessed or dismissed are excluded; completed work is
    credited with :func:`progress_levels` under ``credit`` (a fraction of a level per
    completion; ``credit_completed=False`` plans from BKT mastery alone). Levels are read
    for planning with ``planning_threshold`` (:data:`PLANNING_THRESHOLD`; ``None`` = the
    model's own bar); the returned state keeps the model's threshold. ``minutes_per_week``
    defaults to the mentee's own, else :data:`DEFAULT_MINUTES_PER_WEEK`. ``state``, when given, is
    the mastery ``model`` reaches from these events at ``now`` (a
    :meth:`recommender.context.MenteeContext.mastery`), so it is not rebuilt.

    Mastery is not taken on trust where the answers disagree: a skill whose latest assessment
    failed at level L is planned from at most level L - 1 (BKT may still read it higher), and
    completed work alone never marks a goal as met: its credit stops one level below the goal
    unless a passed assessment at the goal's level backs it. Practice items (exercises,
    quizzes) done at least ``practice_spacing_days`` ago may be planned again (``None``: never).
    ``history``, when given, is :func:`mentee_history` of these events at ``now`` (not rebuilt).
    """
    x = plan_inputs(model=model, mentee=mentee, events=events, catalog=catalog, now=now,
                    minutes_per_week=minutes_per_week, pass_score=pass_score, credit_completed=credit_completed,
                    credit=credit, planning_threshold=planning_threshold, state=state,
                    practice_spacing_days=practice_spacing_days, history=history)
    path = plan_from(x, mentee=mentee, catalog=catalog, scores=scores, freshness=freshness, now=now,
                     horizon_weeks=horizon_weeks, max_steps=max_steps, prerequisites=prerequisites,
                     freshness_threshold=freshness_threshold)
    return x.state, path
