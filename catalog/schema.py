"""Data contracts: skills, resources, mentees, mentors and events.

Entities are small frozen dataclasses; events, which come by the hundred thousand, live
in a pandas DataFrame with the columns of :data:`EVENT_COLUMNS`. The text encodings
used in CSV cells are parsed here, once, for every loader:

- skill levels: ``"python:3;sql:2"`` (level optional where a default applies);
- goals: ``"llm-apps:4@2027-03-01;sql:3"`` (deadline optional);
- lists: ``"video;article"``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import pandas as pd

__all__ = [
    "ID_PATTERN",
    "EVENT_TYPES",
    "RESOURCE_TYPES",
    "EVENT_COLUMNS",
    "MIN_LEVEL",
    "MAX_LEVEL",
    "DEFAULT_PREREQ_LEVEL",
    "SkillLevel",
    "Goal",
    "Skill",
    "Resource",
    "Mentee",
    "Mentor",
    "check_id",
    "check_level",
    "parse_levels",
    "parse_goals",
    "parse_list",
    "parse_timestamp",
    "MIN_PUBLICATION_YEAR",
    "format_levels",
    "format_goals",
    "empty_events",
]

ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
# Ids inside "skill:level" cells cannot contain ':' or ';' (they are the separators).
_SKILL_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")

EVENT_TYPES: tuple[str, ...] = (
    "impression", "view", "start", "complete", "like", "bookmark", "dismiss", "assess",
)
RESOURCE_TYPES: tuple[str, ...] = (
    "article", "video", "course", "exercise", "project", "book", "tutorial",
    "podcast", "quiz", "documentation", "forum", "other",
)
MIN_LEVEL, MAX_LEVEL = 1, 5
DEFAULT_PREREQ_LEVEL = 3  # "working knowledge" unless the skill file says otherwise

EVENT_COLUMNS: tuple[str, ...] = (
    "event_id", "user_id", "item_id", "event_type", "value", "timestamp", "source",
)


@dataclass(frozen=True, slots=True)
class SkillLevel:
    skill_id: str
    level: int


@dataclass(frozen=True, slots=True)
class Goal:
    skill_id: str
    level: int
    deadline: date | None = None


@dataclass(frozen=True, slots=True)
class Skill:
    """A skill in the graph. ``half_life_days=None`` means evergreen.

    ``aliases`` are other names people use for it ("k8s", "golang"): text analysis
    (session notes, the assistant) matches them as it matches the name.
    """

    skill_id: str
    name: str
    domain: str = ""
    half_life_days: float | None = None
    prerequisites: tuple[SkillLevel, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Resource:
    """A learning resource (a catalog item) teaching one or more skills."""

    item_id: str
    title: str
    type: str
    skills: tuple[SkillLevel, ...]
    published_at: datetime
    url: str = ""
    difficulty: int = 3
    duration_minutes: int = 30
    updated_at: datetime | None = None
    half_life_days: float | None = None
    provider: str = ""
    language: str = "en"
    active: bool = True


@dataclass(frozen=True, slots=True)
class Mentee:
    user_id: str
    goals: tuple[Goal, ...] = ()
    self_levels: tuple[SkillLevel, ...] = ()
    preferred_types: tuple[str, ...] = ()
    minutes_per_week: int | None = None
    language: str = ""
    timezone: int | None = None  # UTC offset in hours


@dataclass(frozen=True, slots=True)
class Mentor:
    mentor_id: str
    name: str = ""
    skills: tuple[SkillLevel, ...] = ()
    capacity: int = 1
    availability_hours: float = 2.0  # hours per week
    language: str = ""
    timezone: int | None = None
    formats: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------- cell parsers
# Each parser raises ValueError with a short reason; loaders attach line and column.


def check_id(value: object, what: str = "id") -> str:
    s = "" if value is None else str(value).strip()
    if not ID_PATTERN.match(s):
        raise ValueError(f"{what} {s!r} must be 1-128 characters of A-Z a-z 0-9 _ . : @ -")
    return s


def check_level(value: object) -> int:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"level {value!r} is not a number") from None
    if not f.is_integer() or not MIN_LEVEL <= f <= MAX_LEVEL:
        raise ValueError(f"level {value!r} out of range {MIN_LEVEL}-{MAX_LEVEL}")
    return int(f)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def parse_list(value: object) -> tuple[str, ...]:
    """``"a;b"`` or a list -> ``("a", "b")``; missing -> ``()``."""
    if _is_missing(value):
        return ()
    if isinstance(value, str):
        parts = value.split(";")
    else:
        parts = [str(v) for v in value]  # type: ignore[union-attr]
    return tuple(p.strip() for p in parts if p.strip())


def parse_levels(value: object, *, default_level: int | None = None) -> tuple[SkillLevel, ...]:
    """Parse ``"python:3;sql:2"`` (or a list of such strings or of dicts).

    ``default_level`` applies when a part has no ``:level``; without it the level is
    required. Duplicate skills are an error.
    """
    out: list[SkillLevel] = []
    for part in _parts(value):
        if isinstance(part, dict):
            sid, lvl = part.get("skill_id", part.get("skill")), part.get("level", default_level)
        else:
            sid, _, lvl_s = str(part).partition(":")
            lvl = lvl_s if lvl_s.strip() else default_level
        sid = str(sid or "").strip()
        if not _SKILL_ID_PATTERN.match(sid):
            raise ValueError(f"skill id {sid!r} is not valid (1-128 of A-Z a-z 0-9 _ . @ -)")
        if lvl is None:
            raise ValueError(f"skill {sid!r} needs a level, as {sid}:3")
        out.append(SkillLevel(sid, check_level(lvl)))
    seen: set[str] = set()
    for sl in out:
        if sl.skill_id in seen:
            raise ValueError(f"skill {sl.skill_id!r} listed twice")
        seen.add(sl.skill_id)
    return tuple(out)


def parse_goals(value: object) -> tuple[Goal, ...]:
    """Parse ``"llm-apps:4@2027-03-01;sql:3"`` (or a list of strings or dicts)."""
    goals: list[Goal] = []
    for part in _parts(value):
        if isinstance(part, dict):
            sid = str(part.get("skill_id", part.get("skill", ""))).strip()
            lvl, dl = part.get("level"), part.get("deadline")
        else:
            head, _, dl = str(part).partition("@")
            sid, _, lvl = head.partition(":")
            sid = sid.strip()
        if not _SKILL_ID_PATTERN.match(sid):
            raise ValueError(f"goal skill id {sid!r} is not valid")
        if lvl is None or str(lvl).strip() == "":
            raise ValueError(f"goal {sid!r} needs a target level, as {sid}:4")
        deadline = None
        if not _is_missing(dl):
            try:
                deadline = date.fromisoformat(str(dl).strip()[:10])
            except ValueError:
                raise ValueError(f"goal deadline {dl!r} is not a date (YYYY-MM-DD)") from None
        goals.append(Goal(sid, check_level(lvl), deadline))
    return tuple(goals)


MAX_YEAR = 2200
#: Earliest year of a publication date (a classic book); event times start at 1970.
MIN_PUBLICATION_YEAR = 1000


def parse_timestamp(value: object, *, min_year: int = 1970) -> datetime:
    """Parse an ISO-8601 date or datetime into an aware UTC datetime in ``min_year``-2200.

    Naive values are taken as UTC. Raises ValueError with a readable reason (an
    out-of-range date names the range).
    """
    if _is_missing(value):
        raise ValueError("missing date")
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, pd.Timestamp):
        ts = value.to_pydatetime()
    elif isinstance(value, date):
        ts = datetime(value.year, value.month, value.day)
    else:
        s = str(value).strip()
        try:
            ts = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"bad date {s!r} (expected ISO-8601, e.g. 2025-03-01 or 2025-03-01T12:00:00Z)") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    ts = ts.astimezone(timezone.utc)
    if not min_year <= ts.year <= MAX_YEAR:
        raise ValueError(f"date {str(value)!r} is out of range: years {min_year}-{MAX_YEAR}")
    return ts


def format_levels(levels: tuple[SkillLevel, ...]) -> str:
    return ";".join(f"{s.skill_id}:{s.level}" for s in levels)


def format_goals(goals: tuple[Goal, ...]) -> str:
    return ";".join(
        f"{g.skill_id}:{g.level}" + (f"@{g.deadline.isoformat()}" if g.deadline else "") for g in goals
    )


def empty_events() -> pd.DataFrame:
    """An empty events frame with the canonical dtypes."""
    return pd.DataFrame(
        {
            "event_id": pd.Series(dtype=object),
            "user_id": pd.Series(dtype=object),
            "item_id": pd.Series(dtype=object),
            "event_type": pd.Series(dtype=object),
            "value": pd.Series(dtype="float64"),
            "timestamp": pd.Series(dtype="datetime64[us, UTC]"),
            "source": pd.Series(dtype=object),
        }
    )


def _parts(value: object) -> list[object]:
    if _is_missing(value):
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(";") if p.strip()]
    if isinstance(value, dict):
        return [value]
    return [p for p in value]  # type: ignore[union-attr]
