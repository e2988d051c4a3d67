"""Import any platform's data: a catalog table and an events table in, a World and events out.

Lenient where a sensible default exists, strict where a guess would corrupt data:

- catalog: only ``item_id`` is required. ``title`` defaults to the id, ``type`` to
  ``other``, ``difficulty`` to 3, ``duration_minutes`` to 30, ``language`` to ``en``,
  ``active`` to true and ``published_at`` to :data:`DEFAULT_PUBLISHED_AT` (1970-01-01: "no
  date known", which freshness reads as old). ``skills`` (``python:2;sql``) may omit a
  level (the item's difficulty is used) and may name skills nobody defined: they are
  created, evergreen. An item with no skills at all teaches :data:`FALLBACK_SKILL`
  (``general``) at its difficulty, because every resource must teach something.
- events: see :mod:`catalog.import_events` (re-exported here).

Every bad row is reported with its line (header = line 1) in one
:class:`~catalog.errors.DataValidationError`; nothing is half-imported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from catalog.catalog import World
from catalog.errors import DataValidationError, RowError
from catalog.import_events import import_events, mentees_from_events
from catalog.schema import (
    DEFAULT_PREREQ_LEVEL, RESOURCE_TYPES, Resource, Skill, SkillLevel, check_id, check_level,
    parse_levels, parse_timestamp,
)
from catalog.tables import parse_bool

__all__ = [
    "DEFAULT_PUBLISHED_AT",
    "FALLBACK_SKILL",
    "CATALOG_COLUMNS",
    "SKILLS_COLUMNS",
    "ImportedWorld",
    "import_skills",
    "import_catalog",
    "import_events",
    "mentees_from_events",
    "import_world",
]

DEFAULT_PUBLISHED_AT = datetime(1970, 1, 1, tzinfo=timezone.utc)
FALLBACK_SKILL = "general"
CATALOG_COLUMNS = ("item_id", "title", "url", "type", "skills", "difficulty", "duration_minutes",
                   "published_at", "updated_at", "half_life_days", "provider", "language", "active")
SKILLS_COLUMNS = ("skill_id", "name", "domain", "half_life_days", "prerequisites")


@dataclass
class ImportedWorld:
    """An imported world, its validated events, and what the import did (``info``)."""

    world: World
    events: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.columns = [str(c).strip().lower() for c in out.columns]
    return out


def _missing(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


def _text(v: object, default: str = "") -> str:
    return default if _missing(v) else str(v).strip()


def _require(df: pd.DataFrame, column: str, source: str) -> None:
    if column not in df.columns:
        have = ", ".join(map(str, df.columns)) or "none"
        raise DataValidationError([RowError(1, column, f"required column missing (columns: {have})", source)],
                                  source=source)


def import_skills(df: pd.DataFrame, *, source: str = "skills", first_line: int = 2) -> list[Skill]:
    """Skills from a table with ``skill_id`` and optional ``name, domain, half_life_days,
    prerequisites`` (``python:3;sql``; a prerequisite without a level requires level 3)."""
    df = _normalise(df)
    _require(df, "skill_id", source)
    errors: list[RowError] = []
    skills: list[Skill] = []
    seen: dict[str, int] = {}
    for pos, row in enumerate(df.to_dict("records")):
        line = first_line + pos
        try:
            sid = check_id(row.get("skill_id"), "skill id")
            if ":" in sid:
                raise ValueError(f"skill id {sid!r} may not contain ':'")
        except ValueError as e:
            errors.append(RowError(line, "skill_id", str(e), source))
            continue
        if sid in seen:
            errors.append(RowError(line, "skill_id", f"duplicate of line {seen[sid]}", source))
            continue
        seen[sid] = line
        col = "half_life_days"
        try:
            hl = _positive_float(row.get(col))
            col = "prerequisites"
            prereqs = parse_levels(row.get(col), default_level=DEFAULT_PREREQ_LEVEL)
        except ValueError as e:
            errors.append(RowError(line, col, str(e), source))
            continue
        skills.append(Skill(sid, _text(row.get("name"), sid), _text(row.get("domain")), hl, prereqs))
    if errors:
        raise DataValidationError(errors, source=source)
    return skills


def import_catalog(df: pd.DataFrame, *, skills: Sequence[Skill] = (),
                   default_published_at: datetime = DEFAULT_PUBLISHED_AT, source: str = "catalog",
                   first_line: int = 2) -> tuple[list[Skill], list[Resource]]:
    """Resources from a table where only ``item_id`` is required (defaults in the module doc).

    Returns ``(skills, resources)``: ``skills`` is the given ones followed by those the
    ``skills`` column names for the first time (evergreen; named by their id), plus
    :data:`FALLBACK_SKILL` if some item teaches nothing else.
    """
    df = _normalise(df)
    _require(df, "item_id", source)
    errors: list[RowError] = []
    resources: list[Resource] = []
    seen: dict[str, int] = {}
    for pos, row in enumerate(df.to_dict("records")):
        line = first_line + pos
        try:
            item_id = check_id(row.get("item_id"), "item id")
        except ValueError as e:
            errors.append(RowError(line, "item_id", str(e), source))
            continue
        if item_id in seen:
            errors.append(RowError(line, "item_id", f"{item_id!r} duplicates line {seen[item_id]}", source))
            continue
        seen[item_id] = line
        try:
            resources.append(_resource(item_id, row, default_published_at))
        except _CellError as e:
            errors.append(RowError(line, e.column, e.reason, source))
    if errors:
        raise DataValidationError(errors, source=source)
    out_skills = list(skills)
    known = {s.skill_id for s in out_skills}
    for r in resources:
        for sl in r.skills:
            if sl.skill_id not in known:
                known.add(sl.skill_id)
                name = "General" if sl.skill_id == FALLBACK_SKILL else sl.skill_id
                out_skills.append(Skill(sl.skill_id, name))
    return out_skills, resources


class _CellError(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


def _resource(item_id: str, row: dict[str, Any], default_published_at: datetime) -> Resource:
    def cell(column: str, parse, default):
        v = row.get(column)
        if _missing(v):
            return default
        try:
            return parse(v)
        except (TypeError, ValueError) as e:
            raise _CellError(column, str(e)) from None

    difficulty = cell("difficulty", check_level, 3)
    levels = cell("skills", lambda v: parse_levels(v, default_level=difficulty), ())
    return Resource(
        item_id=item_id,
        title=_text(row.get("title"), item_id),
        type=cell("type", _resource_type, "other"),
        skills=levels or (SkillLevel(FALLBACK_SKILL, difficulty),),
        published_at=cell("published_at", parse_timestamp, default_published_at),
        url=_text(row.get("url")),
        difficulty=difficulty,
        duration_minutes=cell("duration_minutes", _minutes, 30),
        updated_at=cell("updated_at", parse_timestamp, None),
        half_life_days=cell("half_life_days", _positive_float, None),
        provider=_text(row.get("provider")),
        language=_text(row.get("language"), "en"),
        active=cell("active", lambda v: parse_bool(v, "active"), True),
    )


def _resource_type(v: object) -> str:
    t = str(v).strip().lower()
    if t not in RESOURCE_TYPES:
        raise ValueError(f"type {t!r} is not one of {', '.join(RESOURCE_TYPES)}")
    return t


def _minutes(v: object) -> int:
    f = float(v)  # type: ignore[arg-type]
    if not math.isfinite(f) or f <= 0:
        raise ValueError(f"duration_minutes {v!r} must be a positive number")
    return max(1, round(f))


def _positive_float(v: object) -> float | None:
    if _missing(v):
        return None
    f = float(v)  # type: ignore[arg-type]
    if not math.isfinite(f) or f <= 0:
        raise ValueError(f"half_life_days {v!r} must be a positive number of days (empty = evergreen)")
    return f


def import_world(catalog: pd.DataFrame, events: pd.DataFrame | None = None, *,
                 skills: pd.DataFrame | None = None, source: str = "import",
                 default_published_at: datetime = DEFAULT_PUBLISHED_AT,
                 names: Iterable[str] = ("skills", "catalog", "events"),
                 first_lines: Iterable[int] = (2, 2, 2)) -> ImportedWorld:
    """Skills (optional), catalog and events tables -> a validated :class:`World` and events.

    Mentees are the users seen in the events (no goals: the data does not say them).
    ``names`` label the three inputs in error messages (for example the file names).
    ``first_lines`` give the line of each input's first row (2 for CSV, 1 for JSON Lines).
    ``source`` fills the events' ``source`` column where the table has none.
    """
    skills_name, catalog_name, events_name = names
    skills_line, catalog_line, events_line = first_lines
    given = import_skills(skills, source=skills_name, first_line=skills_line) if skills is not None else []
    all_skills, resources = import_catalog(catalog, skills=given, default_published_at=default_published_at,
                                           source=catalog_name, first_line=catalog_line)
    items = {r.item_id for r in resources}
    if events is None:
        events = pd.DataFrame(columns=["user_id", "item_id", "timestamp"])
    ev = import_events(events, items=items, source=events_name, default_source=source, first_line=events_line)
    cols = [str(c).strip().lower() for c in events.columns]
    if "event_id" in cols:
        raw_ids = events.iloc[:, cols.index("event_id")]
        generated = int((raw_ids.isna() | (raw_ids.astype(str).str.strip() == "")).sum())
    else:
        generated = len(events)
    mentees = mentees_from_events(ev)
    world = World.build(all_skills, resources, mentees)
    info = {
        "skills": len(all_skills),
        "skills_given": len(given),
        "skills_created": len(all_skills) - len(given),
        # named only in the catalog: created evergreen (no half-life, never stale)
        "undeclared_skills": [sk.skill_id for sk in all_skills[len(given):]],
        "resources": len(resources),
        "general_only_resources": sum(1 for r in resources
                                      if [s.skill_id for s in r.skills] == [FALLBACK_SKILL]),
        "mentees": len(mentees),
        "events_in": len(events),
        "events": len(ev),
        "event_ids_generated": generated,
        "duplicate_events_collapsed": len(events) - len(ev),
    }
    return ImportedWorld(world=world, events=ev, info=info)
