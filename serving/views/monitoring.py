"""The live monitor: every mentee's status kept current from the event log, alerts cached and recorded.

:class:`MonitorView` follows the event log by arrival number (``EventLog.rows_after``), so
each worker of the service folds every event once, whichever worker stored it, and a
restart rebuilds the statuses from the log. After a batch is stored, the mentees it
touched are re-evaluated (status, risk, alerts); a sweep re-evaluates everyone from
time to time, because silence grows without events. Alerts seen for the first time are
recorded in the :class:`~catalog.alert_store.AlertStore` with their webhook deliveries
(one transaction); the open alerts answer ``GET /monitor/alerts`` from memory.
"""

from __future__ import annotations

import base64
import json
import math
from bisect import bisect_right
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from analysis.monitoring import (
    FEATURE_NAMES, AtRiskClassifier, MenteeStatus, MentorContact, MonitorThresholds, StatusBook,
    evaluate_alerts, feature_vector,
)
from analysis.monitoring.inputs import from_us, to_us
from analysis.monitoring.progress import CompletionMastery, item_main_skill
from analysis.monitoring.state import EVENT_CODE
from catalog.alert_store import AlertStore
from catalog.catalog import World
from catalog.errors import InvalidValueError
from catalog.datadir import DataDir
from catalog.eventlog import EventLog
from catalog.settings import Settings
from serving.errors import Forbidden
from serving.views.mentors import MentorsView
from serving.views.monitor_json import iso_z, alert_json, status_json
from serving.views.monitor_sessions import ContactSource, SessionContacts

__all__ = ["MonitorView", "alert_json", "status_json", "Cohort", "parse_cohort", "open_monitor", "AT_RISK_DIR",
           "AT_RISK_FILE"]

#: Where `skillpath monitor train` saves the at-risk model inside the data dir's models folder.
AT_RISK_DIR, AT_RISK_FILE = "at_risk", "model.npz"

_COMPLETE = EVENT_CODE["complete"]


class Cohort:
    """A cohort filter: the mentees of one mentor (``mentor:<id>``) or who began in a month (``YYYY-MM``)."""

    def __init__(self, mentor: str | None = None, month: str | None = None) -> None:
        self.mentor, self.month = mentor, month


def parse_cohort(text: str | None, world: World) -> Cohort | None:
    if text is None:
        return None
    if text.startswith("mentor:"):
        mid = text[len("mentor:"):]
        if mid not in world.mentors:
            raise InvalidValueError("cohort", f"unknown mentor {mid!r}; use mentor:<mentor id> or YYYY-MM")
        return Cohort(mentor=mid)
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return Cohort(month=text)
    raise InvalidValueError("cohort", f"{text!r} is neither mentor:<mentor id> nor a month YYYY-MM")


def _cursor(user_id: str, alert_id: str) -> str:
    return base64.urlsafe_b64encode(f"{user_id}\x1f{alert_id}".encode()).decode().rstrip("=")


def _uncursor(text: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        user, sep, alert = raw.partition("\x1f")
        if not sep:
            raise ValueError
        return user, alert
    except ValueError:
        raise InvalidValueError("cursor", "not a cursor this service returned; pass next_cursor as is") from None


class MonitorView:
    """Statuses, alerts and acknowledgements over a world, its event log and the alert store."""

    def __init__(self, world: World, log: EventLog, store: AlertStore, *, pairs: Callable[[], Mapping[str, str | None]],
                 assigned_at: Callable[[], datetime | None], model: AtRiskClassifier | None = None,
                 thresholds: MonitorThresholds | None = None, webhook_urls: tuple[str, ...] = (),
                 sweep_interval_s: float = 300.0, sessions: SessionContacts | None = None) -> None:
        th = thresholds or MonitorThresholds()
        # "No contact" is measured once sessions are recorded: without any, it would measure only the
        # assignment's age (_statuses switches the rule on at the first recorded session).
        self.base_thresholds = th
        self.sessions = sessions or SessionContacts(lambda: None)
        self.thresholds = replace(th, mentor_silence_days=math.inf)
        self.world, self.log, self.store, self.model = world, log, store, model
        self.pairs, self.assigned_at = pairs, assigned_at
        self.webhook_urls, self.sweep_interval_s = webhook_urls, sweep_interval_s
        cat = world.catalog
        self.book = StatusBook(item_skill=item_main_skill(cat), thresholds=self.thresholds)
        self.mastery = CompletionMastery(cat, world.mentees)
        self.skill_names = {s: k.name for s, k in cat.skills.items()}
        self.seq = 0
        self._lock = threading.RLock()
        self._alerts: dict[str, list[dict[str, Any]]] = {}
        self._risk: dict[str, float] = {}
        self._flat: list[tuple[str, str, dict[str, Any]]] | None = None
        self._first_seen: dict[str, int] = store.first_seen_all()
        self._last_sweep_us: int | None = None
        self._dirty: set[str] = set()
        self._frag: dict[str, str] = {}   # alert id -> its JSON without mentor and state, closing brace cut

    # ------------------------------------------------------------ keeping current
    def catch_up(self) -> set[str]:
        """Fold every event stored since the last call (by any process); the mentees touched (now dirty)."""
        touched: set[str] = set()
        with self._lock:
            while True:
                rows = self.log.rows_after(self.seq)
                if not rows:
                    self._dirty |= touched
                    return touched
                fold, fold_m, complete = self.book.fold, self.book.state, self.mastery.complete
                for seq, user, item, etype, value, ts in rows:
                    fold(user, ts, etype, item, math.nan if value is None else value)
                    if etype == "complete":
                        st = fold_m(user)
                        for skill, m in complete(user, item):
                            st.fold_mastery(skill, ts, m)
                    touched.add(user)
                self.seq = rows[-1][0]

    def after_ingest(self) -> int:
        """Fold the events just stored (the ingest path): the statuses are current at once; the touched
        mentees' alerts are re-evaluated at the next read of the alert list or tick, off the ingest path."""
        return len(self.catch_up())

    def mark_dirty(self, users: Iterable[str]) -> None:
        """Re-evaluate ``users`` at the next read or tick (a session recorded for them, for example)."""
        with self._lock:
            self._dirty |= set(users)

    def refresh_dirty(self, now: datetime) -> list[str]:
        """Re-evaluate the mentees touched since their last evaluation; the alert ids new here."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        return self.refresh(dirty, now) if dirty else []

    def maybe_sweep(self, now: datetime) -> list[str]:
        """The timer's work: re-evaluate touched mentees, and everyone once ``sweep_interval_s`` has passed."""
        self.catch_up()
        now_us = to_us(now)
        last = self._last_sweep_us
        if last is not None and (self.sweep_interval_s <= 0 or now_us - last < self.sweep_interval_s * 1e6):
            return self.refresh_dirty(now)
        return self.sweep(now)

    def sweep(self, now: datetime) -> list[str]:
        self.catch_up()
        with self._lock:
            self._last_sweep_us = to_us(now)
            users = set(self.book.states) | set(self.world.mentees)
            self._dirty = set()
        return self.refresh(users, now)

    def _inputs(self, user_id: str, pairs: Mapping[str, str | None], assigned: datetime | None) -> dict[str, Any]:
        m = self.world.mentees.get(user_id)
        out: dict[str, Any] = {"goals": m.goals if m is not None else (), "mentee": m}
        mid = pairs.get(user_id)
        if mid and assigned is not None and mid in self.world.mentors:
            mentor = self.world.mentors[mid]
            out["mentor"] = MentorContact(mid, assigned, None, mentor.skills, mentor.name,
                                          *self.sessions.marks(user_id, mid))
        return out

    def _statuses(self, users: Iterable[str], now_us: int) -> list[MenteeStatus]:
        self.sessions.refresh()
        th = self.base_thresholds if self.sessions.any else replace(self.base_thresholds,
                                                                   mentor_silence_days=math.inf)
        self.thresholds = th       # what refresh() evaluates alerts with (the kept states do not use it)
        pairs, assigned = self.pairs(), self.assigned_at()
        book, out = self.book, []
        for u in users:
            st = book.states.get(u)
            at = now_us if st is None else max(now_us, st.watermark)  # an event stamped in the future
            out.append(book.status(u, at, **self._inputs(u, pairs, assigned)))
        return out

    def _risks(self, statuses: list[MenteeStatus]) -> dict[str, float]:
        if self.model is None or not statuses:
            return {}
        import numpy as np

        X = np.array([feature_vector(s, fail_window=self.thresholds.fail_window,
                                     pass_score=self.thresholds.pass_score) for s in statuses])
        names = list(FEATURE_NAMES)
        X = X[:, [names.index(f) for f in self.model.feature_names_]]
        p = self.model.predict_proba(X)[:, 1]
        return {s.user_id: round(float(x), 4) for s, x in zip(statuses, p.tolist())}

    def refresh(self, users: Iterable[str], now: datetime) -> list[str]:
        """Re-evaluate ``users`` at ``now``: cache their alerts, record the ones never seen; return those ids."""
        now_us = to_us(now)
        with self._lock:
            statuses = self._statuses(sorted(users), now_us)
            risk = self._risks(statuses)
            alerts = evaluate_alerts(statuses, risk=risk, thresholds=self.thresholds, skill_names=self.skill_names)
            pairs = self.pairs()
            by_user: dict[str, list[dict[str, Any]]] = {s.user_id: [] for s in statuses}
            for a in alerts:
                by_user[a.user_id].append(alert_json(a, risk=risk.get(a.user_id), mentor_id=pairs.get(a.user_id)))
            fresh = [a for rows in by_user.values() for a in rows if a["alert_id"] not in self._first_seen]
        new = self.store.record(fresh, now_us=now_us, urls=self.webhook_urls) if fresh else []
        seen = self.store.first_seen([a["alert_id"] for a in fresh]) if fresh else {}
        with self._lock:
            self._first_seen.update(seen)
            for rows in by_user.values():
                for a in rows:
                    a["first_seen"] = iso_z(self._first_seen.get(a["alert_id"]))
                    body = {k: v for k, v in a.items() if k != "mentor_id"}
                    self._frag[a["alert_id"]] = json.dumps(body, separators=(",", ":"), allow_nan=False)[:-1]
            for u, rows in by_user.items():
                if rows:
                    self._alerts[u] = rows
                else:
                    self._alerts.pop(u, None)
            self._risk.update(risk)
            self._flat = None
        return new

    # ------------------------------------------------------------ reads
    def status(self, user_id: str, now: datetime) -> dict[str, Any]:
        """The kept status of one mentee now, with its risk and open alerts."""
        self.catch_up()
        if user_id in self._dirty:
            with self._lock:
                self._dirty.discard(user_id)
            self.refresh([user_id], now)
        with self._lock:
            s = self._statuses([user_id], to_us(now))[0]
            risk = self._risks([s]).get(user_id)
            acks = self.store.acks(user_id)
            now_us = to_us(now)
            alerts = [self._with_ack(a, acks.get(a["alert_id"]), now_us) for a in self._alerts.get(user_id, [])]
        return status_json(s, risk=risk, alerts=alerts)

    @staticmethod
    def _with_ack(a: dict[str, Any], ack, now_us: int) -> dict[str, Any]:
        if ack is None:
            return {**a, "state": "open", "snoozed_until": None}
        if ack.state == "snooze" and now_us >= (ack.until_us or 0):
            return {**a, "state": "open", "snoozed_until": None}
        return {**a, "state": "acknowledged" if ack.state == "ack" else "snoozed",
                "snoozed_until": iso_z(ack.until_us)}

    def _rows(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self._lock:
            if self._flat is None:
                self._flat = sorted((u, a["alert_id"], a) for u, rows in self._alerts.items() for a in rows)
            return self._flat

    def _select(self, *, now: datetime, cohort: Cohort | None, min_risk: float | None, cursor: str | None,
                limit: int, include_acknowledged: bool, visible: Callable[[str], bool] | None):
        """The page: ``(alert dict, state, snoozed_until, mentor id)`` rows and the next cursor."""
        if min_risk is not None and self.model is None:
            raise InvalidValueError("min_risk", "no at-risk model is loaded; train one with `skillpath monitor "
                                                "train` (alerts are still listed without min_risk)")
        after = _uncursor(cursor) if cursor else None
        self.catch_up()
        self.refresh_dirty(now)
        now_us = to_us(now)
        rows = self._rows()
        acks = self.store.acks()
        pairs = self.pairs()
        first_month = self._month_filter(cohort)
        start = bisect_right(rows, after, key=lambda r: (r[0], r[1])) if after is not None else 0
        out: list[tuple[dict[str, Any], str, str | None, str | None]] = []
        nxt = None
        for k in range(start, len(rows)):
            u, aid, a = rows[k]
            if visible is not None and not visible(u):
                continue
            mentor = pairs.get(u)
            if cohort is not None and (mentor != cohort.mentor if cohort.mentor else not first_month(u)):
                continue
            if min_risk is not None and (a["risk"] is None or a["risk"] < min_risk):
                continue
            state, until = "open", None
            ack = acks.get(aid)
            if ack is not None and ack.silences(now_us):
                if not include_acknowledged:
                    continue
                state, until = ("acknowledged", None) if ack.state == "ack" else ("snoozed", iso_z(ack.until_us))
            if len(out) == limit:
                nxt = _cursor(out[-1][0]["user_id"], out[-1][0]["alert_id"])
                break
            out.append((a, state, until, mentor))
        return out, nxt

    def alerts(self, *, now: datetime, cohort: Cohort | None = None, min_risk: float | None = None,
               cursor: str | None = None, limit: int = 100, include_acknowledged: bool = False,
               visible: Callable[[str], bool] | None = None) -> dict[str, Any]:
        """Open alerts ordered by mentee then id, ``limit`` per page; ``next_cursor`` continues after the last."""
        page, nxt = self._select(now=now, cohort=cohort, min_risk=min_risk, cursor=cursor, limit=limit,
                                 include_acknowledged=include_acknowledged, visible=visible)
        return {"alerts": [{**a, "mentor_id": m, "state": st, "snoozed_until": un} for a, st, un, m in page],
                "next_cursor": nxt, "model": self.model is not None}

    def alerts_json(self, **query: Any) -> str:
        """:meth:`alerts` as the JSON text the route answers, spliced from each alert's cached encoding
        (encoding 10,000 alerts afresh per call would cost more than finding them)."""
        page, nxt = self._select(**query)
        frag = self._frag
        parts = []
        for a, st, un, m in page:  # ids match ID_REGEX: no character needs escaping
            who = ',"mentor_id":null' if m is None else f',"mentor_id":"{m}"'
            state = ',"state":"open","snoozed_until":null}' if st == "open" else \
                f',"state":"{st}","snoozed_until":{json.dumps(un)}}}'
            parts.append(frag[a["alert_id"]] + who + state)
        return (f'{{"alerts":[{",".join(parts)}],"next_cursor":{json.dumps(nxt)},'
                f'"model":{"true" if self.model is not None else "false"}}}')

    def _month_filter(self, cohort: Cohort | None) -> Callable[[str], bool]:
        if cohort is None or cohort.month is None:
            return lambda u: True
        states = self.book.states

        def began(u: str) -> bool:
            st = states.get(u)
            return st is not None and st.first_us != 0 and from_us(st.first_us).strftime("%Y-%m") == cohort.month
        return began

    def ack(self, alert_id: str, *, action: str, until: datetime | None, note: str, by: str, now: datetime,
            may: Callable[[str], bool] | None = None) -> dict[str, Any]:
        """Acknowledge an alert, or snooze it until ``until``; ``may(user_id)`` refuses other people's alerts."""
        rec = self.store.get(alert_id)
        if may is not None and not may(rec.user_id):
            raise Forbidden(f"this key may not act on alerts about mentee {rec.user_id!r}", ("path", "alert_id"))
        if action == "snooze" and until is None:
            raise InvalidValueError("until", "a snooze needs the date or time it ends")
        if action == "ack" and until is not None:
            raise InvalidValueError("until", "only a snooze has an end; leave until out to acknowledge")
        ack = self.store.ack(alert_id, by=by, now_us=to_us(now), until_us=None if until is None else to_us(until),
                             note=note)
        return {"alert_id": alert_id, "user_id": rec.user_id, "state": "acknowledged" if ack.state == "ack"
                else "snoozed", "snoozed_until": iso_z(ack.until_us), "by": by, "at": iso_z(ack.at_us), "note": note}

    def forget(self, user_id: str) -> int:
        """Forget a mentee: their status and their alerts, acknowledgements and outbox rows."""
        self.book.states.pop(user_id, None)
        return self.store.forget_user(user_id)

    def close(self) -> None:
        self.store.close()


def open_monitor(settings: Settings, world: World, log: EventLog, mentors: MentorsView,
                 now: datetime, sessions: Callable[[], ContactSource | None] | None = None) -> MonitorView | None:
    """The service's monitor (None when ``monitoring.enabled`` is off): the alert store beside the event log,
    the at-risk model when one is saved, statuses folded from the whole log and a first sweep."""
    ms = settings.monitoring
    if not ms.enabled:
        return None
    model_path = ms.model_path or DataDir(settings.data_dir).models / AT_RISK_DIR / AT_RISK_FILE
    model = AtRiskClassifier.load(model_path) if Path(model_path).exists() else None

    def assigned_at() -> datetime | None:
        try:
            return datetime.fromtimestamp(mentors.path.stat().st_mtime, tz=timezone.utc)
        except FileNotFoundError:
            return None

    # Beside the event log: the data dir's SQLite file, or PostgreSQL shared by the replicas.
    store = AlertStore(DataDir(settings.data_dir).events_db, database_url=settings.database_url)
    view = MonitorView(world, log, store, pairs=mentors.pairs, assigned_at=assigned_at, model=model,
                       webhook_urls=ms.webhooks, sweep_interval_s=ms.sweep_interval_s,
                       sessions=SessionContacts(sessions) if sessions is not None else None)
    view.sweep(now)
    return view
