"""What a mentee needs next: ordered skill targets with an urgency weight.

Matching does not depend on how a learning path is planned. Its input is a list of
:class:`Need` (skill, target level, urgency), soonest first. Two ways to get one:

- :func:`needs_from_goals` works today from a mentee's goals and the prerequisite graph:
  each goal's unmet transitive prerequisites (prerequisites first), then the goal, goals
  with the earliest deadline first; current levels come from a mastery map if given,
  else from the mentee's self-assessed levels.
- :func:`needs_from_steps` takes the steps of any planned path (objects with
  ``.skill_id`` and ``.level``, in order), such as ``recommender.paths.planner`` produces.

Urgency decays with position: ``urgency = 0.5 ** (position / half_life)``, so the next
step weighs 1 and a step ``half_life`` places later weighs 0.5.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from weakref import WeakKeyDictionary

from catalog.graph import SkillGraph
from catalog.schema import Mentee, check_level

__all__ = ["Need", "StepLike", "DEFAULT_HALF_LIFE", "needs_from_goals", "needs_from_steps", "urgency_at"]

DEFAULT_HALF_LIFE = 3.0  # steps until a need weighs half as much as the next one

# Per graph (a graph does not change once built): skill -> its ancestors then itself, in
# topological order. Weak keys, so a dropped graph takes its cache with it.
_CHAINS: WeakKeyDictionary[SkillGraph, dict[str, tuple[str, ...]]] = WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class Need:
    """A skill the mentee should reach ``level`` in; ``urgency`` > 0, larger = sooner."""

    skill_id: str
    level: int
    urgency: float = 1.0

    def __post_init__(self) -> None:
        check_level(self.level)
        if not self.urgency > 0:
            raise ValueError(f"need {self.skill_id!r}: urgency must be > 0, got {self.urgency!r}")


class StepLike(Protocol):
    skill_id: str
    level: int


def urgency_at(position: int, half_life: float = DEFAULT_HALF_LIFE) -> float:
    """Urgency of the step at ``position`` (0 = next): halves every ``half_life`` steps."""
    if not half_life > 0:
        raise ValueError(f"half_life must be > 0, got {half_life!r}")
    return float(0.5 ** (position / half_life))


def needs_from_steps(steps: Iterable[StepLike], *, half_life: float = DEFAULT_HALF_LIFE) -> list[Need]:
    """Needs from the ordered steps of a learning path (any objects with skill_id and level).

    A skill listed twice keeps its first position and its highest level.
    """
    order: list[str] = []
    level: dict[str, int] = {}
    for step in steps:
        sid, lvl = str(step.skill_id), int(step.level)
        if sid not in level:
            order.append(sid)
            level[sid] = lvl
        else:
            level[sid] = max(level[sid], lvl)
    return [Need(s, level[s], urgency_at(i, half_life)) for i, s in enumerate(order)]


def needs_from_goals(mentee: Mentee, graph: SkillGraph, mastery: Mapping[str, float] | None = None, *,
                     half_life: float = DEFAULT_HALF_LIFE) -> list[Need]:
    """The mentee's unmet goals and their unmet transitive prerequisites, soonest first.

    Parameters
    ----------
    mentee : Mentee
        Goals (skill, level, optional deadline) and self-assessed levels.
    graph : SkillGraph
        Prerequisites; a prerequisite is needed at the highest level any needed skill
        requires of it.
    mastery : mapping skill_id -> level (0-5), optional
        Current levels, e.g. estimated from activity (mastery in [0, 1] times 5). When
        given it replaces the self-assessed levels; skills absent from it count as 0.

    Goals are taken earliest deadline first (no deadline last, then in the order given);
    each goal contributes its unmet prerequisites in topological order, then itself.

    Raises
    ------
    UnknownSkillError
        A goal names a skill that is not in the graph.
    """
    current: Mapping[str, float] = (
        mastery if mastery is not None else {s.skill_id: s.level for s in mentee.self_levels}
    )
    goals = sorted(enumerate(mentee.goals),
                   key=lambda ig: (ig[1].deadline is None, ig[1].deadline or date.min, ig[0]))
    required = _required_levels(graph, [(g.skill_id, g.level) for _, g in goals], current)
    steps: list[tuple[str, int]] = []
    seen: set[str] = set()
    for _, goal in goals:
        for sid in _chain(graph, goal.skill_id):
            if sid in seen or sid not in required or float(current.get(sid, 0)) >= required[sid]:
                continue
            seen.add(sid)
            steps.append((sid, required[sid]))
    return [Need(s, lvl, urgency_at(i, half_life)) for i, (s, lvl) in enumerate(steps)]


def _chain(graph: SkillGraph, skill_id: str) -> tuple[str, ...]:
    """``skill_id``'s transitive prerequisites in topological order, then ``skill_id``."""
    cache = _CHAINS.setdefault(graph, {})
    chain = cache.get(skill_id)
    if chain is None:
        chain = (*sorted(graph.ancestors(skill_id), key=graph.rank), skill_id)
        cache[skill_id] = chain
    return chain


def _required_levels(graph: SkillGraph, goals: Sequence[tuple[str, int]],
                     current: Mapping[str, float]) -> dict[str, int]:
    """Highest level each goal skill or transitive prerequisite is required at.

    Only unmet skills pass requirements down: a goal already reached needs nothing below it.
    """
    req: dict[str, int] = {}
    for sid, lvl in goals:
        graph[sid]  # raises UnknownSkillError with the id
        req[sid] = max(req.get(sid, 0), lvl)
    # Dependents come after their prerequisites in graph.order: walk the goals' chains
    # backwards in that order so a skill's requirement is final before it is pushed down.
    involved = {s for sid, _ in goals for s in _chain(graph, sid)}
    for sid in sorted(involved, key=graph.rank, reverse=True):
        if sid not in req or float(current.get(sid, 0)) >= req[sid]:
            continue
        for p in graph.prereqs[sid]:
            req[p.skill_id] = max(req.get(p.skill_id, 0), p.level)
    return req
