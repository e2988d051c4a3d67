"""Kept statuses for many mentees, and the same fold replayed up to a cut for training rows.

:class:`StatusBook` keeps one :class:`MenteeState` per mentee and folds events as they
arrive (serving). :func:`statuses_at` replays a history once, in time order, and reads
each requested (mentee, time) as soon as every event up to that time is folded
(training): one implementation, so a model never trains on a feature the live service
would compute differently, and never on an event after the cut.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from analysis.monitoring.config import MonitorThresholds
from analysis.monitoring.inputs import MentorContact, PlanStep, to_us
from analysis.monitoring.state import EVENT_CODE, MenteeState
from analysis.monitoring.status import FEATURE_NAMES, MenteeStatus, feature_vector, snapshot
from catalog.errors import DataValidationError, RowError
from catalog.schema import Goal, Mentee

__all__ = ["StatusBook", "MASTERY_COLUMNS", "event_arrays", "status_at", "statuses_at"]

MASTERY_COLUMNS = ("user_id", "skill_id", "timestamp", "mastery")
_EVENT_NEEDS = ("user_id", "item_id", "event_type", "value", "timestamp")


def _ts_us(col: pd.Series) -> np.ndarray:
    dt = col.dtype
    if isinstance(dt, pd.DatetimeTZDtype) and dt.unit == "us" and str(dt.tz) == "UTC":
        return np.asarray(col.array.asi8)        # the canonical event dtype: no conversion
    ts = pd.to_datetime(col, utc=True)
    return ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]").astype(np.int64)


def event_arrays(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(user, ts_us, code, item, value)`` arrays of a canonical events frame."""
    missing = [c for c in _EVENT_NEEDS if c not in events.columns]
    if missing:
        raise DataValidationError([RowError(0, c, "column missing") for c in missing], source="events")
    get = EVENT_CODE.get
    codes = np.fromiter((get(t, -1) for t in events["event_type"].tolist()), dtype=np.int64, count=len(events))
    if (codes < 0).any():
        bad = events["event_type"].iloc[int(np.flatnonzero(codes < 0)[0])]
        raise DataValidationError([RowError(0, "event_type", f"unknown event type {bad!r}")], source="events")
    return (events["user_id"].to_numpy(dtype=object), _ts_us(events["timestamp"]),
            codes, events["item_id"].to_numpy(dtype=object),
            events["value"].to_numpy(dtype=np.float64))


class StatusBook:
    """One kept :class:`MenteeState` per mentee.

    Parameters
    ----------
    item_skill
        Item id -> the skill its assessments measure (its main skill). An item missing
        from it is its own skill, so unknown items never stop the fold.
    thresholds
        Windows and caps (:class:`MonitorThresholds`).
    """

    def __init__(self, *, item_skill: Mapping[str, str] | None = None,
                 thresholds: MonitorThresholds | None = None) -> None:
        self.item_skill = dict(item_skill or {})
        self.thresholds = thresholds or MonitorThresholds()
        self.states: dict[str, MenteeState] = {}

    def __len__(self) -> int:
        return len(self.states)

    def state(self, user_id: str) -> MenteeState:
        st = self.states.get(user_id)
        if st is None:
            st = self.states[user_id] = MenteeState(self.thresholds)
        return st

    def fold(self, user_id: str, ts_us: int, event_type: str, item_id: str, value: float = float("nan")) -> None:
        """Fold one event (any order: the state depends on the set of events, not their order)."""
        self.state(user_id).fold(ts_us, EVENT_CODE[event_type], item_id, value, self.item_skill.get(item_id))

    def fold_events(self, events: pd.DataFrame) -> int:
        """Fold a canonical events frame (``catalog.schema.EVENT_COLUMNS``); returns the rows folded."""
        users, ts, codes, items, values = event_arrays(events)
        self._fold_arrays(users, ts, codes, items, values)
        return len(users)

    def _fold_arrays(self, users, ts, codes, items, values) -> None:
        states, th, skill_of = self.states, self.thresholds, self.item_skill.get
        for u, t, c, i, v in zip(users.tolist(), ts.tolist(), codes.tolist(), items.tolist(), values.tolist()):
            st = states.get(u)
            if st is None:
                st = states[u] = MenteeState(th)
            st.fold(t, c, i, v, skill_of(i))

    def fold_mastery(self, points: pd.DataFrame) -> int:
        """Fold mastery points (:data:`MASTERY_COLUMNS`: user_id, skill_id, timestamp, mastery in [0, 1])."""
        users, skills, ts, m = _mastery_arrays(points)
        for u, s, t, x in zip(users.tolist(), skills.tolist(), ts.tolist(), m.tolist()):
            self.state(u).fold_mastery(s, t, x)
        return len(users)

    def status(self, user_id: str, at: datetime | int, *, goals: Sequence[Goal] = (),
               plan: Sequence[PlanStep] = (), mentor: MentorContact | None = None,
               mentee: Mentee | None = None) -> MenteeStatus:
        """The kept status of one mentee at ``at`` (a mentee never seen has an empty status)."""
        at_us = at if isinstance(at, int) else to_us(at)
        st = self.states.get(user_id) or MenteeState(self.thresholds)
        return snapshot(st, user_id, at_us, goals=goals, plan=plan, mentor=mentor, mentee=mentee)


def _mastery_arrays(points: pd.DataFrame):
    missing = [c for c in MASTERY_COLUMNS if c not in points.columns]
    if missing:
        raise DataValidationError([RowError(0, c, "column missing") for c in missing], source="mastery")
    m = points["mastery"].to_numpy(dtype=np.float64)
    bad = ~((m >= 0) & (m <= 1))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DataValidationError([RowError(k + 1, "mastery", f"{m[k]!r} is not in [0, 1]")], source="mastery")
    return (points["user_id"].to_numpy(dtype=object), points["skill_id"].to_numpy(dtype=object),
            _ts_us(points["timestamp"]), m)


def status_at(events: pd.DataFrame, user_id: str, at: datetime, *, mastery: pd.DataFrame | None = None,
              item_skill: Mapping[str, str] | None = None, thresholds: MonitorThresholds | None = None,
              goals: Sequence[Goal] = (), plan: Sequence[PlanStep] = (),
              mentor: MentorContact | None = None, mentee: Mentee | None = None) -> MenteeStatus:
    """The status of one mentee at ``at`` from its events (and mastery points) up to ``at``, from scratch."""
    at_us = to_us(at)
    book = StatusBook(item_skill=item_skill, thresholds=thresholds)
    users, ts, codes, items, values = event_arrays(events)
    keep = (ts <= at_us) & (users == user_id)
    book._fold_arrays(users[keep], ts[keep], codes[keep], items[keep], values[keep])
    if mastery is not None:
        u, s, t, m = _mastery_arrays(mastery)
        for k in np.flatnonzero((t <= at_us) & (u == user_id)).tolist():
            book.state(user_id).fold_mastery(s[k], int(t[k]), float(m[k]))
    return book.status(user_id, at_us, goals=goals, plan=plan, mentor=mentor, mentee=mentee)


Inputs = Callable[[str, int], dict]


def statuses_at(events: pd.DataFrame, cuts: pd.DataFrame, *, mastery: pd.DataFrame | None = None,
                item_skill: Mapping[str, str] | None = None, thresholds: MonitorThresholds | None = None,
                inputs: Inputs | None = None, as_features: bool = True) -> pd.DataFrame | list[MenteeStatus]:
    """Statuses at many (mentee, time) cuts from one time-ordered replay of the history.

    ``cuts`` has ``user_id`` and ``at`` (UTC timestamps). ``inputs(user_id, at_us)`` may
    return the keyword inputs of :func:`snapshot` valid at that time (``goals``, ``plan``,
    ``mentor``, ``mentee``). Returns a frame with ``user_id``, ``at`` and :data:`FEATURE_NAMES` (in
    the order of ``cuts``), or the statuses themselves with ``as_features=False``.
    A cut sees exactly the events with a timestamp at or before it.
    """
    th = thresholds or MonitorThresholds()
    book = StatusBook(item_skill=item_skill, thresholds=th)
    users, ts, codes, items, values = event_arrays(events)
    order = np.argsort(ts, kind="stable")
    users, ts, codes, items, values = users[order], ts[order], codes[order], items[order], values[order]
    if mastery is not None:
        mu, ms, mt, mm = _mastery_arrays(mastery)
        morder = np.argsort(mt, kind="stable")
        mu, ms, mt, mm = mu[morder], ms[morder], mt[morder], mm[morder]
    else:
        mt = np.zeros(0, dtype=np.int64)
    cut_users = cuts["user_id"].to_numpy(dtype=object)
    cut_us = _ts_us(cuts["at"])
    out: list[MenteeStatus | None] = [None] * len(cuts)
    e = p = 0
    for k in np.argsort(cut_us, kind="stable").tolist():
        t = int(cut_us[k])
        e2 = int(np.searchsorted(ts, t, side="right"))
        if e2 > e:
            book._fold_arrays(users[e:e2], ts[e:e2], codes[e:e2], items[e:e2], values[e:e2])
            e = e2
        p2 = int(np.searchsorted(mt, t, side="right"))
        for j in range(p, p2):
            book.state(mu[j]).fold_mastery(ms[j], int(mt[j]), float(mm[j]))
        p = max(p, p2)
        extra = inputs(cut_users[k], t) if inputs is not None else {}
        out[k] = book.status(cut_users[k], t, **extra)
    statuses: list[MenteeStatus] = [s for s in out if s is not None]
    if not as_features:
        return statuses
    rows = [feature_vector(s, fail_window=th.fail_window, pass_score=th.pass_score) for s in statuses]
    frame = pd.DataFrame(rows, columns=list(FEATURE_NAMES), dtype=np.float64)
    frame.insert(0, "at", pd.to_datetime(cut_us, unit="us", utc=True))
    frame.insert(0, "user_id", cut_users)
    return frame

