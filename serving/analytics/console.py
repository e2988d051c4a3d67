"""Every table the console shows, by section and name: what ``GET /analytics/...`` and the pages both read.

One :class:`ConsoleData` per running service, built from what it reads (the world, the event log's
path, the mentor assignment, the clock, the stale report), so a page and its endpoint answer from the
same cached table and their numbers agree.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from catalog.catalog import World
from catalog.errors import UnknownMentorError, UnknownUserError
from serving.analytics import content, programme
from serving.analytics.people import PeopleAnalytics
from serving.analytics.store import AnalyticsStore, Table

__all__ = ["ConsoleData", "PROGRAMME", "CONTENT", "MENTEE", "MENTOR"]

log = logging.getLogger("skillpath.serving")

PROGRAMME = ("active-weekly", "funnel", "goals", "at-risk", "mentor-load", "skills-demand", "cohorts")
CONTENT = ("stale", "coverage", "freshness", "effectiveness")
MENTEE = ("activity", "alerts")
MENTOR = ("caseload", "alerts", "talking-points")


class ConsoleData:
    """Tables by section; ``stale()`` is the service's stale report (``GET /catalog/stale``)."""

    def __init__(self, world: World, events_db: str | Path, *, pairs: Callable[[], Mapping[str, str | None]],
                 clock: Callable[[], datetime], stale: Callable[[], Any], floor: float, threshold: float,
                 fetch: Callable[[str, list[Any]], list[tuple]] | None = None) -> None:
        self.world, self.stale_report, self.threshold = world, stale, threshold
        self.store = AnalyticsStore(world, events_db, pairs=pairs, clock=clock, floor=floor, fetch=fetch)
        self.people = PeopleAnalytics(self.store)

    def warm(self, stop: threading.Event) -> None:
        """Read the log and build every programme and content table, until ``stop`` is set (the owner's
        background thread calls this: the tables are ready before the first page asks)."""
        try:
            for name in (*PROGRAMME, *(c for c in CONTENT if c != "stale")):
                if stop.is_set():  # the service is closing: one table in progress finishes, the rest never start
                    return
                (self.programme if name in PROGRAMME else self.content)(name)
        except Exception:  # warming is an optimisation: a failure here shows up on the page that needs it
            log.exception("warming the console's analytics failed")

    def programme(self, name: str) -> Table:
        s = self.store
        build = {"active-weekly": lambda: programme.active_weekly(s), "funnel": lambda: programme.funnel(s),
                 "goals": lambda: programme.goals(s), "at-risk": lambda: self.people.at_risk(),
                 "mentor-load": lambda: programme.mentor_load(s), "skills-demand": lambda: programme.skills_demand(s),
                 "cohorts": lambda: programme.cohorts(s)}[name]
        return build()

    def content(self, name: str) -> Table:
        s = self.store
        if name == "stale":
            return self.store.cached(("stale",), self._stale)  # type: ignore[no-any-return]
        return {"coverage": lambda: content.coverage(s, self.threshold),
                "freshness": lambda: content.freshness_histogram(s),
                "effectiveness": lambda: content.effectiveness(s)}[name]()

    def _stale(self) -> Table:
        rep = self.stale_report()
        repl = content.replacements(self.store, [i.item_id for i in rep.items], self.threshold)
        titles = {r.item_id: r.title for r in self.world.catalog.resources}
        rows = [[i.item_id, i.title, i.skills, round(i.freshness, 4), round(i.age_days, 1), i.reach_without_decay,
                 i.reach_with_decay, repl.get(i.item_id), titles.get(repl.get(i.item_id) or "")]
                for i in rep.items]
        rows.sort(key=lambda r: (-(r[5] or 0), r[0]))
        return Table("stale", ["item_id", "title", "skills", "freshness", "age_days", "reach_without_decay",
                               "reach_with_decay", "replacement", "replacement_title"], rows,
                     f"{len(rows)} stale of {rep.n_active} active resources (freshness < {rep.threshold:g}); reach "
                     "= mentees whose top-10 the item enters without / with decay; replacement = the freshest "
                     "active resource on its main skill at the nearest level.")

    def page(self, key: tuple, build: Callable[[], str]) -> str:
        """A page's rendered tables and charts, cached like the tables they show (same log version, same day)."""
        return self.store.cached(("page", *key), build)  # type: ignore[no-any-return]

    def mentee(self, user_id: str, name: str) -> Table:
        if user_id not in self.world.mentees:
            raise UnknownUserError(user_id)
        if name == "activity":
            return self.people.activity(user_id)
        return self.people.at_risk({user_id})

    def mentor(self, mentor_id: str, name: str) -> Table:
        if mentor_id not in self.world.mentors:
            raise UnknownMentorError(mentor_id)
        if name == "caseload":
            return self.people.caseload(mentor_id)
        mine = {u for u, m in self.store.pairs().items() if m == mentor_id}
        if name == "alerts":
            return self.people.at_risk(mine)
        return self.people.talking_points(mine)
