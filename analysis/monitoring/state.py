"""The kept state of one mentee, folded one event at a time.

The state is a function of the *set* of events folded so far, not of their order: every
field is a maximum, a sum, or the newest ``k`` entries of a sorted list, and windows are
trimmed relative to the newest timestamp seen. So folding a late event gives the same
state as folding the history in time order, and the status at a time ``t`` computed
from "every event up to ``t``" (training data) equals the status kept current event by
event (serving). Memory per mentee is bounded by the windows and caps in
:class:`~analysis.monitoring.config.MonitorThresholds`, except ``touched`` (one entry per
item the mentee ever touched).
"""

from __future__ import annotations

from bisect import bisect_right, insort

from analysis.monitoring.config import DAY_US, MonitorThresholds
from catalog.schema import EVENT_TYPES

__all__ = ["MenteeState", "EVENT_CODE", "N_TYPES", "IMPRESSION", "DISMISS", "ASSESS", "POSITIVE", "TOUCH"]

EVENT_CODE: dict[str, int] = {t: k for k, t in enumerate(EVENT_TYPES)}
N_TYPES = len(EVENT_TYPES)
IMPRESSION, VIEW, DISMISS, ASSESS = (EVENT_CODE[t] for t in ("impression", "view", "dismiss", "assess"))
# Events that break a run of dismissals: the mentee did something with the content.
POSITIVE = frozenset(EVENT_CODE[t] for t in ("start", "complete", "like", "bookmark", "assess"))
# Events that count as working on an item (a planned step is "touched").
TOUCH = frozenset(EVENT_CODE[t] for t in ("view", "start", "complete", "like", "bookmark", "assess"))
_NEG = -(1 << 62)


class MenteeState:
    """Everything the status of one mentee needs, kept incrementally.

    Timestamps are integer microseconds (UTC). ``watermark`` is the newest timestamp
    folded (any event or mastery point): a status is only defined at or after it.
    """

    __slots__ = (
        "th", "watermark", "first_us", "last_us", "max_day", "days", "counts", "assess", "recent",
        "n_assess", "n_fail", "last_positive", "dismissals", "touched", "mastery", "n_events",
    )

    def __init__(self, thresholds: MonitorThresholds) -> None:
        self.th = thresholds
        self.watermark = _NEG
        self.first_us = 0          # first / last activity (any event but an impression); 0 = none
        self.last_us = 0
        self.max_day = _NEG        # newest active day; days older than the two engagement windows are dropped
        self.days: dict[int, list[int]] = {}               # active day -> event counts by type
        self.counts = [0] * N_TYPES                        # lifetime counts by type
        self.assess: dict[str, list[tuple[int, float, str]]] = {}  # skill -> newest (ts, score, item), sorted
        self.recent: list[tuple[int, float, str]] = []     # newest assessments over all skills
        self.n_assess = 0
        self.n_fail = 0
        self.last_positive = _NEG
        self.dismissals: list[int] = []                    # dismissals after the last positive event
        self.touched: dict[str, int] = {}                  # item -> newest touch
        self.mastery: dict[str, _Series] = {}
        self.n_events = 0

    # ------------------------------------------------------------------ events
    def fold(self, ts: int, code: int, item: str, value: float, skill: str | None) -> None:
        """Fold one event (``code`` from :data:`EVENT_CODE`; ``skill`` = the item's main skill)."""
        self.n_events += 1
        if ts > self.watermark:
            self.watermark = ts
        self.counts[code] += 1
        if code == IMPRESSION:
            return
        if self.first_us == 0 or ts < self.first_us:
            self.first_us = ts
        if ts > self.last_us:
            self.last_us = ts
        self._day(ts // DAY_US, code)
        if code in TOUCH:
            if ts > self.touched.get(item, _NEG):
                self.touched[item] = ts
        if code == DISMISS:
            if ts > self.last_positive:
                d = self.dismissals
                insort(d, ts)
                if len(d) > self.th.dismiss_run_cap:
                    del d[0]
        elif code in POSITIVE and ts > self.last_positive:
            self.last_positive = ts
            d = self.dismissals
            if d:
                del d[: bisect_right(d, ts)]
        if code == ASSESS and value == value:   # a score (NaN = none)
            self._assess(ts, float(value), item, skill if skill is not None else item)

    def _day(self, day: int, code: int) -> None:
        keep = 2 * self.th.engagement_window_days
        if day > self.max_day:
            self.max_day = day
            if len(self.days) >= keep:
                low = day - keep + 1
                for old in [k for k in self.days if k < low]:
                    del self.days[old]
        elif day <= self.max_day - keep:
            return
        row = self.days.get(day)
        if row is None:
            row = self.days[day] = [0] * N_TYPES
        row[code] += 1

    def _assess(self, ts: int, score: float, item: str, skill: str) -> None:
        entry = (ts, score, item)
        self.n_assess += 1
        self.n_fail += score < self.th.pass_score
        rows = self.assess.get(skill)
        if rows is None:
            rows = self.assess[skill] = []
        insort(rows, entry)
        if len(rows) > self.th.assessments_kept:
            del rows[0]
        insort(self.recent, entry)
        if len(self.recent) > self.th.assessments_kept:
            del self.recent[0]

    # ------------------------------------------------------------------ mastery
    def fold_mastery(self, skill: str, ts: int, mastery: float) -> None:
        """Fold one point of the mastery series of ``skill`` (any order, like events)."""
        if ts > self.watermark:
            self.watermark = ts
        series = self.mastery.get(skill)
        if series is None:
            series = self.mastery[skill] = _Series()
        series.add(ts, float(mastery), self.th.progress_window_days * DAY_US)


class _Series:
    """A mastery series trimmed to a window before its newest point, plus the last point before it.

    That is exactly what "mastery now" and "mastery one window ago" need at any time at
    or after the newest point.
    """

    __slots__ = ("points", "before")

    def __init__(self) -> None:
        self.points: list[tuple[int, float]] = []
        self.before: tuple[int, float] | None = None

    def add(self, ts: int, m: float, window: int) -> None:
        pts = self.points
        newest = pts[-1][0] if pts else _NEG
        low = max(newest, ts) - window
        if ts < low:
            if self.before is None or (ts, m) > self.before:
                self.before = (ts, m)
            return
        insort(pts, (ts, m))
        if ts > newest and pts[0][0] < low:
            cut = 0
            while pts[cut][0] < low:
                cut += 1
            last_out = pts[cut - 1]
            if self.before is None or last_out > self.before:
                self.before = last_out
            del pts[:cut]

    def value_at(self, ts: int) -> tuple[int, float] | None:
        """The newest point at or before ``ts`` (``ts`` must be >= the window's start)."""
        k = bisect_right(self.points, (ts, float("inf")))
        if k:
            return self.points[k - 1]
        return self.before if self.before is not None and self.before[0] <= ts else None

    def first(self) -> tuple[int, float] | None:
        return self.before if self.before is not None else (self.points[0] if self.points else None)
