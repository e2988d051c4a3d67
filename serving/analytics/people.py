"""At-risk mentees, a mentor's caseload and a mentee's recent activity, through the pure monitoring core.

A small adapter of :mod:`analysis.monitoring`: one :class:`~analysis.monitoring.StatusBook` folds the
event log as the analytics store reads it (only the new events on each refresh: the fold does not
depend on order), and :func:`~analysis.monitoring.evaluate_alerts` turns the statuses at the service's
time into alerts with their reasons. Mentor contacts are not known here, so mentor alerts are not raised.
"""

from __future__ import annotations

import threading

import pandas as pd

from analysis.monitoring import Alert, MenteeStatus, StatusBook, evaluate_alerts
from serving.analytics.store import AnalyticsStore, Table

__all__ = ["PeopleAnalytics"]


class PeopleAnalytics:
    """Statuses and alerts of every mentee, kept current from the analytics store's events."""

    def __init__(self, store: AnalyticsStore) -> None:
        self.store = store
        cat = store.world.catalog
        self.book = StatusBook(item_skill={r.item_id: r.skills[0].skill_id for r in cat.resources if r.skills})
        self.names = {s.skill_id: s.name for s in cat.graph.skills.values()}
        self._folded = 0
        self._lock = threading.Lock()
        self._day = None
        self._statuses: dict[str, MenteeStatus] = {}
        self._by_user: dict[str, list[Alert]] = {}

    def _fold(self) -> set[str]:
        """Fold the events read since the last fold; the mentees they touch."""
        with self._lock:  # the store refreshed the log just before (AnalyticsStore.cached)
            new = self.store.new_events(self._folded)
            if not len(new):
                return set()
            new["timestamp"] = pd.to_datetime(new["ts_us"], unit="us", utc=True).astype("datetime64[us, UTC]")
            self.book.fold_events(new)
            self._folded = int(new["seq"].iloc[-1])
            return set(new["user_id"].unique().tolist())

    def _alerts(self) -> tuple[dict[str, MenteeStatus], list[Alert]]:
        """Statuses and alerts at the service's time: on a new day every mentee's, otherwise only those of
        mentees with new events are recomputed (the others keep today's earlier reading)."""
        def build() -> tuple[dict[str, MenteeStatus], list[Alert]]:
            touched = self._fold()
            now, world = self.store.clock(), self.store.world
            if now.date() != self._day:
                self._day, touched = now.date(), set(self.book.states)
            todo = [u for u in touched if u in world.mentees]
            fresh = {u: self.book.status(u, now, goals=world.mentees[u].goals, mentee=world.mentees[u]) for u in todo}
            for u in todo:
                self._by_user[u] = []
            for a in evaluate_alerts(list(fresh.values()), skill_names=self.names):
                self._by_user[a.user_id].append(a)
            self._statuses.update(fresh)
            return dict(self._statuses), [a for u in sorted(self._by_user) for a in self._by_user[u]]
        return self.store.cached(("alerts",), build)  # type: ignore[no-any-return]

    def at_risk(self, user_ids: set[str] | None = None, limit: int = 200) -> Table:
        """Mentees with alerts, most severe first, each alert's reason and suggested action."""
        _, alerts = self._alerts()
        pairs = self.store.pairs()
        rows = [[a.user_id, pairs.get(a.user_id), a.kind, a.severity, a.reason, a.intervention.kind]
                for a in alerts if user_ids is None or a.user_id in user_ids]
        rows.sort(key=lambda r: (-r[3], r[0], r[2]))
        return Table("at-risk", ["user_id", "mentor_id", "kind", "severity", "reason", "suggested_action"],
                     rows[:limit], f"{len({r[0] for r in rows})} mentees with alerts (monitoring rules at the "
                                   "service's time); mentor contact alerts need session records and are not "
                                   "raised here.")

    def talking_points(self, user_ids: set[str]) -> Table:
        """Skills each mentee is stuck on (repeated failed assessments), for the mentor's next session."""
        statuses, _ = self._alerts()
        rows = []
        for u in sorted(user_ids):
            s = statuses.get(u)
            for st in (s.struggles if s is not None else ()):
                rows.append([u, st.skill_id, self.names.get(st.skill_id, st.skill_id), st.failed, st.of_last,
                             st.last_score])
        return Table("talking-points", ["user_id", "skill_id", "skill", "failed", "of_last", "last_score"], rows,
                     "Skills where the mentee failed repeated assessments: worth a conversation.")

    def caseload(self, mentor_id: str) -> Table:
        """A mentor's mentees with their activity and open alerts, and the mentor's capacity in the notes."""
        pairs = self.store.pairs()
        mine = sorted(u for u, m in pairs.items() if m == mentor_id)
        statuses, alerts = self._alerts()
        n_alerts: dict[str, int] = {}
        for a in alerts:
            n_alerts[a.user_id] = n_alerts.get(a.user_id, 0) + 1
        rows = []
        for u in mine:
            s = statuses.get(u)
            rows.append([u, None if s is None or s.days_since_activity is None else round(s.days_since_activity, 1),
                         0.0 if s is None else round(s.active_days_per_week, 2), n_alerts.get(u, 0)])
        cap = self.store.world.mentors[mentor_id].capacity
        return Table("caseload", ["user_id", "days_since_activity", "active_days_per_week", "alerts"], rows,
                     f"{len(mine)} of {cap} places taken.")

    def activity(self, user_id: str, limit: int = 20) -> Table:
        """A mentee's latest events, newest first, with resource titles."""
        def build() -> Table:
            df = self.store.sql("""SELECT e.ts, e.event_type, e.item_id, i.title, e.value FROM events e
                                   LEFT JOIN items i USING (item_id) WHERE e.user_id = ?
                                   ORDER BY e.ts DESC, e.seq DESC LIMIT ?""", [user_id, limit])
            return Table.of("activity", df, "The mentee's latest events, newest first.")
        return self.store.cached(("activity", user_id, limit), build)  # type: ignore[no-any-return]
