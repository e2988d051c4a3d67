"""Learning-path planning: which resources, in which order, to reach a mentee's goals.

:func:`plan_path` works in four stages (details and examples in ``docs/paths.md``):

1. **Required skills.** Goals at their levels, plus (transitively) the prerequisites of
   every skill not yet held at its required level, at the levels the graph asks for;
   the highest requirement wins. Skills already held are dropped.
2. **Order.** A topological sort of those skills (prerequisite edges between them),
   breaking ties by a priority queue on the best model score among the skill's
   available resources, so the mentee meets what suits them first.
3. **Resources.** Per skill, from the mentee's current level ``c`` to the target: an
   available resource at level ``c+1`` (or up to ``c+1+max_stretch``), fresh before stale
   (stale only when nothing fresh fits, and then the reasons say so), exact level before
   stretch, preferred types first, then the model score; each step takes the expected
   level to the resource's level. Completed, dismissed, inactive and already-planned
   items are never used; a step must fit the remaining time budget.
4. **Reasons and ETA.** Short true statements in skill terms; the ETA comes from the
   cumulative minutes at ``minutes_per_week`` from ``now``.

A skill that cannot be reached (no material at the next level, out of time, out of
steps, or a prerequisite that cannot be reached) goes to ``unreachable`` with the reason;
in prerequisite mode the skills that depend on it are not planned.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import ConfigError, UnknownSkillError
from catalog.schema import Goal
from recommender.mastery import MasteryState, level_of
from recommender.paths.pools import first_by, skill_tables

__all__ = ["PathStep", "LearningPath", "plan_path", "next_up", "format_age"]

_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True, slots=True)
class PathStep:
    """One resource in a path: which skill it serves, at what level, why, and by when."""

    item_index: int
    item_id: str
    skill_id: str
    level: int
    goal_skill_id: str
    reasons: list[str]
    eta: date
    minutes: int
    remediation: bool = False


@dataclass
class LearningPath:
    """Ordered steps, skills the plan cannot reach (with why), and goals already met."""

    steps: list[PathStep]
    unreachable: list[tuple[str, str]] = field(default_factory=list)
    already_met: list[str] = field(default_factory=list)

    @property
    def total_minutes(self) -> int:
        return sum(s.minutes for s in self.steps)

    def skills(self) -> list[str]:
        """Skills in the order the path first works on them."""
        return list(dict.fromkeys(s.skill_id for s in self.steps))

    def to_frame(self) -> pd.DataFrame:
        """One row per step (for tables and the API)."""
        return pd.DataFrame({
            "step": range(1, len(self.steps) + 1),
            "item_id": [s.item_id for s in self.steps],
            "skill_id": [s.skill_id for s in self.steps],
            "level": [s.level for s in self.steps],
            "goal_skill_id": [s.goal_skill_id for s in self.steps],
            "minutes": [s.minutes for s in self.steps],
            "eta": [s.eta for s in self.steps],
            "remediation": [s.remediation for s in self.steps],
            "reasons": ["; ".join(s.reasons) for s in self.steps],
        })


def next_up(path: LearningPath, n: int = 3) -> list[PathStep]:
    """The first ``n`` steps: what to do now."""
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    return path.steps[:n]


def format_age(days: float) -> str:
    """``"2 years"``, ``"8 months"``, ``"12 days"``: a rounded-down human age."""
    days = max(0.0, float(days))
    for unit, size in (("year", 365.25), ("month", 30.44)):
        if days >= size * (1 if unit == "year" else 2):
            k = int(days // size)
            return f"{k} {unit}{'s' if k != 1 else ''}"
    k = int(days)
    return f"{k} day{'s' if k != 1 else ''}"


def _index_set(x: Collection[int] | NDArray[np.integer] | None, n: int) -> NDArray[np.bool_]:
    mask = np.zeros(n, dtype=bool)
    if x is not None:
        idx = np.asarray(list(x) if isinstance(x, (set, frozenset)) else x, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ConfigError(f"item indices must be in 0..{n - 1}")
        mask[idx] = True
    return mask


def _required_levels(goals: Sequence[Goal], catalog: Catalog, start: Mapping[str, int],
                     prerequisites: bool) -> dict[str, int]:
    """Goals plus unmet prerequisites, transitively, at the highest level asked for."""
    req: dict[str, int] = {}
    for g in goals:
        req[g.skill_id] = max(req.get(g.skill_id, 0), g.level)
    if prerequisites:
        # Reverse topological order: every dependent is final before its prerequisites.
        for s in reversed(catalog.graph.order):
            if s in req and start[s] < req[s]:
                for q in catalog.graph.prereqs[s]:
                    req[q.skill_id] = max(req.get(q.skill_id, 0), q.level)
    return req


def _order(needed: Mapping[str, int], catalog: Catalog, best: Mapping[str, float],
           prerequisites: bool) -> list[str]:
    """Topological order of ``needed`` (prerequisite edges among them), highest best score first."""
    g = catalog.graph
    key = lambda s: (-best[s], g.rank(s), s)  # noqa: E731
    if not prerequisites:
        return sorted(needed, key=key)
    indeg = {s: sum(1 for q in g.prereqs[s] if q.skill_id in needed) for s in needed}
    heap = [(key(s), s) for s, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    out: list[str] = []
    while heap:
        _, s = heapq.heappop(heap)
        out.append(s)
        for d in g.dependents[s]:
            if d in indeg:
                indeg[d] -= 1
                if indeg[d] == 0:
                    heapq.heappush(heap, (key(d), d))
    return out


def _goal_of(goals: Sequence[Goal], needed: Mapping[str, int], catalog: Catalog,
             prerequisites: bool) -> dict[str, str]:
    """The first goal (in the mentee's order) that each needed skill leads to."""
    owner: dict[str, str] = {}
    for g in goals:
        stack = [g.skill_id]
        while stack:
            s = stack.pop()
            if s not in needed or s in owner:
                continue
            owner[s] = g.skill_id
            if prerequisites:
                stack.extend(q.skill_id for q in catalog.graph.prereqs[s])
    return owner


def plan_path(*, mentee_state: MasteryState, goals: Sequence[Goal], catalog: Catalog,
              scores: NDArray[np.floating], freshness: NDArray[np.floating],
              completed: Collection[int] | NDArray[np.integer] = (),
              dismissed: Collection[int] | NDArray[np.integer] = (),
              minutes_per_week: int, horizon_weeks: int, now: datetime, max_steps: int = 20,
              preferred_types: Iterable[str] = (), prerequisites: bool = True,
              freshness_threshold: float = 0.5, remediation: Mapping[str, int] | None = None,
              max_stretch: int = 1, progress: Mapping[str, int] | None = None,
              usable: NDArray[np.bool_] | None = None) -> LearningPath:
    """Plan resources, in order, that take the mentee from ``mentee_state`` to ``goals``.

    Parameters
    ----------
    scores, freshness : arrays over ``catalog.items``
        The model's score for this mentee (NaN = never recommend) and freshness in [0, 1].
    completed, dismissed : item indices never to plan again.
    remediation : skill id -> level of a failed assessment; that skill starts with an
        easier resource (level below the failed one), marked ``remediation=True``.
    prerequisites : False plans the goal skills only (the ablation).
    max_stretch : how many levels above the next one a resource may be.
    progress : skill id -> level reached by completed work (see
        :func:`recommender.paths.replan.progress_levels`); planning starts from the higher of
        it and the mastery level.
    usable : the items that may be planned, when the caller already holds them: exactly
        ``catalog.available_at(now) & ~completed & ~dismissed & ~isnan(scores)`` (a caller
        planning under many filters keeps the unfiltered mask and ANDs each filter in).

    Raises
    ------
    UnknownSkillError
        A goal (or remediation entry) names a skill the catalog does not have.
    ConfigError
        Bad sizes or budgets.
    """
    n = catalog.n_items
    unknown = [g.skill_id for g in goals if g.skill_id not in catalog.skill_ids]
    unknown += [s for s in (*(remediation or {}), *(progress or {})) if s not in catalog.skill_ids]
    if unknown:
        raise UnknownSkillError(unknown, "goals must name skills of the catalog")
    scores = np.asarray(scores, dtype=np.float64)
    fresh = np.asarray(freshness, dtype=np.float64)
    if scores.shape != (n,) or fresh.shape != (n,):
        raise ConfigError(f"scores and freshness need one value per item ({n}), got {scores.shape} and {fresh.shape}")
    if len(mentee_state.p) != catalog.n_skills:
        raise ConfigError("mentee_state was built on a different catalog (skill count differs)")
    if minutes_per_week <= 0 or horizon_weeks <= 0 or max_steps < 0 or max_stretch < 0:
        raise ConfigError("minutes_per_week and horizon_weeks must be positive, max_steps and max_stretch >= 0")
    if now.tzinfo is None:
        raise ConfigError("now must be timezone-aware (UTC)")

    g = catalog.graph
    name = lambda s: g.skills[s].name  # noqa: E731
    lv = np.asarray(level_of(mentee_state.p, mentee_state.threshold))
    start = dict(zip(catalog.skill_ids, lv.tolist()))
    worked = {s: L for s, L in (progress or {}).items() if L > start[s]}
    start.update(worked)
    req = _required_levels(goals, catalog, start, prerequisites)
    needed = {s: lvl for s, lvl in req.items() if start[s] < lvl}
    already_met = [gl.skill_id for gl in goals if start[gl.skill_id] >= gl.level]

    if usable is None:
        usable = catalog.available_at(now) & ~_index_set(completed, n) & ~_index_set(dismissed, n) & ~np.isnan(scores)
    tables = skill_tables(catalog)
    best = dict(zip(needed, tables.best_scores([catalog.skill_ids.index(s) for s in needed], usable, scores).tolist()))

    order = _order(needed, catalog, best, prerequisites)
    owner = _goal_of(goals, needed, catalog, prerequisites)
    goal_level: dict[str, int] = {}
    for gl in goals:
        goal_level.setdefault(gl.skill_id, gl.level)
    prefer = frozenset(preferred_types)
    budget = minutes_per_week * horizon_weeks
    now_us = int(now.timestamp() * 1e6)

    used = np.zeros(n, dtype=bool)
    steps: list[PathStep] = []
    unreachable: list[tuple[str, str]] = []
    reached: dict[str, int] = {}
    credit: dict[str, tuple[int, str]] = {}  # skill -> (level, item title) taught by another skill's step
    cum = 0

    def add(i: int, s: str, level: int, reasons: list[str], remedial: bool) -> None:
        nonlocal cum
        minutes = max(1, int(catalog.duration_minutes[i]))
        cum += minutes
        eta = (now + timedelta(days=7.0 * cum / minutes_per_week)).date()
        used[i] = True
        steps.append(PathStep(int(i), catalog.items.to_ids([i])[0], s, int(level), owner.get(s, s),
                              reasons, eta, minutes, remedial))
        # An item tagged with other needed skills teaches them too (if its level fits there).
        m = catalog.item_skill_levels
        for j2, l2 in zip(m.indices[m.indptr[i]:m.indptr[i + 1]], m.data[m.indptr[i]:m.indptr[i + 1]]):
            s2 = catalog.skill_ids.to_ids([j2])[0]
            if s2 == s or s2 not in needed or s2 in reached:
                continue
            cur = max(start[s2], credit.get(s2, (0, ""))[0])
            if cur < int(l2) <= cur + 1 + max_stretch:
                credit[s2] = (int(l2), catalog.resources[i].title)

    def pick(s: str, pool: NDArray[np.int64], levels: NDArray[np.int64], want: int,
             ) -> tuple[int, int, list[str]] | str:
        """Best item of ``pool`` (closest to level ``want``), or why there is none."""
        fits = tables.minutes[pool] <= budget - cum
        if not fits.any():
            return f"does not fit your time budget ({minutes_per_week} min/week for {horizon_weeks} weeks)"
        is_fresh = fresh[pool] >= freshness_threshold
        sel = fits & is_fresh if (fits & is_fresh).any() else fits
        idx = np.flatnonzero(sel)
        # closest level, then a preferred type, the best score, the shortest, the lowest index
        k = int(idx[first_by(pool[idx], np.abs(levels[idx] - want), catalog, prefer, scores)])
        i = int(pool[k])
        notes: list[str] = []
        if not is_fresh[k]:
            ref_us = catalog.updated_us[i] if catalog.updated_us[i] != _NAT else catalog.published_us[i]
            age = format_age((now_us - ref_us) / 86_400e6)
            notes.append(f"only material available at this level is {age} old" if not is_fresh.any()
                         else f"fresher material does not fit your time budget; this is {age} old")
        if catalog.types[i] in prefer:
            t = catalog.types[i]
            notes.append(f"{'an' if t[:1] in 'aeiou' else 'a'} {t}, as you prefer")
        peers = pool[idx[levels[idx] == levels[k]]]
        if len(peers) > 1 and scores[i] >= scores[peers].max():
            notes.append(f"your best-scored {name(s)} resource at this level")
        return i, int(levels[k]), notes

    for s in order:
        target = needed[s]
        if len(steps) >= max_steps:
            unreachable.append((s, f"beyond the {max_steps}-step limit of this plan"))
            reached[s] = start[s]
            continue
        blockers = [(q.skill_id, q.level) for q in g.prereqs[s]
                    if prerequisites and max(start[q.skill_id], reached.get(q.skill_id, 0)) < q.level]
        if blockers:
            bq, bl = blockers[0]
            unreachable.append((s, f"needs {name(bq)} at level {bl} first, which this plan cannot reach"))
            reached[s] = start[s]
            continue
        head: list[str] = []
        if s in goal_level:
            head.append(f"fits your goal: {name(s)} (level {target})")
        else:
            deps = [d for d in g.dependents[s] if d in needed and any(
                q.skill_id == s and start[s] < q.level for q in g.prereqs[d])]
            deps.sort(key=g.rank)
            if deps:
                head.append("prerequisite of " + " and ".join(name(d) for d in deps[:2]))
            if owner.get(s, s) not in deps:
                head.append(f"leads to your goal: {name(owner.get(s, s))}")
        if prerequisites:
            for q in g.prereqs[s]:
                if start[q.skill_id] >= q.level:
                    qs = q.skill_id
                    head.append(f"you completed {name(qs)} material to level {start[qs]}" if qs in worked
                                else f"you mastered {name(qs)} (level {start[qs]})")
                elif q.skill_id in needed:
                    head.append(f"builds on {name(q.skill_id)}, planned earlier in this path")
        items, levels = tables.of(catalog.skill_ids.index(s))
        ok = usable[items]
        items, levels = items[ok], levels[ok]
        c = start[s]
        if s in credit and credit[s][0] > c:
            c = credit[s][0]
            head.append(f"{credit[s][1]!r}, earlier in this path, also covers {name(s)} level {c}")
        why = ""
        failed = (remediation or {}).get(s)
        if failed is not None:
            ok = ~used[items] & (levels < failed)
            if ok.any():
                got = pick(s, items[ok], levels[ok], min(c + 1, failed - 1))
                if not isinstance(got, str) and len(steps) < max_steps:
                    i, L, notes = got
                    add(i, s, L, [*head, f"review: easier {name(s)} material (level {L}) after your failed "
                                         f"level-{failed} assessment", *notes], True)
                    head = []
                    if L <= c + 1 + max_stretch:
                        c = max(c, L)
        while c < target:
            if len(steps) >= max_steps:
                why = f"beyond the {max_steps}-step limit of this plan"
                break
            ok = ~used[items] & (levels > c) & (levels <= c + 1 + max_stretch)
            if not ok.any():
                why = f"no available {name(s)} resource at level {c + 1}"
                break
            got = pick(s, items[ok], levels[ok], c + 1)
            if isinstance(got, str):
                why = got
                break
            i, L, notes = got
            if c == 0:
                lvl_note = f"starts you on {name(s)} at level {L}"
            elif L == c + 1:
                lvl_note = f"next level up: {name(s)} level {L} (you are at level {c})"
            else:
                lvl_note = f"a stretch: {name(s)} level {L} (you are at level {c})"
            add(i, s, L, [*head, lvl_note, *notes], False)
            head = []
            c = L
        reached[s] = c
        if c < target:
            unreachable.append((s, f"{why} (plan reaches level {c} of {target})"))
    return LearningPath(steps, unreachable, already_met)
