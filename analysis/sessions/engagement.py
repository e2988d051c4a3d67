"""What the mentee did after a session: follow-through on action items, progress on skills.

The event log says which item a mentee touched and when; the catalog says which skills
each item teaches. :class:`EngagementIndex` joins the two once into one sorted array of
``(mentee, skill, second)`` keys, so "did u00042 engage with kubernetes between t0 and
t1" is two binary searches, whatever the number of sessions asked about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from analysis.sessions.analyse import SessionAnalysis
from catalog.catalog import Catalog

__all__ = [
    "ENGAGED_TYPES", "FOLLOW_WINDOW_DAYS", "EngagementIndex", "FollowUp", "FollowThrough", "Progress",
    "item_skill_map", "follow_through", "skill_progress",
]

# Touching an item counts, being shown it (impression) or dismissing it does not.
ENGAGED_TYPES: tuple[str, ...] = ("view", "start", "complete", "like", "bookmark", "assess")
FOLLOW_WINDOW_DAYS = 14
_SHIFT = np.int64(1 << 32)  # seconds since the epoch fit in 32 bits until 2106


def item_skill_map(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Each item id -> the skills it teaches (from the catalog's resources)."""
    return {r.item_id: tuple(s.skill_id for s in r.skills) for r in catalog.resources}


class EngagementIndex:
    """Mentees' events of ``event_types`` on items, per skill the item teaches, sorted for range queries.

    Parameters
    ----------
    events : DataFrame with ``user_id, item_id, event_type, timestamp`` (DEVELOPERS.md).
    item_skills : item id -> skill ids (:func:`item_skill_map`), or a :class:`Catalog`.
    event_types : which events count (default :data:`ENGAGED_TYPES`).
    """

    def __init__(self, events: pd.DataFrame, item_skills: Mapping[str, Sequence[str]] | Catalog, *,
                 event_types: Iterable[str] = ENGAGED_TYPES) -> None:
        table = item_skill_map(item_skills) if isinstance(item_skills, Catalog) else item_skills
        ev = events.loc[events["event_type"].isin(tuple(event_types)), ["user_id", "item_id", "timestamp"]]
        secs_all = _seconds(ev["timestamp"]).tolist() if len(ev) else []
        # One pass in plain Python: a join through pandas costs milliseconds of fixed overhead per call,
        # more than a mentee's whole history (the service builds an index per request).
        self._users: dict[str, int] = {}
        self._skills: dict[str, int] = {}
        uu: list[int] = []
        ss: list[int] = []
        tt: list[int] = []
        for user, item, t in zip(ev["user_id"].tolist(), ev["item_id"].tolist(), secs_all):
            skills = table.get(item)
            if not skills:
                continue
            k = self._users.setdefault(user, len(self._users))
            for sid in skills:
                uu.append(k)
                ss.append(self._skills.setdefault(sid, len(self._skills)))
                tt.append(t)
        n_skills = np.int64(max(len(self._skills), 1))
        u = np.asarray(uu, dtype=np.int64)
        s = np.asarray(ss, dtype=np.int64)
        secs = np.asarray(tt, dtype=np.int64)
        self._keys = np.sort((u * n_skills + s) * _SHIFT + secs)
        self._n_skills = n_skills
        self._user_keys = np.sort(u * _SHIFT + secs)  # any skill: was the mentee learning at all?

    def __len__(self) -> int:
        return len(self._keys)

    def count(self, mentee_id: str, skill_ids: Iterable[str], start: datetime, end: datetime) -> int:
        """Events of ``mentee_id`` on any of ``skill_ids`` in ``(start, end]`` (an item counts once per skill)."""
        return sum(self._range(mentee_id, s, start, end)[1] for s in dict.fromkeys(skill_ids))

    def active(self, mentee_id: str, start: datetime, end: datetime) -> int:
        """Events of ``mentee_id`` on any item in ``(start, end]`` (an item counts once per skill)."""
        u = self._users.get(mentee_id)
        if u is None:
            return 0
        base = np.int64(u) * _SHIFT
        lo = np.searchsorted(self._user_keys, base + int(start.timestamp()), side="right")
        hi = np.searchsorted(self._user_keys, base + int(end.timestamp()), side="right")
        return int(hi - lo)

    def first(self, mentee_id: str, skill_id: str, start: datetime, end: datetime) -> datetime | None:
        """The first such event in ``(start, end]``, or None."""
        lo, n = self._range(mentee_id, skill_id, start, end)
        if not n:
            return None
        return datetime.fromtimestamp(int(self._keys[lo] % _SHIFT), tz=start.tzinfo)

    def _range(self, mentee_id: str, skill_id: str, start: datetime, end: datetime) -> tuple[int, int]:
        u, s = self._users.get(mentee_id), self._skills.get(skill_id)
        if u is None or s is None:
            return 0, 0
        base = (np.int64(u) * self._n_skills + s) * _SHIFT
        lo = int(np.searchsorted(self._keys, base + int(start.timestamp()), side="right"))
        hi = int(np.searchsorted(self._keys, base + int(end.timestamp()), side="right"))
        return lo, hi - lo


def _seconds(ts: pd.Series) -> np.ndarray:
    t = pd.to_datetime(ts, utc=True)
    return (t.astype("datetime64[us, UTC]").astype("int64").to_numpy() // 1_000_000).astype(np.int64)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """One skill of a session's action items: ``followed`` (engaged within the window), ``missed`` (the
    mentee learnt other things), ``idle`` (the mentee learnt nothing at all) or ``pending``."""

    skill_id: str
    status: Literal["followed", "missed", "idle", "pending"]
    first_at: datetime | None = None


@dataclass(frozen=True)
class FollowThrough:
    """Follow-up of one session's mentee-owned action items, one entry per distinct skill."""

    session_id: str
    started_at: datetime
    items: tuple[FollowUp, ...]

    @property
    def followed(self) -> int:
        return sum(f.status == "followed" for f in self.items)

    @property
    def judged(self) -> int:
        """Skills followed, or missed while the mentee was learning something else."""
        return sum(f.status in ("followed", "missed") for f in self.items)


def follow_through(analysis: SessionAnalysis, index: EngagementIndex, *, now: datetime,
                   window_days: int = FOLLOW_WINDOW_DAYS) -> FollowThrough:
    """Did the mentee engage with each skill of their action items within ``window_days`` of the session?

    A skill is ``followed`` as soon as an event lands in the window (even before it closes),
    ``pending`` while the window is still open at ``now``, else ``missed``. Action items
    naming no skill cannot be judged and are left out.
    """
    start = analysis.started_at
    end = start + timedelta(days=window_days)
    skills = dict.fromkeys(s for a in analysis.mentee_actions for s in a.skills)
    items = []
    idle = now >= end and not index.active(analysis.mentee_id, start, end)
    for sid in skills:
        first = index.first(analysis.mentee_id, sid, start, min(end, now))
        status = "followed" if first is not None else "pending" if now < end else "idle" if idle else "missed"
        items.append(FollowUp(sid, status, first))  # type: ignore[arg-type]
    return FollowThrough(analysis.session_id, start, tuple(items))


@dataclass(frozen=True, slots=True)
class Progress:
    """Completions on a set of skills over a period, and their monthly rate."""

    skills: tuple[str, ...]
    completions: int
    days: float

    @property
    def per_month(self) -> float:
        return self.completions / max(self.days, 1.0) * 30.44


def skill_progress(completions: EngagementIndex, mentee_id: str, skills: Iterable[str], *, start: datetime,
                   now: datetime) -> Progress:
    """Completed items teaching any of ``skills`` in ``(start, now]`` (``completions`` indexes ``complete`` events)."""
    skills = tuple(dict.fromkeys(skills))
    n = completions.count(mentee_id, skills, start, now) if now > start else 0
    return Progress(skills, n, max((now - start).total_seconds() / 86400.0, 0.0))
