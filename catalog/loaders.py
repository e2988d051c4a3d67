"""Load skills, resources, mentees and mentors from files, validating every row.

The column layout is the one :mod:`catalog.writers` produces (see DEVELOPERS.md); any
of ``.csv``, ``.parquet`` or ``.jsonl`` works for every entity (:func:`read_table`).
Validation is all-or-nothing per file: every bad row is reported, with its line, column
and reason, in one :class:`DataValidationError`, and a file with errors loads nothing.
Unknown extra columns are ignored; optional columns may be absent.

Cross-file checks (a resource tagging an undefined skill) take the set of known skill
ids as a parameter, so each loader also works on its own. :func:`load_world` validates
all four files before raising, so one run shows every problem in the data dir.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from catalog.catalog import Catalog, World
from catalog.datadir import DataDir
from catalog.errors import DataValidationError, NotReadyError, RowError
from catalog.graph import SkillGraph
from catalog.schema import (
    DEFAULT_PREREQ_LEVEL,
    MIN_PUBLICATION_YEAR,
    RESOURCE_TYPES,
    Mentee,
    Mentor,
    Resource,
    Skill,
    check_id,
    parse_goals,
    parse_levels,
    parse_list,
    parse_timestamp,
)
from catalog.tables import TABLE_SUFFIXES, is_missing, parse_bool, parse_float, parse_int, read_table

__all__ = [
    "REQUIRED_COLUMNS",
    "read_table",
    "load_skills",
    "load_resources",
    "load_mentees",
    "load_mentors",
    "load_world",
    "find_table",
    "parse_records",
]

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "skills": ("skill_id", "name"),
    "resources": ("item_id", "title", "type", "skills", "published_at"),
    "mentees": ("user_id",),
    "mentors": ("mentor_id",),
}
_ID_COLUMN = {"skills": "skill_id", "resources": "item_id", "mentees": "user_id", "mentors": "mentor_id"}
_TZ_RANGE = (-12, 14)  # UTC offsets in hours
_BAD: Any = object()  # a cell that failed; the row is dropped and its error recorded
_SYNTH_HINT = "run `skillpath data synth` for a demo world (or `skillpath data import` for your own files)"


@dataclass
class _Loaded:
    entities: list[Any]
    errors: list[RowError]
    ids: set[str] = field(default_factory=set)  # every well-formed id in the id column


class _Row:
    """One record being converted: reads cells and records every problem it finds."""

    __slots__ = ("line", "values", "source", "errors", "ok")

    def __init__(self, line: int, values: dict[str, object], source: str, errors: list[RowError]) -> None:
        self.line, self.values, self.source, self.errors, self.ok = line, values, source, errors, True

    def error(self, column: str, reason: str) -> None:
        self.errors.append(RowError(self.line, column, reason, self.source))
        self.ok = False

    def get(self, column: str, parse: Callable[[object], Any] | None = None, *,
            required: bool = False, default: Any = None) -> Any:
        """The parsed cell; ``default`` when empty or absent, ``_BAD`` (and an error) when invalid."""
        value = self.values.get(column)
        if is_missing(value) or (isinstance(value, (list, tuple)) and len(value) == 0):
            if required:
                self.error(column, "missing required value")
                return _BAD
            return default
        if parse is None:
            return str(value).strip()
        try:
            return parse(value)
        except ValueError as e:
            self.error(column, str(e))
            return _BAD

    def known_skills(self, column: str, levels: Any, skill_ids: Collection[str]) -> None:
        if levels is _BAD or not levels:
            return
        unknown = [lv.skill_id for lv in levels if lv.skill_id not in skill_ids]
        if unknown:
            self.error(column, f"unknown skill {', '.join(repr(u) for u in unknown)} (not in the skills file)")


class _RecordTable:
    """Request records read the way the loaders read a table, without a DataFrame: building one per write
    costs the writer milliseconds of GIL time for a single record, and a batch's worth of type inference."""

    def __init__(self, records: list[dict[str, Any]], required: Sequence[str]) -> None:
        self.records = records
        self.columns = list(dict.fromkeys([*required, *(k for r in records for k in r)]))

    def __getitem__(self, column: str) -> list[object]:
        return [r.get(column) for r in self.records]


def _rows(path: str | Path | pd.DataFrame | _RecordTable, kind: str) -> tuple[Any, str, list[RowError]]:
    """Read ``path`` (or take a frame of records); raise a whole-file error if a required column is missing."""
    given = isinstance(path, (pd.DataFrame, _RecordTable))
    df = path if given else read_table(path)
    name = "" if given else Path(path).name
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns)) or "none"
        raise DataValidationError(
            [RowError(1, c, f"required column missing (columns found: {have})", name) for c in missing],
            source=str(path),
        )
    return df, name, []


def _records(df: pd.DataFrame | _RecordTable) -> Iterable[tuple[int, dict[str, object]]]:
    if isinstance(df, _RecordTable):
        yield from enumerate(df.records)
        return
    # Plain column lists and zip: several times faster than DataFrame.to_dict("records").
    cols = [str(c) for c in df.columns]
    values = [df[c].tolist() for c in df.columns]
    for line, *cells in zip(df.index.tolist(), *values):
        yield int(line), dict(zip(cols, cells))


def _collect_ids(df: pd.DataFrame, column: str, check: Callable[[object], str]) -> set[str]:
    ids: set[str] = set()
    for v in df[column]:
        try:
            ids.add(check(v))
        except ValueError:
            pass
    return ids


def _id(row: _Row, column: str, check: Callable[[object], str], first_line: dict[str, int]) -> Any:
    value = row.get(column, check, required=True)
    if value is _BAD:
        return _BAD
    if value in first_line:
        row.error(column, f"duplicate {column} {value!r} (first on line {first_line[value]})")
        return _BAD
    first_line[value] = row.line
    return value


def _check_skill_id(value: object) -> str:
    sid = check_id(value, "skill id")
    if ":" in sid:
        raise ValueError(f"skill id {sid!r} may not contain ':' (it separates skill and level)")
    return sid


def _resource_type(value: object) -> str:
    t = str(value).strip().lower()
    if t not in RESOURCE_TYPES:
        raise ValueError(f"unknown resource type {t!r} (one of {', '.join(RESOURCE_TYPES)})")
    return t


def _types_list(value: object) -> tuple[str, ...]:
    return tuple(_resource_type(t) for t in parse_list(value))


def _publication_date(value: object) -> Any:
    return parse_timestamp(value, min_year=MIN_PUBLICATION_YEAR)


def _timezone(value: object) -> int:
    return parse_int(value, "timezone (UTC offset in hours)", minimum=_TZ_RANGE[0], maximum=_TZ_RANGE[1])


def _half_life(value: object) -> float:
    return parse_float(value, "half_life_days", positive=True)


def _raise(loaded: _Loaded, path: str | Path) -> list[Any]:
    if loaded.errors:
        raise DataValidationError(loaded.errors, source=str(path))
    return loaded.entities


# ---------------------------------------------------------------- per-entity loaders


def _skills(path: str | Path | pd.DataFrame, *, extra_ids: Collection[str] = ()) -> _Loaded:
    df, src, errors = _rows(path, "skills")
    ids = _collect_ids(df, "skill_id", _check_skill_id) | set(extra_ids)
    first: dict[str, int] = {}
    out: list[Skill] = []
    for line, rec in _records(df):
        row = _Row(line, rec, src, errors)
        sid = _id(row, "skill_id", _check_skill_id, first)
        name = row.get("name", required=True)
        domain = row.get("domain", default="")
        hl = row.get("half_life_days", _half_life)
        prereqs = row.get("prerequisites", lambda v: parse_levels(v, default_level=DEFAULT_PREREQ_LEVEL),
                          default=())
        row.known_skills("prerequisites", prereqs, ids)
        aliases = row.get("aliases", parse_list, default=())
        if row.ok:
            out.append(Skill(sid, name, domain, hl, prereqs, aliases))
    return _Loaded(out, errors, ids)


def _resources(path: str | Path | pd.DataFrame, skill_ids: Collection[str]) -> _Loaded:
    df, src, errors = _rows(path, "resources")
    first: dict[str, int] = {}
    out: list[Resource] = []
    for line, rec in _records(df):
        row = _Row(line, rec, src, errors)
        item_id = _id(row, "item_id", lambda v: check_id(v, "item id"), first)
        title = row.get("title", required=True)
        rtype = row.get("type", _resource_type, required=True)
        skills = row.get("skills", parse_levels, required=True)
        row.known_skills("skills", skills, skill_ids)
        published = row.get("published_at", _publication_date, required=True)
        updated = row.get("updated_at", _publication_date)
        if updated not in (None, _BAD) and published is not _BAD and updated < published:
            row.error("updated_at", f"updated_at {updated.date()} is before published_at {published.date()}")
        difficulty = row.get("difficulty", lambda v: parse_int(v, "difficulty", minimum=1, maximum=5), default=3)
        duration = row.get("duration_minutes", lambda v: parse_int(v, "duration_minutes", minimum=1),
                           default=30)
        hl = row.get("half_life_days", _half_life)
        active = row.get("active", lambda v: parse_bool(v, "active"), default=True)
        if row.ok:
            out.append(Resource(
                item_id, title, rtype, skills, published, url=row.get("url", default=""),
                difficulty=difficulty, duration_minutes=duration, updated_at=updated, half_life_days=hl,
                provider=row.get("provider", default=""), language=row.get("language", default="en"),
                active=active,
            ))
    return _Loaded(out, errors, set(first))


def _mentees(path: str | Path | pd.DataFrame, skill_ids: Collection[str]) -> _Loaded:
    df, src, errors = _rows(path, "mentees")
    first: dict[str, int] = {}
    out: list[Mentee] = []
    for line, rec in _records(df):
        row = _Row(line, rec, src, errors)
        uid = _id(row, "user_id", lambda v: check_id(v, "user id"), first)
        goals = row.get("goals", parse_goals, default=())
        row.known_skills("goals", goals, skill_ids)
        levels = row.get("self_levels", parse_levels, default=())
        row.known_skills("self_levels", levels, skill_ids)
        types = row.get("preferred_types", _types_list, default=())
        minutes = row.get("minutes_per_week", lambda v: parse_int(v, "minutes_per_week", minimum=1))
        language = row.get("language", default="")
        tz = row.get("timezone", _timezone)
        if row.ok:
            out.append(Mentee(uid, goals, levels, types, minutes, language, tz))
    return _Loaded(out, errors, set(first))


def _mentors(path: str | Path | pd.DataFrame, skill_ids: Collection[str]) -> _Loaded:
    df, src, errors = _rows(path, "mentors")
    first: dict[str, int] = {}
    out: list[Mentor] = []
    for line, rec in _records(df):
        row = _Row(line, rec, src, errors)
        mid = _id(row, "mentor_id", lambda v: check_id(v, "mentor id"), first)
        name = row.get("name", default="")
        skills = row.get("skills", parse_levels, default=())
        row.known_skills("skills", skills, skill_ids)
        capacity = row.get("capacity", lambda v: parse_int(v, "capacity", minimum=0), default=1)
        hours = row.get("availability_hours",
                        lambda v: parse_float(v, "availability_hours", non_negative=True), default=2.0)
        language = row.get("language", default="")
        tz = row.get("timezone", _timezone)
        formats = row.get("formats", parse_list, default=())
        if row.ok:
            out.append(Mentor(mid, name, skills, capacity, hours, language, tz, formats))
    return _Loaded(out, errors, set(first))


# ---------------------------------------------------------------- public API


def load_skills(path: str | Path) -> list[Skill]:
    """Skills from ``path``; raises DataValidationError (every bad row) or CycleError."""
    skills = _raise(_skills(path), path)
    SkillGraph(skills)  # raises CycleError naming the skills on a prerequisite cycle
    return skills


def load_resources(path: str | Path, *, skill_ids: Collection[str]) -> list[Resource]:
    """Resources from ``path``; every tagged skill must be in ``skill_ids``."""
    return _raise(_resources(path, skill_ids), path)


def load_mentees(path: str | Path, *, skill_ids: Collection[str]) -> list[Mentee]:
    """Mentees from ``path``; goal and self-level skills must be in ``skill_ids``."""
    return _raise(_mentees(path, skill_ids), path)


def load_mentors(path: str | Path, *, skill_ids: Collection[str]) -> list[Mentor]:
    """Mentors from ``path``; their skills must be in ``skill_ids``."""
    return _raise(_mentors(path, skill_ids), path)


def parse_records(kind: str, records: list[dict[str, Any]], *, skill_ids: Collection[str] = ()) -> tuple[
        list[Any], list[RowError]]:
    """Entities of ``kind`` from request records (row errors carry the 0-based index as ``line``).

    The same conversion and checks as the files (cells may also be real lists and objects);
    skills are checked against ``skill_ids`` plus the records' own ids.
    """
    if not records:
        return [], []
    df = _RecordTable(records, REQUIRED_COLUMNS[kind])
    skill_ids = skill_ids if isinstance(skill_ids, (set, frozenset)) else set(skill_ids)  # looked up per cell
    if kind == "skills":
        got = _skills(df, extra_ids=skill_ids)
    else:
        got = {"resources": _resources, "mentees": _mentees, "mentors": _mentors}[kind](df, skill_ids)
    return got.entities, got.errors


def find_table(data_dir: DataDir, kind: str) -> Path | None:
    """The file holding ``kind`` (``skills``, ...) in ``data_dir``: ``<kind>.csv`` first,
    else ``.parquet``, ``.jsonl`` or ``.ndjson``; None if there is none."""
    for suffix in TABLE_SUFFIXES:
        p = data_dir.root / f"{kind}{suffix}"
        if p.is_file():
            return p
    return None


def load_world(data_dir: DataDir | str | Path) -> World:
    """Load and validate the world in ``data_dir`` (mentees and mentors files are optional).

    All four files are validated before anything is raised, so the one
    DataValidationError lists every bad row of every file (each row names its file).
    Cross-file checks use the skill ids present in the skills file, even when some
    skill rows are bad, so one typo does not cascade into hundreds of errors.

    Raises
    ------
    NotReadyError
        The data dir or its skills/resources file does not exist.
    DataValidationError
        Any file has bad rows; nothing is loaded.
    CycleError
        The prerequisite graph has a cycle.
    """
    dd = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
    if not dd.root.is_dir():
        raise NotReadyError(f"no data dir at {dd.root}; {_SYNTH_HINT}")
    paths = {kind: find_table(dd, kind) for kind in ("skills", "resources", "mentees", "mentors")}
    for kind in ("skills", "resources"):
        if paths[kind] is None:
            raise NotReadyError(f"no {kind}.csv in {dd.root}; {_SYNTH_HINT}")
    errors: list[RowError] = []
    skills = _skills(paths["skills"])  # type: ignore[arg-type]
    errors += skills.errors
    loaded: dict[str, list[Any]] = {}
    loaders = {"resources": _resources, "mentees": _mentees, "mentors": _mentors}
    for kind, fn in loaders.items():
        p = paths[kind]
        if p is None:
            loaded[kind] = []
            continue
        try:
            part = fn(p, skills.ids)
        except DataValidationError as e:  # a whole-file problem (missing column, unreadable row)
            errors += e.errors
            continue
        errors += part.errors
        loaded[kind] = part.entities
    if errors:
        raise DataValidationError(errors, source=str(dd.root))
    return World(
        Catalog(skills.entities, loaded["resources"]),  # raises CycleError on a cycle
        {m.user_id: m for m in loaded["mentees"]},
        {m.mentor_id: m for m in loaded["mentors"]},
    )
