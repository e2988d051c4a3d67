"""What the planner reads per skill, prepared once per catalog, and its choice of one item from a pool.

Both sit on the path of every plan (each hybrid request plans): :func:`skill_tables` keeps the items
teaching each skill as int64 arrays so no request converts them again, and :func:`first_by` picks the
planner's item without sorting the pool.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from catalog.catalog import Catalog

__all__ = ["SkillTables", "skill_tables", "first_by"]


@dataclass(frozen=True, slots=True)
class SkillTables:
    """Per-catalog arrays the planner reads per request: the items teaching each skill and their levels
    (``items[ptr[j]:ptr[j + 1]]``, int64, by skill index), and each item's minutes (at least 1)."""

    ptr: NDArray[np.int64]
    items: NDArray[np.int64]
    levels: NDArray[np.int64]
    minutes: NDArray[np.int64]

    def of(self, j: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        a, b = self.ptr[j], self.ptr[j + 1]
        return self.items[a:b], self.levels[a:b]

    def best_scores(self, skills: list[int], usable: NDArray[np.bool_], scores: NDArray[np.float64]
                    ) -> NDArray[np.float64]:
        """Per skill of ``skills``: the highest score among its ``usable`` items (-inf if none; NaN if a
        usable score is NaN, as ``max`` gives), in one pass over their items."""
        out = np.full(len(skills), -np.inf)
        if not skills:
            return out
        js = np.asarray(skills, dtype=np.int64)
        start, n = self.ptr[js], self.ptr[js + 1] - self.ptr[js]
        full = n > 0
        if not full.any():
            return out
        start, n = start[full], n[full]
        first = np.cumsum(n) - n  # each skill's first position among the gathered items
        items = self.items[np.arange(int(n.sum())) - np.repeat(first - start, n)]
        s = np.where(usable[items], scores[items], -np.inf)
        out[full] = np.maximum.reduceat(s, first)
        return out


_TABLES: weakref.WeakKeyDictionary[Catalog, SkillTables] = weakref.WeakKeyDictionary()


def skill_tables(catalog: Catalog) -> SkillTables:
    """:class:`SkillTables` of ``catalog``, built once per catalog (a catalog's arrays are never written:
    a change makes a new catalog), so no request converts them again."""
    t = _TABLES.get(catalog)
    if t is None:
        m = catalog.item_skill_levels_csc
        t = SkillTables(m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data.astype(np.int64),
                        np.asarray(catalog.duration_minutes).clip(min=1).astype(np.int64))
        _TABLES[catalog] = t
    return t


def first_by(cand: NDArray[np.int64], dist: NDArray[np.int64], catalog: Catalog, prefer: frozenset[str],
              scores: NDArray[np.float64]) -> int:
    """Position in ``cand`` of the first item by (level distance, not preferred, -score, minutes, index):
    ``np.lexsort(...)[0]`` with those keys, found by narrowing key by key (each pass keeps the minima of
    one key; NaN scores sort last, as in lexsort), which is linear where a lexsort of a pool is not."""
    pos = np.flatnonzero(dist == dist.min())
    if prefer and len(pos) > 1:
        other = np.ones(len(pos), dtype=bool)
        for t in prefer:  # a few types at most: one vectorised comparison each
            other &= catalog.types[cand[pos]] != t
        if not other.all():
            pos = pos[~other]
    if len(pos) > 1:
        neg = -scores[cand[pos]]
        fin = ~np.isnan(neg)
        if fin.any():
            if not fin.all():
                pos, neg = pos[fin], neg[fin]
            pos = pos[neg == neg.min()]
    if len(pos) > 1:
        mins = catalog.duration_minutes[cand[pos]]
        pos = pos[mins == mins.min()]
    return int(pos[np.argmin(cand[pos])]) if len(pos) > 1 else int(pos[0])
