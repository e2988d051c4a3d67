"""Every table the console shows, by section and name: what ``GET /analytics/...`` and the pages both read.

One :class:`ConsoleData` per running service. The programme and content tables are built together,
off the request path, by one background thread (``console-refresh``): at start, then whenever the
log, the world, the assignment, the model or the day changed, looked at every ``refresh_s`` seconds
(or at once after a write of the console's own). Requests only read the last built set, so a page
never waits for a rebuild and a stream of events never puts query work on the path of
``/recommend`` beyond that one thread (whose duckdb work releases the GIL). The set is saved to
``tables.json`` beside the log's Parquet snapshot (:mod:`serving.analytics.store`), so a restarted
service shows the last tables at once and replaces them when the first rebuild ends. Only the very
first start on a data dir makes a request wait, for the first build.

A page and its endpoint read the same set, so their numbers agree; people tables (at-risk, a mentor's
caseload) are the live monitor's (:mod:`serving.analytics.people`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from catalog.catalog import World
from catalog.errors import NotReadyError, UnknownMentorError, UnknownUserError
from serving.analytics import content, programme
from serving.analytics.people import PeopleAnalytics
from serving.analytics.store import AnalyticsStore, Table

__all__ = ["ConsoleData", "PROGRAMME", "CONTENT", "MENTEE", "MENTOR"]

log = logging.getLogger("skillpath.serving")

PROGRAMME = ("active-weekly", "funnel", "goals", "at-risk", "mentor-load", "skills-demand", "cohorts")
CONTENT = ("stale", "coverage", "freshness", "effectiveness")
MENTEE = ("activity", "alerts")
MENTOR = ("caseload", "alerts", "talking-points")
#: Built by the refresher, the stale report (reach: every mentee ranked) last; people tables are the monitor's.
_BUILT = tuple(n for n in PROGRAMME + CONTENT if n not in ("at-risk", "stale")) + ("stale",)
_TABLES = "tables.json"
_FIRST_BUILD_S = 120.0


class ConsoleData:
    """Tables by section. ``world()`` is the service's current world, ``stale()`` its stale report
    (``GET /catalog/stale``), ``monitor()`` its live monitor (or None), ``monitor_opening()`` whether that
    monitor is still being built (people tables then say so instead of waiting), ``model()`` the served
    model's version (the stale report's reach depends on it)."""

    def __init__(self, world: Callable[[], World], events_db: str | Path, *,
                 pairs: Callable[[], Mapping[str, str | None]], clock: Callable[[], datetime],
                 stale: Callable[[], Any], floor: float, threshold: float, monitor: Callable[[], Any] = lambda: None,
                 model: Callable[[], Any] = lambda: None, fetch: Callable[[str, list[Any]], list[tuple]] | None = None,
                 snapshot_dir: str | Path | None = None, refresh_s: float = 30.0,
                 monitor_opening: Callable[[], bool] = lambda: False) -> None:
        self.world_of, self.stale_report, self.threshold, self.model = world, stale, threshold, model
        self.refresh_s = refresh_s
        self.store = AnalyticsStore(world(), events_db, pairs=pairs, clock=clock, floor=floor, fetch=fetch,
                                    snapshot_dir=snapshot_dir)
        self.people = PeopleAnalytics(self.store, monitor, ttl_s=refresh_s, opening=monitor_opening)
        self._tables: dict[str, Table] = {}
        self._stamp: tuple | None = None
        self._built_at: datetime | None = None
        self._pages: dict[tuple, str] = {}
        self._ready = threading.Event()
        #: Set once the refresher's first pass has run (built or failed): the service reports ``warm`` after it.
        self.first_pass = threading.Event()
        self._built = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._start_lock = threading.Lock()
        self._load_tables()

    # ------------------------------------------------------------ the refresher
    def start(self, spawn: Callable[[str, Callable[[threading.Event], None]], object] | None = None) -> None:
        """Start the refresher once; the first build begins at once. ``spawn(name, work)`` runs it in a
        thread its owner stops and joins (the service: ``SkillPathApp.background.start``); without it, in a
        thread of this object's, which :meth:`stop` joins (tests, tools)."""
        with self._start_lock:
            if self._started:
                return
            self._started = True
            if spawn is not None:
                spawn("console-refresh", self._run)
                return
            # Not a daemon, said explicitly (a thread inherits daemon from its creator): one stopped inside
            # duckdb's C++ at interpreter exit aborts the process. It ends on stop() or once the main thread
            # has ended, between two builds.
            self._thread = threading.Thread(target=self._run, args=(self._stop,), name="console-refresh",
                                            daemon=False)
            self._thread.start()

    def stop(self, timeout_s: float = 60.0) -> None:
        """End the refresher after the build in progress, and wait for it when it is this object's thread."""
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout_s)

    def wake(self) -> None:
        """Look for changes now rather than at the next ``refresh_s`` tick (after a write of the console's)."""
        self._wake.set()

    def _run(self, stop: threading.Event) -> None:
        if self.store.load_snapshot():
            log.info("console: event log snapshot loaded up to seq %d", self.store.version)
        elif self.store.copy_apart():  # a first start: the log is copied by a child process, off our GIL
            log.info("console: event log copied by a child process up to seq %d", self.store.version)
        due = 0.0
        self._wake.set()  # the first build at once
        while not (stop.is_set() or self._stop.is_set()) and threading.main_thread().is_alive():
            woke = self._wake.wait(1.0)
            if not woke and time.monotonic() < due:
                continue
            self._wake.clear()
            try:
                self.rebuild()
            except Exception:  # the last good set keeps serving; the next tick tries again
                log.exception("console: rebuilding the analytics failed")
            self.first_pass.set()
            due = time.monotonic() + self.refresh_s

    def rebuild(self) -> bool:
        """Bring the store up to date and build every programme and content table if anything they
        depend on changed; whether it built. Safe to call from any thread (tests call it directly)."""
        world = self.world_of()
        if world is not self.store.world:
            self.store.set_world(world)
        self.store.refresh()
        stamp = (*self.store.key(), self.model())
        if stamp == self._stamp:
            return False
        first = not self._ready.is_set()
        tables: dict[str, Table] = {}
        for name in _BUILT:
            tables[name] = self._build(name)
            if first:  # nothing shown yet: each table answers as soon as it exists
                with self._built:
                    self._tables = dict(tables)
                    self._built.notify_all()
        with self._built:
            self._tables, self._stamp, self._built_at, self._pages = tables, stamp, self.store.clock(), {}
            self._ready.set()
            self._built.notify_all()
        self._save_tables()
        self.store.save_snapshot()
        return True

    def _build(self, name: str) -> Table:
        s, t = self.store, self.threshold
        return {"active-weekly": lambda: programme.active_weekly(s), "funnel": lambda: programme.funnel(s),
                "goals": lambda: programme.goals(s), "mentor-load": lambda: programme.mentor_load(s),
                "skills-demand": lambda: programme.skills_demand(s), "cohorts": lambda: programme.cohorts(s),
                "stale": self._stale, "coverage": lambda: content.coverage(s, t),
                "freshness": lambda: content.freshness_histogram(s),
                "effectiveness": lambda: content.effectiveness(s)}[name]()

    def _save_tables(self) -> None:
        d = self.store.snapshot_dir
        if d is None:
            return
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{_TABLES}.{os.getpid()}"
        seq = self.store.version
        tmp.write_text(json.dumps({"seq": seq, "rows": self.store.rows, "event_id": self.store.event_id(seq),
                                   "built_at": self._built_at.isoformat(),
                                   "tables": {k: v.to_json() for k, v in self._tables.items()}}))
        os.replace(tmp, d / _TABLES)

    def _load_tables(self) -> None:
        """The last saved set, shown until the first rebuild replaces it (so a restart is not a cold start),
        if the log still holds what it was built from (its last row, and as many rows up to it)."""
        d = self.store.snapshot_dir
        if d is None or not (d / _TABLES).exists():
            return
        try:
            saved = json.loads((d / _TABLES).read_text())
            if not self.store.holds(int(saved["seq"]), int(saved["rows"]), saved["event_id"]):
                return  # another log (a new world, forgotten mentees): nothing of it is shown
            tables = {k: Table.from_json(v) for k, v in saved["tables"].items()}
            if set(tables) != set(_BUILT):
                return
            self._tables, self._built_at = tables, datetime.fromisoformat(saved["built_at"])
            self._ready.set()
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("console: %s is unreadable; the first build replaces it", d / _TABLES, exc_info=True)

    # ------------------------------------------------------------ reads
    def _table(self, name: str) -> Table:
        got = self._tables.get(name)
        if got is not None:
            return got
        self.start()  # the first build (tests and tools may read before the service started it)
        with self._built:
            if not self._built.wait_for(lambda: name in self._tables, _FIRST_BUILD_S):
                raise NotReadyError("the console's tables are still being built; try again in a minute")
            return self._tables[name]

    def pending(self, name: str) -> bool:
        """Whether ``name`` is still being built by the very first build (no set built or saved yet). A page
        may then show its other tables and say this one is coming instead of waiting for it: the stale
        report (every mentee ranked) takes longest, and on a first start the content page waited 5-7 s for
        it. Its endpoint still waits (:meth:`content`), so what a page does show equals its endpoint."""
        return not self._ready.is_set() and name not in self._tables

    @property
    def built_at(self) -> datetime | None:
        return self._built_at

    def programme(self, name: str) -> Table:
        return self.people.at_risk() if name == "at-risk" else self._table(name)

    def content(self, name: str) -> Table:
        return self._table(name)

    def _stale(self) -> Table:
        rep = self.stale_report()
        repl = content.replacements(self.store, [i.item_id for i in rep.items], self.threshold)
        titles = {r.item_id: r.title for r in self.store.world.catalog.resources}
        rows = [[i.item_id, i.title, i.skills, round(i.freshness, 4), round(i.age_days, 1), i.reach_without_decay,
                 i.reach_with_decay, repl.get(i.item_id), titles.get(repl.get(i.item_id) or "")]
                for i in rep.items]
        rows.sort(key=lambda r: (-(r[5] or 0), r[0]))
        return Table("stale", ["item_id", "title", "skills", "freshness", "age_days", "reach_without_decay",
                               "reach_with_decay", "replacement", "replacement_title"], rows,
                     f"{len(rows)} stale of {rep.n_active} active resources (freshness < {rep.threshold:g}); reach "
                     "= mentees whose top-10 the item enters without / with decay; replacement = the freshest "
                     "active resource on its main skill at the nearest level.")

    def page(self, key: tuple, build: Callable[[], str], *, people: bool = False) -> str:
        """A page's rendered tables and charts, kept until the set (or, with ``people``, the monitor) changes."""
        full = (*key, self.people.stamp()) if people else key
        pages = self._pages
        got = pages.get(full)
        if got is None:
            if len(pages) > 256:  # mentee pages are one per mentee and events: keep the memory bounded
                pages.clear()
            got = pages[full] = build()
        return got

    def mentee(self, user_id: str, name: str) -> Table:
        if user_id not in self.world_of().mentees:
            raise UnknownUserError(user_id)
        if name == "activity":
            return self.people.activity(user_id)
        return self.people.at_risk({user_id})

    def mentor(self, mentor_id: str, name: str) -> Table:
        if mentor_id not in self.world_of().mentors:
            raise UnknownMentorError(mentor_id)
        if name == "caseload":
            return self.people.caseload(mentor_id)
        mine = {u for u, m in self.store.pairs().items() if m == mentor_id}
        if name == "alerts":
            return self.people.at_risk(mine)
        return self.people.talking_points(mine)

    def forget(self, user_id: str) -> int:
        """The forgetters' hook: the mentee's events leave the copy and its snapshot; tables rebuild."""
        n = self.store.forget(user_id)
        self._stamp = None
        self.wake()
        return n
