"""The console's analytics engine: duckdb over a copy of the event log and the world's tables.

duckdb's SQLite scanner is an extension it downloads on first use, which an offline machine
cannot do; so the event log is read with Python's ``sqlite3`` (a read-only connection, in
batches of ``seq``; with the PostgreSQL log, the same query through its pool: ``fetch``) into a
duckdb table, and every later :meth:`AnalyticsStore.refresh` appends only the events whose
``seq`` is past the last one read (the log is append-only). Reading the whole log costs
seconds, so the copy is also kept as a Parquet snapshot in the data dir (``console/``): a
restarted service loads it in a fraction of a second and reads only the events stored since.
The snapshot names the ``seq`` and ``event_id`` of its last row and how many rows it holds,
and is used only while the log still has that row and that many rows up to it (a new log, or
a forgotten mentee's deleted events, make it stale: the log is read again).

Tables the world gives (goals, mentors, items, ...) are real duckdb tables, replaced when the
world changes, so any thread's cursor sees them. Readers use a cursor of their own thread
(duckdb's MVCC lets them read while the one writer appends); writes take ``_write``.
Results are cached under the store's version (:meth:`key`): the log's last ``seq`` and row
count, the world's and the assignment's generations, and the day.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from catalog.catalog import World
from catalog.freshness import catalog_freshness
from serving.analytics.logcopy import META, PARQUET, SCHEMA, publish

__all__ = ["AnalyticsStore", "Table", "start_log_copy"]

log = logging.getLogger("skillpath.serving")

_BATCH = 20_000  # rows per read: each batch's conversion holds the GIL, so keep it short
_SCHEMA, _META, _PARQUET = SCHEMA, META, PARQUET  # the snapshot's format (serving.analytics.logcopy writes it too)


class Table:
    """One analytic: named columns and rows of plain values (what the JSON, the CSV and the page show)."""

    __slots__ = ("name", "columns", "rows", "notes")

    def __init__(self, name: str, columns: list[str], rows: list[list[Any]], notes: str = "") -> None:
        self.name, self.columns, self.rows, self.notes = name, columns, rows, notes

    @classmethod
    def of(cls, name: str, frame: pd.DataFrame, notes: str = "") -> Table:
        rows = [[_plain(v) for v in r] for r in frame.itertuples(index=False, name=None)]
        return cls(name, [str(c) for c in frame.columns], rows, notes)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "columns": self.columns, "rows": self.rows, "notes": self.notes}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Table:
        return cls(d["name"], d["columns"], d["rows"], d["notes"])

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


def _world_frames(w: World) -> dict[str, pd.DataFrame]:
    cat = w.catalog
    goals = [(m.user_id, g.skill_id, g.level, None if g.deadline is None else pd.Timestamp(g.deadline))
             for m in w.mentees.values() for g in m.goals]
    selfs = {(m.user_id, s.skill_id): s.level for m in w.mentees.values() for s in m.self_levels}
    gdf = pd.DataFrame(goals, columns=["user_id", "skill_id", "level", "deadline"])
    gdf["self_level"] = [selfs.get((u, s), 0) for u, s in zip(gdf["user_id"], gdf["skill_id"])]
    res = cat.resources
    return {
        "goals": gdf,
        "mentors": pd.DataFrame([(m.mentor_id, m.name, m.capacity) for m in w.mentors.values()],
                                columns=["mentor_id", "name", "capacity"]),
        "mentor_skills": pd.DataFrame([(m.mentor_id, s.skill_id, s.level) for m in w.mentors.values()
                                       for s in m.skills], columns=["mentor_id", "skill_id", "level"]),
        "items": pd.DataFrame([(r.item_id, r.title, r.type, bool(r.active), r.skills[0].skill_id if r.skills else "")
                               for r in res], columns=["item_id", "title", "type", "active", "main_skill"]),
        "item_skills": pd.DataFrame([(r.item_id, s.skill_id, s.level) for r in res for s in r.skills],
                                    columns=["item_id", "skill_id", "level"]),
        "skills": pd.DataFrame([(s.skill_id, s.name) for s in cat.graph.skills.values()], columns=["skill_id", "name"]),
        "mentees": pd.DataFrame({"user_id": list(w.mentees)}),
    }


_PENDING: dict[Path, subprocess.Popen] = {}  # log copies started ahead (start_log_copy), by snapshot dir
_PENDING_LOCK = threading.Lock()


def _spawn(events_db: Path, snapshot_dir: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "serving.analytics.logcopy", str(events_db), str(snapshot_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def start_log_copy(events_db: str | Path, snapshot_dir: str | Path) -> bool:
    """Start the console's first copy of a SQLite log now, when ``snapshot_dir`` holds no snapshot: the
    service calls this before it loads its model, so the copy runs on the other core during the start-up
    and the console's first build finds it made (:meth:`AnalyticsStore.copy_apart` waits for it). Whether
    a copy was started."""
    d, db = Path(snapshot_dir).resolve(), Path(events_db)
    if (d / _META).exists() or not db.exists():
        return False
    with _PENDING_LOCK:
        if d in _PENDING:
            return False
        try:
            _PENDING[d] = _spawn(db, d)
        except OSError:
            log.warning("console: could not start the log copy process", exc_info=True)
            return False
    return True


class AnalyticsStore:
    """duckdb over the event log (appended incrementally, snapshotted to Parquet) and the world's tables.

    ``pairs()`` gives the persisted mentor assignment (mentee -> mentor or None); ``clock()`` the
    service's time; ``snapshot_dir`` where the Parquet copy of the log lives (None: no snapshot).
    """

    def __init__(self, world: World, events_db: str | Path, *, pairs: Callable[[], Mapping[str, str | None]],
                 clock: Callable[[], datetime], floor: float = 0.05,
                 fetch: Callable[[str, list[Any]], list[tuple]] | None = None,
                 snapshot_dir: str | Path | None = None) -> None:
        self.path, self.pairs, self.clock, self.floor = Path(events_db), pairs, clock, floor
        self.fetch = fetch if fetch is not None else self._sqlite_fetch
        self.snapshot_dir = None if snapshot_dir is None else Path(snapshot_dir)
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET threads TO 1")  # one core for the console: the service's requests keep the other
        self.con.execute("CREATE TABLE ev (seq BIGINT, user_id VARCHAR, item_id VARCHAR, event_type VARCHAR, "
                         "value DOUBLE, ts_us BIGINT)")
        self.con.execute("CREATE VIEW events AS SELECT seq, user_id, item_id, event_type, value, "
                         "make_timestamp(ts_us) AS ts, ts_us FROM ev")
        self._local = threading.local()
        self._write = threading.RLock()
        self._cache_lock = threading.Lock()
        self._cache: dict[tuple, Any] = {}
        self._seq = self._rows = 0
        self._snap_seq = 0
        self._world_gen = self._pairs_gen = 0
        self._pairs_key: int | None = None
        self._fresh_day = None
        self.world = world
        self.set_world(world)

    # ------------------------------------------------------------ reading
    def _cur(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._local.cur = self.con.cursor()
        return cur

    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        """A query on this thread's cursor (readers never wait for the writer)."""
        return self._cur().execute(query, params or []).df()

    @property
    def version(self) -> int:
        return self._seq

    def key(self) -> tuple:
        """What every cached result depends on: the log (last seq, rows), the world, the assignment, the day."""
        return self._seq, self._rows, self._world_gen, self._pairs_gen, self.clock().date()

    def cached(self, key: tuple, build: Callable[[], Any]) -> Any:
        """``build()`` once per (key, :meth:`key`); refreshing is the caller's (:meth:`refresh`)."""
        full = (*key, *self.key())
        with self._cache_lock:
            if full in self._cache:
                return self._cache[full]
        out = build()
        with self._cache_lock:
            if len(self._cache) > 512:
                self._cache.clear()
            self._cache[full] = out
        return out

    def titles(self) -> dict[str, str]:
        """Resource titles of the world the store holds (kept with it)."""
        world = self.world
        got = getattr(self, "_titles", None)
        if got is None or got[0] is not world:
            got = self._titles = (world, {r.item_id: r.title for r in world.catalog.resources})
        return got[1]

    def freshness(self) -> np.ndarray:
        """Every item's freshness today (the catalog's half-lives)."""
        return catalog_freshness(self.world.catalog, self.clock(), floor=self.floor)

    # ------------------------------------------------------------ writing
    def set_world(self, world: World) -> None:
        """Replace the world's tables (a catalog edit, a new mentee, a mentor's capacity)."""
        with self._write:
            self.world = world
            cur = self._cur()
            for name, df in _world_frames(world).items():
                cur.register("_frame", df)
                cur.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _frame")
                cur.unregister("_frame")
            self._fresh_day = None
            self._world_gen += 1
            self._refresh_fresh()

    def _refresh_fresh(self) -> None:
        """Each item's freshness today and whether it is active (table ``fresh``), once a day."""
        day = self.clock().date()
        if day == self._fresh_day:
            return
        cat = self.world.catalog
        df = pd.DataFrame({"item_id": cat.items.ids, "freshness": self.freshness(), "active": cat.active})
        cur = self._cur()
        cur.register("_frame", df)
        cur.execute("CREATE OR REPLACE TABLE fresh AS SELECT * FROM _frame")
        cur.unregister("_frame")
        self._fresh_day = day

    def refresh(self) -> int:
        """Append the events stored since the last refresh (reading the whole log again if rows up to the
        last one read were deleted); the assignment and the day's freshness too. Returns the last seq."""
        with self._write:
            cur = self._cur()
            if self._rows and self._count_upto(self._seq) != self._rows:  # a mentee forgotten by some process
                log.info("console: events were deleted from the log; reading it again")
                cur.execute("DELETE FROM ev")
                self._seq = self._rows = 0
            while True:
                rows = self.fetch("SELECT seq, user_id, item_id, event_type, value, ts_us FROM events "
                                  "WHERE seq > ? ORDER BY seq LIMIT ?", [self._seq, _BATCH])
                if not rows:
                    break
                # columns as lists: pyarrow converts a list about twice as fast as a tuple (0.4 s vs 0.9 s of the
                # GIL for the demo world's 350k events)
                cols = [list(c) for c in zip(*rows)]
                batch = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, _SCHEMA)], schema=_SCHEMA)
                cur.register("_batch", batch)
                cur.execute("INSERT INTO ev SELECT * FROM _batch")
                cur.unregister("_batch")
                self._seq, self._rows = int(rows[-1][0]), self._rows + len(rows)
                if len(rows) < _BATCH:
                    break
            self._refresh_pairs()
            self._refresh_fresh()
            return self._seq

    def _refresh_pairs(self) -> None:
        pairs = self.pairs()
        key = hash(frozenset((u, m) for u, m in pairs.items() if m))
        if key == self._pairs_key:
            return
        cur = self._cur()
        cur.register("_frame", pd.DataFrame([(u, m) for u, m in pairs.items() if m], columns=["user_id", "mentor_id"]))
        cur.execute("CREATE OR REPLACE TABLE assignment AS SELECT * FROM _frame")
        cur.unregister("_frame")
        self._pairs_key = key
        self._pairs_gen += 1

    def forget(self, user_id: str) -> int:
        """Drop a forgotten mentee's events from the copy and the snapshot (which is written again later)."""
        with self._write:
            n = int(self._cur().execute("SELECT COUNT(*) FROM ev WHERE user_id = ?", [user_id]).fetchone()[0])
            if n:
                self._cur().execute("DELETE FROM ev WHERE user_id = ?", [user_id])
                self._rows -= n
                self._drop_snapshot()
            return n

    # ------------------------------------------------------------ the log
    def _sqlite_fetch(self, sql: str, params: list[Any]) -> list[tuple]:
        """Rows of the SQLite event log, on a read-only connection of this call's own (never the service's)."""
        if not self.path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def _count_upto(self, seq: int) -> int:
        rows = self.fetch("SELECT COUNT(*) FROM events WHERE seq <= ?", [seq])
        return int(rows[0][0]) if rows else 0

    def event_id(self, seq: int) -> str | None:
        """The ``event_id`` the log stores at ``seq`` (None if none)."""
        rows = self.fetch("SELECT event_id FROM events WHERE seq = ?", [seq])
        return rows[0][0] if rows else None

    @property
    def rows(self) -> int:
        return self._rows

    def holds(self, seq: int, rows: int, event_id: str | None) -> bool:
        """Whether the log still holds exactly what a copy up to ``seq`` held (the same last row, as many rows)."""
        return event_id is not None and self.event_id(seq) == event_id and self._count_upto(seq) == rows

    # ------------------------------------------------------------ the snapshot
    def load_snapshot(self) -> bool:
        """Start from the Parquet snapshot if the log still holds exactly what it copied; whether it did."""
        d = self.snapshot_dir
        if d is None or self._rows or not (d / _META).exists():
            return False
        try:
            meta = json.loads((d / _META).read_text())
            seq, rows, event_id = int(meta["seq"]), int(meta["rows"]), str(meta["event_id"])
            path = d / _PARQUET.format(seq=seq)
            if not path.exists() or not self.holds(seq, rows, event_id):
                return False
            with self._write:
                self._cur().execute("INSERT INTO ev SELECT * FROM read_parquet(?)", [str(path)])
                self._seq, self._rows, self._snap_seq = seq, rows, seq
            return True
        except (OSError, ValueError, KeyError, duckdb.Error):
            log.warning("console: the snapshot in %s is unreadable; reading the log", d, exc_info=True)
            return False

    def copy_apart(self, timeout_s: float = 600.0) -> bool:
        """The first copy of a SQLite log, made by a child process (:mod:`serving.analytics.logcopy`: no GIL
        of the service's, a lower priority; the one :func:`start_log_copy` started, if any) and loaded as the
        snapshot; whether it was. False (the caller reads the log here) without a snapshot dir, with rows
        already copied, or on the PostgreSQL log."""
        d = self.snapshot_dir
        if d is None or self._rows or self.fetch != self._sqlite_fetch or not self.path.exists():
            return False
        with _PENDING_LOCK:
            proc = _PENDING.pop(d.resolve(), None)
        try:
            proc = proc or _spawn(self.path, d)
            _, err = proc.communicate(timeout=timeout_s)
        except (OSError, subprocess.TimeoutExpired) as e:
            if proc is not None:
                proc.kill()
                proc.communicate()
            log.warning("console: the log copy process did not finish (%s); reading the log here", e)
            return False
        if proc.returncode != 0:
            log.warning("console: the log copy process failed; reading the log here: %s", (err or "").strip()[-500:])
            return False
        return self.load_snapshot()

    def save_snapshot(self, every: int = 10_000) -> bool:
        """Write the copy to Parquet when it holds ``every`` events more than the snapshot; whether it did.
        Atomic (a temp file renamed), so any worker may write while others read."""
        d = self.snapshot_dir
        if d is None or self._seq == 0 or self._seq - self._snap_seq < every:
            return False
        with self._write:
            seq, rows = self._seq, self._rows
            event_id = self.event_id(seq)
            if event_id is None:
                return False
            d.mkdir(parents=True, exist_ok=True)
            tmp = d / f".events-{os.getpid()}-{threading.get_ident()}.parquet"
            self._cur().execute(f"COPY (SELECT * FROM ev ORDER BY seq) TO '{tmp}' (FORMAT parquet)")
        publish(d, tmp, seq=seq, rows=rows, event_id=event_id)
        self._snap_seq = seq
        return True

    def _drop_snapshot(self) -> None:
        d = self.snapshot_dir
        if d is not None:
            for f in (d / _META, *d.glob("events-*.parquet")):
                f.unlink(missing_ok=True)
        self._snap_seq = 0
