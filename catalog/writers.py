"""Write a world to CSV files atomically (temp file + rename: never a half-written file).

The column layout here is the one :mod:`catalog.loaders` reads back.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from catalog.catalog import World
from catalog.datadir import DataDir
from catalog.schema import Mentee, Mentor, Resource, Skill, format_goals, format_levels

__all__ = [
    "SKILL_COLUMNS", "RESOURCE_COLUMNS", "MENTEE_COLUMNS", "MENTOR_COLUMNS",
    "skills_frame", "resources_frame", "mentees_frame", "mentors_frame",
    "atomic_write_csv", "atomic_write_parquet", "atomic_write_jsonl", "save_world",
]

SKILL_COLUMNS = ["skill_id", "name", "domain", "half_life_days", "prerequisites", "aliases"]
RESOURCE_COLUMNS = ["item_id", "title", "url", "type", "skills", "difficulty", "duration_minutes",
                    "published_at", "updated_at", "half_life_days", "provider", "language", "active"]
MENTEE_COLUMNS = ["user_id", "goals", "self_levels", "preferred_types", "minutes_per_week",
                  "language", "timezone"]
MENTOR_COLUMNS = ["mentor_id", "name", "skills", "capacity", "availability_hours", "language",
                  "timezone", "formats"]


def _iso(d) -> str:
    return "" if d is None else d.isoformat().replace("+00:00", "Z")


def skills_frame(skills: Iterable[Skill]) -> pd.DataFrame:
    return pd.DataFrame(
        [[s.skill_id, s.name, s.domain, s.half_life_days, format_levels(s.prerequisites), ";".join(s.aliases)]
         for s in skills],
        columns=SKILL_COLUMNS,
    )


def resources_frame(resources: Iterable[Resource]) -> pd.DataFrame:
    return pd.DataFrame(
        [[r.item_id, r.title, r.url, r.type, format_levels(r.skills), r.difficulty, r.duration_minutes,
          _iso(r.published_at), _iso(r.updated_at), r.half_life_days, r.provider, r.language,
          "true" if r.active else "false"] for r in resources],
        columns=RESOURCE_COLUMNS,
    )


def mentees_frame(mentees: Iterable[Mentee]) -> pd.DataFrame:
    return pd.DataFrame(
        [[m.user_id, format_goals(m.goals), format_levels(m.self_levels), ";".join(m.preferred_types),
          m.minutes_per_week, m.language, m.timezone] for m in mentees],
        columns=MENTEE_COLUMNS,
    ).astype({"minutes_per_week": "Int64", "timezone": "Int64"})


def mentors_frame(mentors: Iterable[Mentor]) -> pd.DataFrame:
    return pd.DataFrame(
        [[m.mentor_id, m.name, format_levels(m.skills), m.capacity, m.availability_hours, m.language,
          m.timezone, ";".join(m.formats)] for m in mentors],
        columns=MENTOR_COLUMNS,
    ).astype({"timezone": "Int64"})


def _atomic(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_csv(df: pd.DataFrame, path: str | Path) -> None:
    _atomic(Path(path), lambda tmp: df.to_csv(tmp, index=False))


def atomic_write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    _atomic(Path(path), lambda tmp: df.to_parquet(tmp, index=False))


def atomic_write_jsonl(records: Iterable[dict], path: str | Path) -> None:
    """One JSON object per line, UTF-8 (non-ASCII kept as is)."""
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")

    _atomic(Path(path), write)


def save_world(world: World, data_dir: DataDir) -> None:
    """Write skills, resources, mentees and mentors CSVs into ``data_dir``."""
    data_dir.ensure()
    cat = world.catalog
    atomic_write_csv(skills_frame(cat.skills[s] for s in cat.skill_ids), data_dir.skills)
    atomic_write_csv(resources_frame(cat.resources), data_dir.resources)
    atomic_write_csv(mentees_frame(world.mentees.values()), data_dir.mentees)
    atomic_write_csv(mentors_frame(world.mentors.values()), data_dir.mentors)


