"""How often a pair meets, against the programme's target (sessions per month)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["DAYS_PER_MONTH", "MIN_PERIOD_DAYS", "Cadence", "cadence"]

DAYS_PER_MONTH = 30.44
# A rate over a shorter period says little (one session in three days is not "10 a month").
MIN_PERIOD_DAYS = 30.0


@dataclass(frozen=True, slots=True)
class Cadence:
    """Sessions in the window and their monthly rate against the target.

    ``period_days`` is the window, or the time since the first session if shorter (at least
    :data:`MIN_PERIOD_DAYS`); ``longest_gap_days`` includes the time since the last session.
    """

    sessions: int
    period_days: float
    per_month: float
    target_per_month: float
    days_since_last: float | None
    longest_gap_days: float | None

    @property
    def ratio(self) -> float:
        """``per_month / target`` (1.0 = on target)."""
        return self.per_month / self.target_per_month if self.target_per_month > 0 else 1.0

    @property
    def target_gap_days(self) -> float:
        """The gap between sessions the target implies (15.2 days for 2 a month)."""
        return DAYS_PER_MONTH / self.target_per_month if self.target_per_month > 0 else float("inf")


def cadence(started: Iterable[datetime], *, now: datetime, target_per_month: float = 2.0,
            window_days: float = 90.0) -> Cadence:
    """The pair's cadence over the ``window_days`` before ``now`` (sessions after ``now`` are ignored)."""
    times = sorted(t for t in started if t <= now)
    days = [(now - t).total_seconds() / 86400.0 for t in times]
    in_window = [d for d in days if d <= window_days]
    if not times:
        return Cadence(0, window_days, 0.0, target_per_month, None, None)
    period = min(window_days, max(days[0], MIN_PERIOD_DAYS))
    gaps = [a - b for a, b in zip(days, days[1:]) if a <= window_days] + [days[-1]]
    return Cadence(len(in_window), period, len(in_window) / period * DAYS_PER_MONTH, target_per_month,
                   days[-1], max(gaps))
