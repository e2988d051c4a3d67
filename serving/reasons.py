"""Reasons shown with each recommendation: short statements that are true, in skill terms.

- ``fits your goal: <skill name>``: the resource teaches one of the mentee's goal skills;
- ``mentees with your history completed it``: the collaborative model ranked it and at
  least ``min_count`` of the mentee's nearest neighbours (cosine of user factors among
  the mentees the model was trained on) completed it;
- ``updated 2 months ago`` / ``published 3 years ago``: from the catalog dates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.ids import IdMap
from catalog.schema import Resource
from recommender.topk import topk

__all__ = ["age_phrase", "date_reason", "goal_reason", "CoCompletion", "ItemText", "ItemTexts"]


def age_phrase(days: float) -> str:
    """``3 days ago``, ``2 weeks ago``, ``5 months ago``, ``3 years ago`` (``today`` under a day)."""
    days = max(days, 0.0)
    for unit, size, upto in (("day", 1, 14), ("week", 7, 60), ("month", 30.44, 730), ("year", 365.25, None)):
        if upto is None or days < upto:
            if days < 1:
                return "today"
            n = max(int(round(days / size)), 1)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "today"  # unreachable


def date_reason(res: Resource, now: datetime) -> str:
    if res.updated_at is not None and res.updated_at > res.published_at:
        return "updated " + age_phrase((now - res.updated_at).total_seconds() / 86400)
    return "published " + age_phrase((now - res.published_at).total_seconds() / 86400)


def goal_reason(catalog: Catalog, item: int, goals: NDArray[np.int64]) -> str | None:
    """``fits your goal: <name>`` for the first goal skill the item teaches, else None."""
    if not len(goals):
        return None
    m = catalog.item_skill_levels  # CSR: slice the row's indices directly (scipy row indexing costs ~0.1 ms)
    taught = set(m.indices[m.indptr[item]:m.indptr[item + 1]].tolist())
    for g in goals.tolist():
        if g in taught:
            sid = catalog.skill_ids.ids[g]
            return f"fits your goal: {catalog.skills[sid].name}"
    return None


class ItemText(NamedTuple):
    """What an answer says about one resource, computed once per catalog view."""

    item_id: str
    title: str
    type: str
    skills: tuple[str, ...]  # "skill_id:level"
    taught: frozenset[int]  # skill indices the resource teaches
    date_reason: str  # "updated 2 months ago" at the view's time


class ItemTexts:
    """Per-resource strings for answers, built on first use and kept for the view's lifetime.

    Slicing the skill matrix and formatting dates per returned item per request would be a
    large share of an in-process /recommend call. The view's time is fixed, so the date
    phrase is too; entries are made lazily (a 1M-item catalog pays only for the items that
    are ever returned).

    Views patched by an entity write (:meth:`patched`) share one table of entries, each kept
    with the :class:`~catalog.schema.Resource` object it was made from and used only while that
    is still the catalog's resource at its index: a write costs the written items a new entry
    and nothing else (copying the table was O(entries) of GIL time per write).
    """

    def __init__(self, catalog: Catalog, as_of: datetime) -> None:
        self.catalog, self.as_of = catalog, as_of
        self._names = [catalog.skills[s].name for s in catalog.skill_ids.ids.tolist()]
        self._entries: dict[int, tuple[Resource, ItemText]] = {}
        self._lock = threading.Lock()

    def patched(self, catalog: Catalog, rows: NDArray[np.int64]) -> ItemTexts:
        """Texts over ``catalog`` (same items and skills as this one's, changed at ``rows``): the entries
        table is shared; an entry whose resource is no longer the catalog's is remade on first use."""
        new = ItemTexts.__new__(ItemTexts)
        new.catalog, new.as_of, new._names = catalog, self.as_of, self._names
        new._entries, new._lock = self._entries, self._lock
        return new

    def __getitem__(self, item: int) -> ItemText:
        res = self.catalog.resources[item]
        hit = self._entries.get(item)
        if hit is not None and hit[0] is res:
            return hit[1]
        m = self.catalog.item_skill_levels
        e = ItemText(res.item_id, res.title, res.type, tuple(f"{x.skill_id}:{x.level}" for x in res.skills),
                     frozenset(m.indices[m.indptr[item]:m.indptr[item + 1]].tolist()),
                     date_reason(res, self.as_of))
        with self._lock:
            self._entries[item] = (res, e)
        return e

    def goal_reason(self, item: int, goals: list[int]) -> str | None:
        """:func:`goal_reason` from the cached entry (``goals`` as a plain list, in priority order)."""
        taught = self[item].taught
        for g in goals:
            if g in taught:
                return f"fits your goal: {self._names[g]}"
        return None


class CoCompletion:
    """Which items a mentee's nearest neighbours completed (for the collaborative reason).

    ``completions`` is the log's completions, or a function ``completions(user_ids)`` giving
    those of ``user_ids`` (all of them for None). With a function nothing is read up front:
    until :attr:`done` (every mentee's completions, one whole-log read) is built, a query
    reads only its neighbours' rows (one indexed read of ~50 mentees), which is what a
    one-shot command needs; the service builds :attr:`done` after it reports ready. Both
    give the same answer. A query costs one (n_users x d) product, cached per user state by
    the caller.
    """

    def __init__(self, user_factors: NDArray[np.float32], users: IdMap, items: IdMap,
                 completions: pd.DataFrame | Callable[[list[str] | None], pd.DataFrame],
                 *, n_neighbours: int = 50, min_count: int = 2) -> None:
        U = np.asarray(user_factors, dtype=np.float32)
        norms = np.linalg.norm(U, axis=1, keepdims=True)
        self.unit = np.ascontiguousarray(U / np.where(norms > 0, norms, 1.0))
        self.users, self.items = users, items
        self.n_neighbours, self.min_count = n_neighbours, min_count
        self._read = completions if callable(completions) else None
        self._done: sp.csr_matrix | None = None if callable(completions) else self._matrix(completions)
        self._lock = threading.Lock()

    def _matrix(self, completions: pd.DataFrame) -> sp.csr_matrix:
        n = len(self.unit)
        u = self.users.indices(completions["user_id"].astype(str).tolist(), missing="-1")
        i = self.items.indices(completions["item_id"].astype(str).tolist(), missing="-1")
        keep = (u >= 0) & (i >= 0) & (u < n)
        done = sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (u[keep], i[keep])), shape=(n, len(self.items)))
        done.sum_duplicates()
        done.data[:] = 1.0  # several completions of one item count once
        return done

    @property
    def done(self) -> sp.csr_matrix:
        """(n_users x n_items) 1 where the mentee completed the item; read from the log on first use."""
        if self._done is None:
            with self._lock:
                if self._done is None:
                    assert self._read is not None
                    self._done = self._matrix(self._read(None))
        return self._done

    @done.setter
    def done(self, value: sp.csr_matrix) -> None:
        self._done = value

    @property
    def built(self) -> bool:
        return self._done is not None

    def neighbours(self, vector: NDArray[np.float32], user_id: str) -> NDArray[np.int64]:
        n = np.linalg.norm(vector)
        if n == 0 or not len(self.unit):
            return np.zeros(0, np.int64)
        sims = self.unit @ (vector / n).astype(np.float32)
        me = self.users.get(user_id)
        if 0 <= me < len(sims):
            sims[me] = -np.inf
        top, s = topk(sims, self.n_neighbours)
        return top[s > 0]

    def supported_items(self, neighbours: NDArray[np.int64]) -> NDArray[np.int64]:
        """Sorted item indices completed by at least ``min_count`` of ``neighbours``.

        Computed once per mentee state (the caller caches it), so a request only does a
        membership test on its k items.
        """
        if not len(neighbours):
            return np.zeros(0, np.int64)
        if self._done is None and self._read is not None:  # only the neighbours' rows, by index
            ids = self.users.ids[neighbours].tolist()
            d = self._matrix(self._read(ids))
        else:
            d = self.done
        starts, ends = d.indptr[neighbours], d.indptr[neighbours + 1]
        cols = np.concatenate([d.indices[a:b] for a, b in zip(starts.tolist(), ends.tolist())]) if len(starts) \
            else np.zeros(0, np.int64)
        items, counts = np.unique(cols, return_counts=True)
        return items[counts >= self.min_count].astype(np.int64)

    def supported(self, neighbours: NDArray[np.int64], items: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Per item: completed by at least ``min_count`` of ``neighbours``."""
        if not len(neighbours) or not len(items):
            return np.zeros(len(items), bool)
        return np.isin(items, self.supported_items(neighbours))
