"""The facts an answer may use, as the caller fetched them: resources, path steps, mentors, skills, progress.

Every card is a frozen dataclass of plain values with an id, filled by a thin adapter from
what the REST endpoints already return (``RecommendedItem``, ``PathStepOut``,
``RankedMentorOut``, ``SkillResponse``, the stale report...). The composer states only
what these cards hold, so an answer can never name an item, a mentor or a number that
the adapter did not fetch. ``to_dict`` gives the JSON card of the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Union

from catalog.catalog import Catalog

__all__ = [
    "ResourceCard", "StepCard", "MentorCard", "SkillRef", "SkillCard", "GoalProgress", "ProgressCard", "GoalCard",
    "Card", "Facts", "card_dict", "resource_card",
]


@dataclass(frozen=True, slots=True)
class ResourceCard:
    """A catalog resource. ``reasons`` are true statements from the recommender (``RecommendedItem.reasons``);
    ``freshness``/``updated``/``stale`` come from the freshness report (stale questions)."""

    item_id: str
    title: str
    type: str
    minutes: int
    url: str = ""
    skills: tuple[str, ...] = ()
    level: int | None = None
    provider: str = ""
    language: str = ""
    reasons: tuple[str, ...] = ()
    updated: date | None = None
    freshness: float | None = None
    stale: bool | None = None


@dataclass(frozen=True, slots=True)
class StepCard:
    """One step of a learning path (``PathStepOut``): do ``item_id`` to reach ``skill`` at ``level`` by ``eta``."""

    step: int
    item_id: str
    title: str
    type: str
    minutes: int
    skill_id: str
    skill_name: str
    level: int
    eta: date | None = None
    reasons: tuple[str, ...] = ()
    mentor_id: str | None = None
    mentor_name: str | None = None


@dataclass(frozen=True, slots=True)
class MentorCard:
    """A mentor who can help (``RankedMentorOut`` or a skill filter over the mentors file)."""

    mentor_id: str
    name: str
    skills: tuple[str, ...] = ()
    free_places: int | None = None
    assigned: bool = False
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SkillRef:
    skill_id: str
    name: str
    level: int


@dataclass(frozen=True, slots=True)
class SkillCard:
    """A skill of the graph (``SkillResponse``): what it needs, what builds on it, how much teaches it."""

    skill_id: str
    name: str
    domain: str = ""
    prerequisites: tuple[SkillRef, ...] = ()
    dependents: tuple[SkillRef, ...] = ()
    resources: int | None = None


@dataclass(frozen=True, slots=True)
class GoalProgress:
    """Where the mentee stands on one goal: estimated ``level`` (0-5) and ``mastery`` (0-1) if known."""

    skill_id: str
    name: str
    target_level: int
    level: float | None = None
    mastery: float | None = None
    met: bool = False
    deadline: date | None = None
    eta: date | None = None


@dataclass(frozen=True, slots=True)
class ProgressCard:
    """The mentee's progress: per-goal standing and counts from the event log."""

    goals: tuple[GoalProgress, ...] = ()
    completed: int | None = None
    started: int | None = None


@dataclass(frozen=True, slots=True)
class GoalCard:
    """A goal to set (proposed, awaiting "yes") or set (``saved``: the platform API wrote it)."""

    skill_id: str
    name: str
    level: int
    deadline: date | None = None
    saved: bool = False


Card = Union[ResourceCard, StepCard, MentorCard, SkillCard, ProgressCard, GoalCard]
_KIND = {ResourceCard: "resource", StepCard: "step", MentorCard: "mentor", SkillCard: "skill",
         ProgressCard: "progress", GoalCard: "goal"}


def _plain(v: Any) -> Any:
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def card_dict(card: Card) -> dict[str, Any]:
    """``{"kind": ..., <fields>}``, JSON-safe."""
    return {"kind": _KIND[type(card)], **_plain(asdict(card))}


@dataclass(frozen=True)
class Facts:
    """Everything the caller fetched for one answer. Empty fields mean "nothing found".

    ``names`` maps skill ids the message mentioned to their names, to echo the question
    back ("no videos on Kubernetes"); ``unreachable`` holds ``(skill name, reason)`` of
    path goals the plan cannot finish; ``total_steps``/``total_minutes`` describe the
    whole path when ``steps`` holds its first few.
    """

    resources: tuple[ResourceCard, ...] = ()
    steps: tuple[StepCard, ...] = ()
    mentors: tuple[MentorCard, ...] = ()
    skills: tuple[SkillCard, ...] = ()
    progress: ProgressCard | None = None
    goal: GoalCard | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    unreachable: tuple[tuple[str, str], ...] = ()
    total_steps: int | None = None
    total_minutes: int | None = None


def resource_card(catalog: Catalog, item_id: str, *, reasons: tuple[str, ...] = (), freshness: float | None = None,
                  stale: bool | None = None) -> ResourceCard:
    """The card of one catalog resource: its own fields, skill names with levels, last update."""
    r = catalog.resource(item_id)
    skills = tuple(f"{catalog.skills[sl.skill_id].name} (level {sl.level})" for sl in r.skills)
    when = r.updated_at or r.published_at
    return ResourceCard(r.item_id, r.title, r.type, int(r.duration_minutes), r.url, skills, int(r.difficulty),
                        r.provider, r.language, tuple(reasons), when.date() if when else None, freshness, stale)
