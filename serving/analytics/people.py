"""At-risk mentees, a mentor's caseload and talking points, a mentee's recent activity.

Statuses and alerts are the service's live monitor's (:class:`serving.views.monitoring.MonitorView`,
folded once at start and kept current by ingestion and the timer's sweeps): the console reads them,
it never folds the log a second time (that fold is per-event Python, seconds of the GIL on the
demo world). They are read again at most every ``ttl_s`` seconds (30: the console's refresh).
Without a monitor (``monitoring.enabled`` off) the tables are empty and say why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from serving.analytics.store import AnalyticsStore, Table

__all__ = ["PeopleAnalytics"]

_OFF = "Monitoring is off (monitoring.enabled): no statuses or alerts to show."
_OPENING = ("The monitor is still starting (it folds the whole log once, right after the service is ready): "
            "statuses and alerts show here in a minute.")


class PeopleAnalytics:
    """Tables about people, from the monitor (statuses, alerts) and the analytics store (activity)."""

    def __init__(self, store: AnalyticsStore, monitor: Callable[[], Any], *, ttl_s: float = 30.0,
                 opening: Callable[[], bool] = lambda: False) -> None:
        self.store, self.monitor, self.ttl_s, self.opening = store, monitor, ttl_s, opening
        cat = store.world.catalog
        self.names = {s.skill_id: s.name for s in cat.graph.skills.values()}
        self._lock = threading.Lock()
        self._alerts: tuple[tuple, list[dict[str, Any]]] | None = None
        self._status: dict[tuple, dict[str, Any]] = {}

    def stamp(self) -> tuple:
        """When the people tables are read again: every ``ttl_s`` seconds (not on every event: reading all
        open alerts is Python work a stream of events would otherwise repeat on each page)."""
        return int(time.monotonic() // self.ttl_s), self.store.clock().date(), self.opening()

    def _note(self, ready: str) -> str:
        """Why a people table is empty, or ``ready``. While the monitor opens (``opening()``), pages do not
        wait for it: on a first start that fold took 10-25 s, and every programme page view waited."""
        if self.opening():
            return _OPENING
        return _OFF if self.monitor() is None else ready

    def _open_alerts(self) -> list[dict[str, Any]]:
        m = None if self.opening() else self.monitor()
        if m is None:
            return []
        stamp = self.stamp()
        got = self._alerts
        if got is not None and got[0] == stamp:
            return got[1]
        alerts = m.alerts(now=self.store.clock(), limit=1_000_000)["alerts"]
        with self._lock:
            self._alerts = (stamp, alerts)
            self._status = {k: v for k, v in self._status.items() if k[1:] == stamp}
        return alerts

    def _statuses(self, user_ids: list[str]) -> dict[str, dict[str, Any]]:
        m = None if self.opening() else self.monitor()
        if m is None:
            return {}
        stamp, now, out = self.stamp(), self.store.clock(), {}
        for u in user_ids:
            got = self._status.get((u, *stamp))
            if got is None:
                got = self._status[(u, *stamp)] = m.status(u, now)
            out[u] = got
        return out

    def at_risk(self, user_ids: set[str] | None = None, limit: int = 200) -> Table:
        """Mentees with open alerts, most severe first, each alert's reason and suggested action."""
        rows = [[a["user_id"], a["mentor_id"], a["kind"], a["severity"], a["reason"], a["intervention"]["kind"]]
                for a in self._open_alerts() if user_ids is None or a["user_id"] in user_ids]
        rows.sort(key=lambda r: (-r[3], r[0], r[2]))
        notes = self._note(f"{len({r[0] for r in rows})} mentees with open alerts (the service's monitor: "
                           "docs/monitoring.md); acknowledged and snoozed alerts are left out.")
        return Table("at-risk", ["user_id", "mentor_id", "kind", "severity", "reason", "suggested_action"],
                     rows[:limit], notes)

    def talking_points(self, user_ids: set[str]) -> Table:
        """Skills each mentee is stuck on (repeated failed assessments), for the mentor's next session."""
        rows = []
        for u, s in sorted(self._statuses(sorted(user_ids)).items()):
            for st in s["assessments"]["struggles"]:
                rows.append([u, st["skill_id"], self.names.get(st["skill_id"], st["skill_id"]), st["failed"],
                             st["of_last"], st["since"]])
        return Table("talking-points", ["user_id", "skill_id", "skill", "failed", "of_last", "since"], rows,
                     self._note("Skills where the mentee failed repeated assessments: worth a conversation."))

    def caseload(self, mentor_id: str) -> Table:
        """A mentor's mentees with their activity and open alerts, and the mentor's capacity in the notes."""
        mine = sorted(u for u, m in self.store.pairs().items() if m == mentor_id)
        statuses = self._statuses(mine)
        rows = []
        for u in mine:
            s = statuses.get(u)
            e = None if s is None else s["engagement"]
            rows.append([u, None if e is None else e["days_since_activity"],
                         None if e is None else e["active_days_per_week"],
                         0 if s is None else sum(a["state"] == "open" for a in s["alerts"])])
        mentor = self.store.world.mentors.get(mentor_id)
        cap = '?' if mentor is None else mentor.capacity
        return Table("caseload", ["user_id", "days_since_activity", "active_days_per_week", "alerts"], rows,
                     f"{len(mine)} of {cap} places taken.")

    def activity(self, user_id: str, limit: int = 20) -> Table:
        """A mentee's latest events, newest first, with resource titles: read from the log itself (its
        index on user and time), so the page never waits for the console's copy of the log."""
        rows = self.store.fetch("SELECT ts_us, event_type, item_id, value FROM events WHERE user_id = ? "
                                "ORDER BY ts_us DESC, seq DESC LIMIT ?", [user_id, limit])
        titles = self.store.titles()
        df = pd.DataFrame([(pd.Timestamp(ts, unit="us", tz="UTC"), kind, item, titles.get(item), value)
                           for ts, kind, item, value in rows], columns=["ts", "event_type", "item_id", "title", "value"])
        return Table.of("activity", df, "The mentee's latest events, newest first.")
