"""The console's analytics engine: duckdb over the event log and the world's tables, refreshed incrementally.

duckdb's SQLite scanner is an extension it downloads on first use, which an offline machine
cannot do; so the event log is read once with Python's ``sqlite3`` (a read-only connection,
in batches of ``seq``; with the PostgreSQL log, the same query through its pool: ``fetch``) into a
duckdb table, and every later refresh appends only the events
whose ``seq`` is past the last one read (the log is append-only). duckdb queries that table beside small tables of the world (mentees' goals, mentors, the mentor
assignment, resources and their skills). Each analytic is cached under the log's version
(its last ``seq``) and the day, and the log is looked at again at most every ``refresh_s`` seconds,
so a page read between two refreshes costs a dict lookup.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from catalog.catalog import World
from catalog.freshness import catalog_freshness

__all__ = ["AnalyticsStore", "Table"]

_BATCH = 100_000
_EVENT_COLUMNS = ("seq", "user_id", "item_id", "event_type", "value", "ts_us")


class Table:
    """One analytic: named columns and rows of plain values (what the JSON, the CSV and the page show)."""

    __slots__ = ("name", "columns", "rows", "notes")

    def __init__(self, name: str, columns: list[str], rows: list[list[Any]], notes: str = "") -> None:
        self.name, self.columns, self.rows, self.notes = name, columns, rows, notes

    @classmethod
    def of(cls, name: str, frame: pd.DataFrame, notes: str = "") -> Table:
        rows = [[_plain(v) for v in r] for r in frame.itertuples(index=False, name=None)]
        return cls(name, [str(c) for c in frame.columns], rows, notes)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r)) for r in self.rows]

    def column(self, name: str) -> list[Any]:
        k = self.columns.index(name)
        return [r[k] for r in self.rows]


def _plain(v: Any) -> Any:
    """A JSON- and CSV-friendly value: Python numbers rounded to 4 places, NaN as None, timestamps as ISO."""
    if v is None:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if f != f else round(f, 4)
    if isinstance(v, (pd.Timestamp, datetime)):  # a day (weeks, cohorts) as a date; times to the second
        if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0) and v.tzinfo is None:
            return v.date().isoformat()
        return v.replace(microsecond=0).isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


class AnalyticsStore:
    """duckdb over the event log (as Arrow, appended incrementally) and the world's tables.

    ``pairs()`` gives the persisted mentor assignment (mentee -> mentor or None); ``clock()``
    the service's time. Thread-safe: one lock around refreshes and queries (duckdb's
    connection is not shared across threads concurrently).
    """

    def __init__(self, world: World, events_db: str | Path, *, pairs: Callable[[], Mapping[str, str | None]],
                 clock: Callable[[], datetime], floor: float = 0.05, refresh_s: float = 30.0,
                 fetch: Callable[[str, list[Any]], list[tuple]] | None = None) -> None:
        self.world, self.path, self.pairs, self.clock, self.floor = world, Path(events_db), pairs, clock, floor
        self.fetch = fetch if fetch is not None else self._sqlite_fetch
        self.refresh_s = refresh_s
        self._last_refresh = -float("inf")
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET threads TO 1")
        self.lock = threading.RLock()
        self._created = False
        self._seq = 0
        self._cache: dict[tuple, Any] = {}
        self._pairs_key: tuple | None = None
        self._register_world()

    # ------------------------------------------------------------ tables
    def _register_world(self) -> None:
        w, cat = self.world, self.world.catalog
        goals = [(m.user_id, g.skill_id, g.level, None if g.deadline is None else pd.Timestamp(g.deadline))
                 for m in w.mentees.values() for g in m.goals]
        selfs = {(m.user_id, s.skill_id): s.level for m in w.mentees.values() for s in m.self_levels}
        gdf = pd.DataFrame(goals, columns=["user_id", "skill_id", "level", "deadline"])
        gdf["self_level"] = [selfs.get((u, s), 0) for u, s in zip(gdf["user_id"], gdf["skill_id"])]
        mentors = pd.DataFrame([(m.mentor_id, m.name, m.capacity) for m in w.mentors.values()],
                               columns=["mentor_id", "name", "capacity"])
        msk = pd.DataFrame([(m.mentor_id, s.skill_id, s.level) for m in w.mentors.values() for s in m.skills],
                           columns=["mentor_id", "skill_id", "level"])
        res = cat.resources
        items = pd.DataFrame([(r.item_id, r.title, r.type, bool(r.active), r.skills[0].skill_id if r.skills else "")
                              for r in res], columns=["item_id", "title", "type", "active", "main_skill"])
        isk = pd.DataFrame([(r.item_id, s.skill_id, s.level) for r in res for s in r.skills],
                           columns=["item_id", "skill_id", "level"])
        skills = pd.DataFrame([(s.skill_id, s.name) for s in cat.graph.skills.values()], columns=["skill_id", "name"])
        mentees = pd.DataFrame({"user_id": list(w.mentees)})
        for name, df in (("goals", gdf), ("mentors", mentors), ("mentor_skills", msk), ("items", items),
                         ("item_skills", isk), ("skills", skills), ("mentees", mentees)):
            self.con.register(name, df)

    def _register_pairs(self) -> None:
        pairs = self.pairs()
        key = tuple(sorted((u, m or "") for u, m in pairs.items()))
        if key == self._pairs_key:
            return
        self._pairs_key = key
        self.con.register("assignment", pd.DataFrame([(u, m) for u, m in pairs.items() if m],
                                                     columns=["user_id", "mentor_id"]))

    def refresh(self) -> int:
        """Append the events stored since the last refresh; returns the log's version (last seq)."""
        with self.lock:
            if not self._created:
                self.con.execute("CREATE TABLE ev (seq BIGINT, user_id VARCHAR, item_id VARCHAR, event_type VARCHAR, "
                                 "value DOUBLE, ts_us BIGINT)")
                self.con.execute("CREATE VIEW events AS SELECT seq, user_id, item_id, event_type, value, "
                                 "make_timestamp(ts_us) AS ts, ts_us FROM ev")
                self._created = True
            while True:
                rows = self.fetch("SELECT seq, user_id, item_id, event_type, value, ts_us FROM events "
                                  "WHERE seq > ? ORDER BY seq LIMIT ?", [self._seq, _BATCH])
                if not rows:
                    break
                batch = pd.DataFrame.from_records(rows, columns=list(_EVENT_COLUMNS))  # noqa: F841
                self.con.execute("INSERT INTO ev SELECT * FROM batch")
                self._seq = int(rows[-1][0])
                if len(rows) < _BATCH:
                    break
            self._register_pairs()
            return self._seq

    def _sqlite_fetch(self, sql: str, params: list[Any]) -> list[tuple]:
        """Rows of the SQLite event log, on a read-only connection of this call's own (never the service's)."""
        if not self.path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def new_events(self, since_seq: int) -> pd.DataFrame:
        """The events read with ``seq`` above ``since_seq``, in ``seq`` order (for incremental folds elsewhere)."""
        with self.lock:
            return self.con.execute("SELECT seq, user_id, item_id, event_type, value, ts_us FROM ev WHERE seq > ? "
                                    "ORDER BY seq", [since_seq]).df()

    @property
    def version(self) -> int:
        return self._seq

    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self.lock:
            return self.con.execute(query, params or []).df()

    def cached(self, key: tuple, build: Callable[[], Any]) -> Any:
        """``build()`` once per (key, log version, day): refresh first (at most every ``refresh_s`` seconds,
        so a stream of event writes does not rebuild every table on every page), then look up."""
        with self.lock:
            if time.monotonic() - self._last_refresh >= self.refresh_s:
                self.refresh()
                self._last_refresh = time.monotonic()
            version = self._seq
            full = (*key, version, self.clock().date())
            if full not in self._cache:
                if len(self._cache) > 256:
                    self._cache.clear()
                self._cache[full] = build()
            return self._cache[full]

    def freshness(self) -> np.ndarray:
        """Every item's freshness today (the catalog's half-lives)."""
        return catalog_freshness(self.world.catalog, self.clock(), floor=self.floor)
