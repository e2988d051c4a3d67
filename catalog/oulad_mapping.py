"""How OULAD rows become SkillPath entities and events (used by :mod:`catalog.oulad`).

Everything here is a pure function of already-read tables: the calendar, curriculum
levels, event frames, resource tables and mentees. The reasons behind each choice are
in ``docs/data.md``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from catalog.errors import ConfigError
from catalog.schema import EVENT_COLUMNS, Goal, Mentee

__all__ = [
    "ACTIVITY_TYPES", "DEFAULT_LEVEL", "presentation_start", "stage_level", "presentation_keys", "to_us",
    "view_events", "assess_events", "stack_sorted", "site_table", "assessment_table", "mentees_from_registrations",
]

US_PER_DAY = 86_400_000_000
DEFAULT_LEVEL = 3

# OULAD activity_type -> SkillPath resource type. The raw type stays in the title.
ACTIVITY_TYPES: dict[str, str] = {
    "oucontent": "course",      # the module's structured study text
    "subpage": "course",        # a section page of the course
    "sharedsubpage": "course",
    "resource": "article",      # a file (PDF, document) to read
    "page": "article",
    "dualpane": "article",
    "url": "article",           # an external link
    "quiz": "quiz",
    "externalquiz": "quiz",
    "questionnaire": "quiz",
    "forumng": "forum",
    "ouwiki": "forum",          # collaborative, like a forum
    "oucollaborate": "video",   # live online tutorial rooms and their recordings
    "ouelluminate": "video",
    "glossary": "documentation",
    "dataplus": "exercise",     # learner-filled database activity
    "htmlactivity": "exercise",
    "repeatactivity": "other",
    "homepage": "other",
    "folder": "other",
}


def presentation_start(code_presentation: str) -> datetime:
    """Calendar start of a presentation: ``2013B`` -> 2013-02-01, ``2014J`` -> 2014-10-01 (UTC)."""
    m = re.fullmatch(r"(\d{4})([BJ])", code_presentation)
    if not m:
        raise ConfigError(f"presentation code {code_presentation!r} is not like 2013J or 2014B")
    return datetime(int(m[1]), 2 if m[2] == "B" else 10, 1, tzinfo=timezone.utc)


def stage_level(day: np.ndarray | float, length_days: np.ndarray | float) -> np.ndarray:
    """Curriculum stage 1-5 of a course day: fifths of the presentation (<0 -> 1, past the end -> 5)."""
    frac = np.asarray(day, dtype=np.float64) / np.asarray(length_days, dtype=np.float64)
    return np.clip(1 + np.floor(5 * frac), 1, 5).astype(np.int64)


def presentation_keys(df: pd.DataFrame) -> pd.Series:
    """``AAA-2013J`` per row: the module-presentation key."""
    return df.code_module + "-" + df.code_presentation


# ---------------------------------------------------------------- events


def to_us(dt: datetime) -> int:
    return int(dt.timestamp()) * 1_000_000


def _timestamps(keys: pd.Series, days: pd.Series, start_us: dict[str, int]) -> pd.Series:
    start = keys.map(start_us).to_numpy(dtype=np.int64)
    us = start + days.to_numpy(dtype=np.int64) * US_PER_DAY
    return pd.Series(pd.to_datetime(us, unit="us", utc=True).as_unit("us"), index=keys.index)


def view_events(clicks: pd.DataFrame, start_us: dict[str, int]) -> pd.DataFrame:
    """One view per click-log row. The id is the row's fields plus its rank among identical
    (learner, site, day) rows, so it does not depend on which presentations were loaded."""
    keys = presentation_keys(clicks)
    site = clicks.id_site.astype(str)
    student = clicks.id_student.astype(str)
    day = clicks.date.astype(str)
    dup = clicks.groupby(["id_site", "id_student", "date"], sort=False).cumcount().astype(str)
    return pd.DataFrame({
        "event_id": "oulad:v:" + site + ":" + student + ":" + day + ":" + dup,
        "user_id": "s" + student,
        "item_id": "vle-" + site,
        "event_type": "view",
        "value": np.nan,
        "timestamp": _timestamps(keys, clicks.date, start_us),
        "source": "oulad:" + keys,
    }, columns=list(EVENT_COLUMNS)).reset_index(drop=True)


def assess_events(scores: pd.DataFrame, start_us: dict[str, int]) -> pd.DataFrame:
    keys = presentation_keys(scores)
    aid = scores.id_assessment.astype(str)
    student = scores.id_student.astype(str)
    banked = np.where(scores.is_banked.to_numpy() == 1, ":banked", "")
    return pd.DataFrame({
        "event_id": "oulad:a:" + aid + ":" + student,
        "user_id": "s" + student,
        "item_id": "assess-" + aid,
        "event_type": "assess",
        "value": scores.score.astype("float64"),
        "timestamp": _timestamps(keys, scores.date_submitted, start_us),
        "source": "oulad:" + keys + banked,
    }, columns=list(EVENT_COLUMNS)).reset_index(drop=True)


# ---------------------------------------------------------------- catalog


def stack_sorted(frames: list[pd.DataFrame]) -> tuple[pd.DataFrame, np.ndarray]:
    """Concatenate event frames column by column, stably sorted by timestamp.

    ``pd.concat`` checks an all-NaN column cell by cell (seconds on the click log)."""
    ts = np.concatenate([f.timestamp.array.asi8 for f in frames])
    order = np.argsort(ts, kind="stable")
    cols: dict[str, Any] = {}
    for c in EVENT_COLUMNS:
        if c == "timestamp":
            cols[c] = pd.to_datetime(ts[order], unit="us", utc=True).as_unit("us")
        else:
            cols[c] = np.concatenate([f[c].to_numpy() for f in frames])[order]
    out = pd.DataFrame(cols, columns=list(EVENT_COLUMNS))
    out["value"] = out["value"].astype("float64")
    return out, order


def _published(keys: pd.Series, planned_day: pd.Series, item_ids: pd.Series, start_us: dict[str, int],
               first_ts: pd.Series) -> pd.Series:
    """Planned availability (presentation start + planned day), but never after the first
    recorded event on the item: a click proves the material was online."""
    planned = _timestamps(keys, planned_day.fillna(0), start_us)
    first = item_ids.map(first_ts)
    return planned.where(first.isna() | (planned <= first), first)


def site_table(sites: pd.DataFrame, clicks: pd.DataFrame, length: dict[str, int],
                start_us: dict[str, int], level_from: str, first_ts: pd.Series) -> pd.DataFrame:
    keys = presentation_keys(sites)
    n_days = keys.map(length).astype(float)
    plan_day = sites.week_from * 7
    level = pd.Series(DEFAULT_LEVEL, index=sites.index, dtype="int64")
    source = pd.Series("default", index=sites.index, dtype=object)
    if level_from == "usage" and len(clicks):
        first_day = clicks.groupby(["id_site", "id_student"], sort=False).date.min()
        usage_day = sites.id_site.map(first_day.groupby(level="id_site").median())
        has = usage_day.notna()
        level[has] = stage_level(usage_day[has], n_days[has])
        source[has] = "usage"
    planned = plan_day.notna()
    level[planned] = stage_level(plan_day[planned], n_days[planned])
    source[planned] = "plan"
    item_id = "vle-" + sites.id_site.astype(str)
    raw = sites.activity_type.astype(str)
    return pd.DataFrame({
        "item_id": item_id,
        "title": sites.code_module + "-" + sites.code_presentation + " " + raw + " " + sites.id_site.astype(str),
        "type": raw.map(ACTIVITY_TYPES).fillna("other"),
        "module": sites.code_module,
        "presentation": keys,
        "activity_type": raw,
        "week_from": sites.week_from.astype("Int64"),
        "level": level,
        "level_source": source,
        "published_at": _published(keys, plan_day, item_id, start_us, first_ts),
    }).reset_index(drop=True)


def assessment_table(assessments: pd.DataFrame, length: dict[str, int], start_us: dict[str, int],
                      first_ts: pd.Series) -> pd.DataFrame:
    keys = presentation_keys(assessments)
    n_days = keys.map(length).astype(float)
    # Exams have no due day in the data; they close the course, so they sit at its end.
    due = assessments.date.fillna(n_days)
    item_id = "assess-" + assessments.id_assessment.astype(str)
    kind = assessments.assessment_type.astype(str)
    title = (assessments.code_module + "-" + assessments.code_presentation + " " + kind + " "
             + assessments.id_assessment.astype(str) + " (due day " + due.astype(int).astype(str)
             + ", weight " + assessments.weight.astype(int).astype(str) + "%)")
    return pd.DataFrame({
        "item_id": item_id,
        "title": title,
        "type": "quiz",
        "module": assessments.code_module,
        "presentation": keys,
        "activity_type": "assessment:" + kind,
        "week_from": pd.array([pd.NA] * len(assessments), dtype="Int64"),
        "level": stage_level(due, n_days),
        "level_source": "due",
        "published_at": _published(keys, pd.Series(0.0, index=assessments.index), item_id, start_us, first_ts),
    }).reset_index(drop=True)


def mentees_from_registrations(regs: pd.DataFrame, length: dict[str, int],
                               start_us: dict[str, int]) -> list[Mentee]:
    """One mentee per student: finish each registered module (level 5) by the end of its
    presentation (the latest one, for a learner who registered twice)."""
    keys = presentation_keys(regs)
    end_us = keys.map(start_us).astype("int64") + keys.map(length).astype("int64") * US_PER_DAY
    df = pd.DataFrame({"user_id": "s" + regs.id_student.astype(str), "module": regs.code_module,
                       "end_us": end_us})
    df = df.groupby(["user_id", "module"], sort=True).end_us.max().reset_index()
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    goals: dict[str, list[Goal]] = {}
    for user_id, module, end in zip(df.user_id.tolist(), df.module.tolist(), df.end_us.tolist()):
        goals.setdefault(user_id, []).append(Goal(module, 5, (epoch + timedelta(microseconds=end)).date()))
    return [Mentee(u, goals=tuple(g), language="en") for u, g in goals.items()]
