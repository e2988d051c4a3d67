"""A mentee's status at a time ``t``: engagement, progress, stall signals, mentor contact.

:func:`snapshot` reads a :class:`~analysis.monitoring.state.MenteeState` at a time at or
after everything it has folded; it refuses an earlier time, because the state would
then hold events from after the cut (the leak that makes training data optimistic).
The same function serves the live status and the training rows.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from analysis.monitoring.config import DAY_US, WEEK_US, MonitorThresholds
from analysis.monitoring.inputs import MentorContact, PlanStep, date_end_us, from_us, to_us
from analysis.monitoring.state import EVENT_CODE, MenteeState
from catalog.errors import SkillPathError
from catalog.schema import Goal, Mentee

__all__ = [
    "CutError", "GoalProgress", "SkillStruggle", "StalledStep", "MentorStatus", "MenteeStatus", "snapshot",
    "FEATURE_NAMES", "feature_vector",
]

_NAN = float("nan")
_WINDOW_TYPES = ("view", "start", "complete", "dismiss", "assess")
_WINDOW_CODES = tuple(EVENT_CODE[t] for t in _WINDOW_TYPES)


class CutError(SkillPathError, ValueError):
    """A status was asked for a time before an event the state has already folded."""


class GoalProgress(NamedTuple):
    """Progress toward one goal: mastery now, gained per week, and where that pace lands.

    ``projected_at`` is None when mastery is not growing (it would never be reached);
    ``weeks_late`` is then infinite for a goal with a deadline.
    """

    skill_id: str
    level: int
    deadline_us: int | None
    mastery: float | None
    target: float
    gain_per_week: float | None
    projected_us: int | None
    weeks_late: float | None
    reached: bool
    overdue: bool

    @property
    def label(self) -> str:
        return f"{self.skill_id}:{self.level}"


class SkillStruggle(NamedTuple):
    """``failed`` of the last ``of_last`` assessments on a skill failed; the episode began at ``since_us``."""

    skill_id: str
    failed: int
    of_last: int
    since_us: int
    last_score: float


class StalledStep(NamedTuple):
    step: PlanStep
    weeks_untouched: float


class MentorStatus(NamedTuple):
    mentor: MentorContact
    assigned_us: int
    assignment_age_days: float
    days_since_contact: float
    last_contact_us: int
    sessions_recent: int = 0                 # sessions with the mentor in the last ``session_window_days``
    recent_rating: float | None = None       # the mentee's mean rating of the last 3 rated sessions


class MenteeStatus(NamedTuple):
    """Every signal of one mentee at ``at_us`` (see docs/monitoring.md for each).

    Statuses are named tuples (immutable, compared by value, cheap to build: a call may
    build ten thousand of them).
    """

    user_id: str
    at_us: int
    active_days_7d: int
    active_days_per_week: float          # over the engagement window
    active_days_per_week_prev: float     # over the window before it
    first_activity_us: int | None
    last_activity_us: int | None
    days_since_activity: float | None
    usual_gap_days: float | None         # mean gap between the active days of the two windows (2+ days)
    window_counts: tuple[int, ...]       # view, start, complete, dismiss, assess in the engagement window
    assessments: int
    assessments_failed: int
    recent_scores: tuple[float, ...]     # newest last, at most assessments_kept of them
    struggles: tuple[SkillStruggle, ...]
    dismiss_run: int
    dismiss_run_since_us: int | None
    goals: tuple[GoalProgress, ...]
    stalled_steps: tuple[StalledStep, ...]
    mentor: MentorStatus | None
    minutes_per_week: float | None = None      # the mentee's stated time budget
    goal_gap_levels: float | None = None       # sum over goals of (goal level - self-assessed level), >= 0
    mentor_goal_coverage: float | None = None  # share of goal skills the mentor covers

    @property
    def at(self):
        return from_us(self.at_us)

    @property
    def engagement_trend(self) -> float:
        """Change in active days per week, recent window minus the one before."""
        return self.active_days_per_week - self.active_days_per_week_prev


def snapshot(state: MenteeState, user_id: str, at_us: int, *, goals: Sequence[Goal] = (),
             plan: Sequence[PlanStep] = (), mentor: MentorContact | None = None,
             mentee: Mentee | None = None) -> MenteeStatus:
    """The status of ``state`` at ``at_us``; raises :class:`CutError` if it folded anything later.

    ``mentee`` (its stated time budget and self-assessed levels) adds the profile signals.
    """
    th = state.th
    if at_us < state.watermark:
        raise CutError(f"status of {user_id!r} asked at {from_us(at_us).isoformat()} but an event at "
                       f"{from_us(state.watermark).isoformat()} was already folded; fold only events up to the cut")
    t_day = at_us // DAY_US
    w = th.engagement_window_days
    days = state.days
    span = [d for d in days if t_day - d < 2 * w]            # active days in the two windows
    recent_days = [d for d in span if t_day - d < w]
    recent, prev = len(recent_days), len(span) - len(recent_days)
    week = sum(1 for d in recent_days if t_day - d < 7)
    if recent_days:
        cols = list(zip(*(days[d] for d in recent_days)))
        window = [sum(cols[c]) for c in _WINDOW_CODES]
    else:
        window = [0] * len(_WINDOW_CODES)
    lo, hi = (min(span), max(span)) if span else (0, 0)
    last = state.last_us or None
    struggles = tuple(s for s in (_struggle(skill, rows, th) for skill, rows in state.assess.items()) if s)
    d = state.dismissals
    mentor_status = _mentor(mentor, at_us, th)
    return MenteeStatus(
        user_id=user_id, at_us=at_us, active_days_7d=week,
        active_days_per_week=recent * 7.0 / w, active_days_per_week_prev=prev * 7.0 / w,
        first_activity_us=state.first_us or None, last_activity_us=last,
        days_since_activity=None if last is None else (at_us - last) / DAY_US,
        usual_gap_days=(hi - lo) / (recent + prev - 1) if recent + prev >= 2 else None,
        window_counts=tuple(window), assessments=state.n_assess, assessments_failed=state.n_fail,
        recent_scores=tuple(r[1] for r in state.recent),
        struggles=tuple(sorted(struggles, key=lambda s: (-s.failed, s.skill_id))),
        dismiss_run=len(d), dismiss_run_since_us=d[0] if d else None,
        goals=tuple(_goal(state, g, at_us, th) for g in goals),
        stalled_steps=tuple(s for s in (_step(state, p, at_us, th) for p in plan) if s),
        mentor=mentor_status, **_profile(mentee, goals, mentor_status),
    )


def _profile(mentee: Mentee | None, goals: Sequence[Goal], mentor: MentorStatus | None) -> dict:
    out: dict[str, float | None] = {}
    if mentee is not None:
        own = {s.skill_id: s.level for s in mentee.self_levels}
        out["minutes_per_week"] = None if mentee.minutes_per_week is None else float(mentee.minutes_per_week)
        out["goal_gap_levels"] = float(sum(max(0, g.level - own.get(g.skill_id, 0)) for g in goals))
    if mentor is not None and goals:
        covered = {x.skill_id for x in mentor.mentor.skills}
        out["mentor_goal_coverage"] = sum(g.skill_id in covered for g in goals) / len(goals)
    return out


def _struggle(skill: str, rows: list[tuple[int, float, str]], th: MonitorThresholds) -> SkillStruggle | None:
    n, k, p = th.fail_window, th.fail_count, th.pass_score
    fails = [r[1] < p for r in rows]
    if sum(fails[-n:]) < k:
        return None
    # Walk back while the condition still held: the episode begins at the first failure
    # of the earliest window in that run, so the alert id stays the same while it lasts.
    start = len(rows) - 1
    while start > 0 and sum(fails[max(0, start - n): start]) >= k:
        start -= 1
    lo = max(0, start - n + 1)
    first_fail = next(j for j in range(lo, start + 1) if fails[j])
    return SkillStruggle(skill, sum(fails[-n:]), min(n, len(rows)), rows[first_fail][0], rows[-1][1])


def _goal(state: MenteeState, g: Goal, at_us: int, th: MonitorThresholds) -> GoalProgress:
    target = th.target_mastery(g.level)
    deadline = None if g.deadline is None else date_end_us(g.deadline)
    series = state.mastery.get(g.skill_id)
    now = None if series is None else series.value_at(at_us)
    if now is None:
        return GoalProgress(g.skill_id, g.level, deadline, None, target, None, None, None, False,
                            deadline is not None and at_us > deadline)
    m = now[1]
    window = th.progress_window_days * DAY_US
    base = series.value_at(at_us - window)
    if base is None:
        base = series.first()
        span = max(7 * DAY_US, at_us - base[0])
    else:
        span = window
    gain = (m - base[1]) / span * WEEK_US
    reached = m >= target
    if reached:
        projected: int | None = at_us
    elif gain >= th.min_gain_per_week:
        projected = at_us + int((target - m) / gain * WEEK_US)
    else:
        projected = None
    late = None
    if deadline is not None and not reached:
        late = math.inf if projected is None else (projected - deadline) / WEEK_US
    return GoalProgress(g.skill_id, g.level, deadline, m, target, gain, projected, late, reached,
                        deadline is not None and at_us > deadline and not reached)


def _step(state: MenteeState, step: PlanStep, at_us: int, th: MonitorThresholds) -> StalledStep | None:
    planned = to_us(step.planned_at)
    if planned > at_us or state.touched.get(step.item_id, planned - 1) >= planned:
        return None
    weeks = (at_us - planned) / WEEK_US
    return StalledStep(step, weeks) if weeks >= th.step_untouched_weeks else None


def _mentor(mentor: MentorContact | None, at_us: int, th: MonitorThresholds) -> MentorStatus | None:
    """Contact with the assigned mentor at ``at_us``: only sessions started by then count (point in time)."""
    if mentor is None:
        return None
    assigned = to_us(mentor.assigned_at)
    if assigned > at_us:
        return None       # not assigned yet at that time
    last = assigned
    if mentor.last_session_at is not None:
        session = to_us(mentor.last_session_at)
        if assigned < session <= at_us:
            last = session
    times = mentor.session_us
    k = bisect_right(times, at_us)           # sessions started at or before the cut
    if k and times[k - 1] > last:
        last = times[k - 1]
    recent = k - bisect_left(times, at_us - th.session_window_days * DAY_US, 0, k)
    rated = [r for r in mentor.session_ratings[:k] if r == r][-3:]
    return MentorStatus(mentor, assigned, (at_us - assigned) / DAY_US, (at_us - last) / DAY_US, last, recent,
                        sum(rated) / len(rated) if rated else None)


# ---------------------------------------------------------------------- features
FEATURE_NAMES: tuple[str, ...] = (
    "active_days_7d", "active_days_per_week", "active_days_per_week_prev", "engagement_trend",
    "days_since_activity", "usual_gap_days", "tenure_days",
    "views_window", "starts_window", "completes_window", "dismisses_window", "assessments_window",
    "assessments", "assessment_fail_rate", "recent_score_mean", "recent_score_min", "recent_fails",
    "struggling_skills", "worst_skill_failed",
    "dismiss_run",
    "goals", "goals_reached", "goals_overdue", "goals_late", "max_weeks_late", "mean_goal_gap",
    "mean_gain_per_week",
    "stalled_steps", "max_weeks_untouched",
    "has_mentor", "mentor_assignment_age_days", "days_since_mentor_contact",
    "minutes_per_week", "goal_gap_levels", "mentor_goal_coverage",
    "mentor_sessions_recent", "mentor_recent_rating",
)
_LATE_CAP = 104.0   # weeks; "never at this pace" is counted as two years late


def feature_vector(s: MenteeStatus, *, fail_window: int = 3, pass_score: float = 50.0) -> list[float]:
    """The status as numbers in :data:`FEATURE_NAMES` order (NaN where unknown); no identity, no demographics."""
    days_since = _NAN if s.days_since_activity is None else s.days_since_activity
    tenure = _NAN if s.first_activity_us is None else (s.at_us - s.first_activity_us) / DAY_US
    scores = s.recent_scores[-5:]
    recent_fails = sum(x < pass_score for x in s.recent_scores[-fail_window:])
    g = s.goals
    lates = [min(x.weeks_late, _LATE_CAP) for x in g if x.weeks_late is not None]
    gaps = [max(0.0, x.target - x.mastery) for x in g if x.mastery is not None]
    gains = [x.gain_per_week for x in g if x.gain_per_week is not None]
    m = s.mentor
    return [
        float(s.active_days_7d), s.active_days_per_week, s.active_days_per_week_prev, s.engagement_trend,
        days_since, _NAN if s.usual_gap_days is None else s.usual_gap_days, tenure, *map(float, s.window_counts),
        float(s.assessments), s.assessments_failed / s.assessments if s.assessments else _NAN,
        sum(scores) / len(scores) if scores else _NAN, min(scores) if scores else _NAN, float(recent_fails),
        float(len(s.struggles)), float(max((x.failed for x in s.struggles), default=0)),
        float(s.dismiss_run),
        float(len(g)), float(sum(x.reached for x in g)), float(sum(x.overdue for x in g)),
        float(sum(x > 0 for x in lates)), max(lates, default=_NAN),
        sum(gaps) / len(gaps) if gaps else _NAN, sum(gains) / len(gains) if gains else _NAN,
        float(len(s.stalled_steps)), max((x.weeks_untouched for x in s.stalled_steps), default=0.0),
        float(m is not None), _NAN if m is None else m.assignment_age_days,
        _NAN if m is None else m.days_since_contact,
        *(_NAN if x is None else x for x in (s.minutes_per_week, s.goal_gap_levels, s.mentor_goal_coverage)),
        _NAN if m is None else float(m.sessions_recent),
        _NAN if m is None or m.recent_rating is None else m.recent_rating,
    ]

