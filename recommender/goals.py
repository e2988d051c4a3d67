"""A mentee's goals as requests give them, resolved against the catalog, and the profile row models read.

One rule for the service, the CLI and the planner: a goal without a level takes the
mentee's stored level for that skill, else :data:`DEFAULT_GOAL_LEVEL`; every unknown skill
is named in one :class:`UnknownSkillError`; levels are 1-5. The profile row
``[goal levels | self levels]`` over skills is what content and skill-feature models fold
in; a goal there is always at least one level above where the mentee stands, because a
goal at or below their own level would describe nothing left to learn.
"""

from __future__ import annotations

import json

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import ConfigError, UnknownSkillError
from catalog.schema import DEFAULT_PREREQ_LEVEL, MAX_LEVEL, MIN_LEVEL, Goal, Mentee

__all__ = ["DEFAULT_GOAL_LEVEL", "GoalSpec", "parse_goal_spec", "stated_goals", "requested_goals", "resolve_goals",
           "goal_indices", "profile_row"]

DEFAULT_GOAL_LEVEL = DEFAULT_PREREQ_LEVEL  # "working knowledge" when a goal names no level

# A goal as a request gives it: (skill, level) or (skill, None) = "the mentee's level, else 3".
GoalSpec = tuple[str, int | None]


def parse_goal_spec(text: str) -> GoalSpec:
    """``"ml:4"`` -> ``("ml", 4)``; ``"ml"`` -> ``("ml", None)``; the HTTP form ``{"skill": "ml", "level": 4}``
    too (and a ``@deadline`` suffix is ignored here). ConfigError on a bad level."""
    text = text.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            raise ConfigError(f"goal {text!r}: not JSON; give SKILL:LEVEL or {{\"skill\": ..., \"level\": ...}}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("skill"), str):
            raise ConfigError(f"goal {text!r}: an object needs \"skill\" (and optionally \"level\")")
        lvl = obj.get("level")
        return obj["skill"].strip(), None if lvl is None else _check_goal_level(obj["skill"], lvl)
    text = text.partition("@")[0]
    skill, sep, level = text.strip().partition(":")
    skill = skill.strip()
    if not skill:
        raise ConfigError(f"goal {text!r}: give SKILL or SKILL:LEVEL, e.g. ml:4")
    if not sep:
        return skill, None
    try:
        lv = int(level)
    except ValueError:
        raise ConfigError(f"goal {text!r}: level {level!r} is not a whole number {MIN_LEVEL}-{MAX_LEVEL}") from None
    return skill, _check_goal_level(skill, lv)


def _check_goal_level(skill: str, level: int) -> int:
    if isinstance(level, bool) or not MIN_LEVEL <= int(level) <= MAX_LEVEL:
        raise ConfigError(f"goal {skill}: level {level!r} must be {MIN_LEVEL}-{MAX_LEVEL}")
    return int(level)


def stated_goals(mentee: Mentee, catalog: Catalog) -> tuple[Goal, ...]:
    """The mentee's stored goals on skills the catalog knows (possibly none)."""
    return tuple(g for g in mentee.goals if g.skill_id in catalog.skill_ids)


def requested_goals(mentee: Mentee, catalog: Catalog, goals: Iterable[GoalSpec | Goal]) -> tuple[Goal, ...]:
    """``goals`` validated, levels and deadlines filled from the mentee's stored goals.

    Raises one :class:`UnknownSkillError` naming every unknown skill, a :class:`ConfigError`
    for a level outside 1-5 or an empty list.
    """
    specs = [(g.skill_id, g.level) if isinstance(g, Goal) else (str(g[0]), g[1]) for g in goals]
    if not specs:
        raise ConfigError("an explicit goal list must name at least one skill")
    unknown = list(dict.fromkeys(s for s, _ in specs if s not in catalog.skill_ids))
    if unknown:
        raise UnknownSkillError(unknown, "see `skillpath skills show SKILL_ID` or the skills file")
    stored = {g.skill_id: g for g in mentee.goals}
    out: list[Goal] = []
    for skill, level in specs:
        if level is None:
            lv = stored[skill].level if skill in stored else DEFAULT_GOAL_LEVEL
        else:
            lv = _check_goal_level(skill, level)
        out.append(Goal(skill, lv, stored[skill].deadline if skill in stored else None))
    return tuple(out)


def resolve_goals(mentee: Mentee, catalog: Catalog,
                  goals: Iterable[GoalSpec | Goal] | None = None) -> tuple[Goal, ...]:
    """The goals to plan for: the mentee's stored goals, or ``goals`` validated (:func:`requested_goals`).

    A mentee with no goals and none given is a :class:`ConfigError`: there is nothing to plan for.
    """
    if goals is not None:
        return requested_goals(mentee, catalog, goals)
    out = stated_goals(mentee, catalog)
    if not out:
        raise ConfigError(f"mentee {mentee.user_id!r} has no goals; pass goals explicitly (SKILL:LEVEL)")
    return out


def goal_indices(catalog: Catalog, goals: Sequence[Goal]) -> NDArray[np.int64]:
    """Skill indices of ``goals`` (catalog skills only), first occurrence of each, in order."""
    idx = catalog.skill_ids.indices(list(dict.fromkeys(g.skill_id for g in goals)), missing="-1")
    return idx[idx >= 0]


def profile_row(catalog: Catalog, mentee: Mentee | None, goals: Sequence[Goal]) -> NDArray[np.float32]:
    """``[goal levels | self levels]`` over ``catalog.skill_ids``, as content and skill-feature models take it."""
    n = catalog.n_skills
    row = np.zeros(2 * n, np.float32)
    for sl in () if mentee is None else mentee.self_levels:
        j = catalog.skill_ids.get(sl.skill_id)
        if j >= 0:
            row[n + j] = sl.level
    for g in goals:
        j = catalog.skill_ids.get(g.skill_id)
        if j >= 0:
            row[j] = min(max(g.level, row[n + j] + 1), MAX_LEVEL)
    return row
