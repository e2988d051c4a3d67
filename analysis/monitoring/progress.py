"""Mastery points from completions: the progress series the live monitor folds beside the events.

Goal progress needs a mastery series per (mentee, skill). The service keeps it current
the same way it keeps the status: each ``complete`` event moves every skill the item
teaches ``step`` of the way from the mentee's current mastery to the level the item
teaches (``level / 5``), starting from the self-assessed level (``level / 5 * start``).
A cheap, monotone proxy of the BKT model (``recommender.mastery``) that needs no
assessment; the same function builds the points for training rows, so live and
training statuses agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from catalog.catalog import Catalog
from catalog.schema import Mentee

__all__ = ["CompletionMastery", "item_main_skill"]


def item_main_skill(cat: Catalog) -> dict[str, str]:
    """Item id -> the skill it teaches at the highest level (ties: the first listed): what its assessments measure."""
    csr, skills = cat.item_skill_levels, cat.skill_ids.ids
    out: dict[str, str] = {}
    for i, item in enumerate(cat.items.ids.tolist()):
        lo, hi = csr.indptr[i], csr.indptr[i + 1]
        if hi > lo:
            out[item] = skills[int(csr.indices[lo + int(np.argmax(csr.data[lo:hi]))])]
    return out


class CompletionMastery:
    """Per (mentee, skill) mastery in [0, 1], moved by completions (see the module docstring)."""

    def __init__(self, cat: Catalog, mentees: Mapping[str, Mentee], *, step: float = 0.3, start: float = 0.8) -> None:
        csr, skills = cat.item_skill_levels, cat.skill_ids.ids
        self.teaches: dict[str, tuple[tuple[str, float], ...]] = {}
        for i, item in enumerate(cat.items.ids.tolist()):
            lo, hi = csr.indptr[i], csr.indptr[i + 1]
            self.teaches[item] = tuple((skills[int(j)], float(v) / 5.0)
                                       for j, v in zip(csr.indices[lo:hi].tolist(), csr.data[lo:hi].tolist()))
        self.mentees = mentees
        self.step, self.start = step, start
        self.current: dict[tuple[str, str], float] = {}

    def _base(self, user_id: str, skill: str) -> float:
        m = self.mentees.get(user_id)
        if m is None:
            return 0.0
        for s in m.self_levels:
            if s.skill_id == skill:
                return s.level / 5.0 * self.start
        return 0.0

    def complete(self, user_id: str, item_id: str) -> list[tuple[str, float]]:
        """Fold one completion; the (skill, new mastery) points it makes (none for an unknown item)."""
        out = []
        for skill, target in self.teaches.get(item_id, ()):
            key = (user_id, skill)
            m = self.current.get(key)
            if m is None:
                m = self._base(user_id, skill)
            m = m + self.step * max(0.0, target - m)
            self.current[key] = m
            out.append((skill, m))
        return out

    def points(self, completions: Iterable[tuple[str, str, int]]) -> pd.DataFrame:
        """Mastery points (``user_id, skill_id, timestamp, mastery``) of ``(user, item, ts_us)`` completions, in order."""
        u, s, t, m = [], [], [], []
        for user, item, ts in completions:
            for skill, x in self.complete(user, item):
                u.append(user), s.append(skill), t.append(ts), m.append(x)
        return pd.DataFrame({"user_id": pd.Series(u, dtype=object), "skill_id": pd.Series(s, dtype=object),
                             "timestamp": pd.to_datetime(np.asarray(t, dtype=np.int64), unit="us", utc=True),
                             "mastery": np.asarray(m, dtype=np.float64)})
