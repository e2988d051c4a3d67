"""Typed inputs the monitor takes from elsewhere: plans, mentor contact and candidates.

The monitor computes nothing that belongs to another module: the learning path, the
mastery model, mentor matching and session records are passed in, so the monitor stays
pure and the caller decides which version of each to trust.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from catalog.errors import ConfigError
from catalog.schema import SkillLevel

__all__ = [
    "PlanStep", "MentorContact", "ResourceOption", "MentorOption", "Candidates", "to_us", "from_us",
    "date_end_us", "session_marks", "marks_by_pair",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_us(ts: datetime) -> int:
    """A timezone-aware datetime as integer microseconds since the epoch (UTC)."""
    if ts.tzinfo is None:
        raise ConfigError(f"timestamp {ts.isoformat()} has no timezone; pass UTC datetimes")
    d = ts - _EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def from_us(us: int) -> datetime:
    """Integer microseconds since the epoch as a UTC datetime."""
    return _EPOCH + timedelta(microseconds=us)


def date_end_us(d: date) -> int:
    """The end of a calendar day (UTC), in microseconds: a deadline holds all day."""
    return to_us(datetime(d.year, d.month, d.day, tzinfo=timezone.utc)) + 86_400_000_000


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One step of the mentee's planned path: study ``item_id`` (for ``skill_id``), planned at a time."""

    item_id: str
    skill_id: str
    planned_at: datetime
    title: str = ""
    duration_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class MentorContact:
    """The mentee's assigned mentor, when the assignment began, and the pair's recorded sessions.

    ``skills`` are the mentor's skills (levels) so the monitor can tell whether the
    mentor still covers the skill the mentee struggles with. ``session_us`` are the
    start times (UTC microseconds, ascending) of the sessions recorded with this mentor
    and ``session_ratings`` the mentee's 1-5 rating of each (NaN when not given), as
    :func:`session_marks` builds them: the *whole* record may be passed, because a
    status at ``at`` reads only the sessions started at or before ``at`` (point in time).
    ``last_session_at`` is a single known session (kept for callers without a record).
    """

    mentor_id: str
    assigned_at: datetime
    last_session_at: datetime | None = None
    skills: tuple[SkillLevel, ...] = ()
    name: str = ""
    session_us: tuple[int, ...] = ()
    session_ratings: tuple[float, ...] = ()

    def covers(self, skill_id: str, level: int = 1) -> bool:
        return any(s.skill_id == skill_id and s.level >= level for s in self.skills)


def session_marks(sessions: Iterable[tuple[datetime | int, float | None]]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """``(start, mentee rating or None)`` pairs as the sorted ``session_us`` and aligned ``session_ratings``."""
    rows = sorted((x if isinstance(x, int) else to_us(x), math.nan if r is None else float(r)) for x, r in sessions)
    return tuple(t for t, _ in rows), tuple(r for _, r in rows)


def marks_by_pair(rows: Iterable[tuple[str, str, datetime | int, float | None]],
                  ) -> dict[tuple[str, str], tuple[tuple[int, ...], tuple[float, ...]]]:
    """``(mentee_id, mentor_id, start, mentee rating)`` rows grouped as :func:`session_marks` per (mentee, mentor)."""
    grouped: dict[tuple[str, str], list[tuple[datetime | int, float | None]]] = {}
    for mentee, mentor, start, rating in rows:
        grouped.setdefault((mentee, mentor), []).append((start, rating))
    return {k: session_marks(v) for k, v in grouped.items()}


@dataclass(frozen=True, slots=True)
class ResourceOption:
    """A candidate resource for an intervention (for example a shorter one on the same skill)."""

    item_id: str
    skill_id: str
    title: str = ""
    duration_minutes: int | None = None
    level: int | None = None


@dataclass(frozen=True, slots=True)
class MentorOption:
    """A candidate mentor for a re-match."""

    mentor_id: str
    name: str = ""
    skills: tuple[SkillLevel, ...] = ()


@dataclass(frozen=True, slots=True)
class Candidates:
    """What the caller can offer one mentee: the next path step, resources by skill, a new mentor."""

    next_step: PlanStep | None = None
    resources: Mapping[str, ResourceOption] = field(default_factory=dict)
    rematch: MentorOption | None = None
