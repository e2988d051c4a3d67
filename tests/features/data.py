"""A small deterministic world and event set for feature-store tests (and the CLI tests)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd

from catalog.catalog import World
from catalog.schema import EVENT_COLUMNS, Goal, Mentee, Resource, Skill, SkillLevel

__all__ = ["make_world", "make_events", "START"]

UTC = timezone.utc
START = datetime(2026, 10, 1, tzinfo=UTC)


def make_world() -> World:
    """Four skills, eight resources, five mentees with goals (u5 has none)."""
    sl = lambda s, l: (SkillLevel(s, l),)  # noqa: E731
    skills = [Skill("python", "Python", "sw", 1460.0), Skill("sql", "SQL", "data"),
              Skill("pandas", "pandas", "data", 730.0, sl("python", 3)), Skill("prompting", "Prompting", "ai", 120.0)]
    d = lambda m, day=1: datetime(2026, m, day, tzinfo=UTC)  # noqa: E731
    resources = [
        Resource("py-1", "Python 1", "course", sl("python", 1), d(1), duration_minutes=60),
        Resource("py-2", "Python 2", "book", sl("python", 3), d(2), duration_minutes=120),
        Resource("sql-1", "SQL 1", "tutorial", sl("sql", 2), d(3), duration_minutes=30),
        Resource("pd-1", "pandas 1", "video", (SkillLevel("pandas", 2), SkillLevel("python", 2)), d(4), duration_minutes=45),
        Resource("pr-1", "Prompting 1", "article", sl("prompting", 2), d(5), duration_minutes=15),
        Resource("pr-2", "Prompting 2", "article", sl("prompting", 3), d(9, 1), updated_at=d(10, 5), duration_minutes=20),
        Resource("pr-late", "Published mid-window", "article", sl("prompting", 3), d(10, 10), duration_minutes=10),
        Resource("sql-2", "SQL 2", "exercise", sl("sql", 3), d(6), duration_minutes=40),
    ]
    mentees = [
        Mentee("u1", (Goal("pandas", 3), Goal("prompting", 2))),
        Mentee("u2", (Goal("sql", 3),)),
        Mentee("u3", (Goal("python", 2),)),
        Mentee("u4", (Goal("prompting", 3),)),
        Mentee("u5", ()),
    ]
    return World.build(skills, resources, mentees, [])


def make_events(seed: int = 0, n: int = 400, days: int = 20) -> pd.DataFrame:
    """Random but deterministic events over ``days`` days; some land exactly on midnight."""
    rng = np.random.default_rng(seed)
    users = np.array(["u1", "u2", "u3", "u4", "u5"], dtype=object)
    items = np.array(["py-1", "py-2", "sql-1", "pd-1", "pr-1", "pr-2", "sql-2", "gone-item"], dtype=object)
    types = np.array(["impression", "view", "start", "complete", "like", "bookmark", "dismiss", "assess"], dtype=object)
    t = rng.integers(0, days * 86_400, n) * 1_000_000 + rng.integers(0, 1_000_000, n)
    t[: n // 10] = rng.integers(1, days, n // 10) * 86_400_000_000  # exactly at midnight
    et = types[rng.choice(len(types), n, p=[0.25, 0.2, 0.12, 0.15, 0.08, 0.05, 0.08, 0.07])]
    value = np.full(n, np.nan)
    value[et == "assess"] = rng.integers(0, 101, (et == "assess").sum())
    likes = np.flatnonzero(et == "like")
    value[likes[::2]] = rng.integers(1, 6, len(likes[::2]))
    ts = pd.Series(pd.Timestamp(START).value // 1000 + t).astype("datetime64[us]").dt.tz_localize("UTC")
    df = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": users[rng.choice(len(users), n, p=[0.35, 0.25, 0.2, 0.15, 0.05])],
        "item_id": items[rng.integers(0, len(items), n)],
        "event_type": et, "value": value, "timestamp": ts, "source": "test",
    })
    return df.sort_values("timestamp", kind="stable").reset_index(drop=True).loc[:, list(EVENT_COLUMNS)]
