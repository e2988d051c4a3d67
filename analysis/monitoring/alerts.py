"""Alerts from statuses: what is wrong, in words, and what to do next.

Each rule reads a :class:`MenteeStatus` and the thresholds, and may raise one alert
with a reason a mentor can read ("no activity for 16 days") and a suggested
intervention built from candidates the caller passes (next path step, a shorter
resource, the mentor, a mentor to re-match with). Alert ids are a hash of the mentee,
the kind and the *episode* (what anchors the condition: the last activity for a
silence, the first failure of a struggle...), so the same ongoing problem keeps its id
from one evaluation to the next and delivery can be exactly once per id.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from analysis.monitoring.config import DAY_US, MonitorThresholds
from analysis.monitoring.inputs import Candidates, from_us
from analysis.monitoring.status import MenteeStatus

__all__ = ["Alert", "Intervention", "ALERT_KINDS", "INTERVENTION_KINDS", "alert_id", "alerts_for", "evaluate_alerts"]

ALERT_KINDS = ("silence", "engagement_drop", "repeated_failures", "dismissal_run", "goal_late", "goal_overdue",
               "step_stalled", "mentor_no_contact", "pair_low_rating", "mentor_mismatch", "at_risk")
INTERVENTION_KINDS = ("nudge", "next_step", "shorter_resource", "contact_mentor", "rematch_mentor", "review_goal")
_NO_CANDIDATES = Candidates()


class Intervention(NamedTuple):
    """A suggested action and its parameters (ids and titles the caller passed in)."""

    kind: str
    params: Mapping[str, object]


class Alert(NamedTuple):
    """One alert: stable id, mentee, kind, severity 1-3, the reason in words, the next action.

    A named tuple rather than a dataclass: immutable and cheap to build, since one call
    may build tens of thousands.
    """

    alert_id: str
    user_id: str
    kind: str
    severity: int
    reason: str
    at_us: int
    episode: str
    intervention: Intervention
    details: Mapping[str, object]

    @property
    def at(self):
        return from_us(self.at_us)


_NUDGE = Intervention("nudge", {})


def alert_id(user_id: str, kind: str, episode: str) -> str:
    """Deterministic id of an alert: the same mentee, kind and episode always give the same id."""
    return "al-" + hashlib.sha256(f"{user_id}\x1f{kind}\x1f{episode}".encode()).hexdigest()[:24]


def _day(us: int) -> str:
    return from_us(us).date().isoformat()


def _plural(n: float, word: str) -> str:
    n = int(round(n))
    return f"{n} {word}{'' if n == 1 else 's'}"


class _Ctx:
    """What one evaluation shares across rules: thresholds, candidates, skill names."""

    def __init__(self, th: MonitorThresholds, names: Mapping[str, str]) -> None:
        self.th, self.names = th, names

    def name(self, skill: str) -> str:
        return self.names.get(skill, skill)


def _mentor_or(s: MenteeStatus, fallback: Intervention, skill: str | None = None) -> Intervention:
    m = s.mentor
    if m is None:
        return fallback
    params: dict[str, object] = {"mentor_id": m.mentor.mentor_id}
    if skill is not None:
        params["skill_id"] = skill
    return Intervention("contact_mentor", params)


def _step_or_nudge(c: Candidates) -> Intervention:
    if c.next_step is not None:
        st = c.next_step
        return Intervention("next_step", {"item_id": st.item_id, "skill_id": st.skill_id, "title": st.title})
    return _NUDGE


def _shorter(c: Candidates, skill: str) -> Intervention | None:
    r = c.resources.get(skill)
    if r is None:
        return None
    return Intervention("shorter_resource", {"item_id": r.item_id, "skill_id": skill, "title": r.title,
                                             "duration_minutes": r.duration_minutes})


def _rematch(s: MenteeStatus, c: Candidates, skill: str) -> Intervention | None:
    """A re-match when the assigned mentor does not cover ``skill`` and the caller offers one who does."""
    m = s.mentor
    if m is None or m.mentor.covers(skill) or c.rematch is None:
        return None
    if not any(x.skill_id == skill for x in c.rematch.skills):
        return None
    return Intervention("rematch_mentor", {"from_mentor_id": m.mentor.mentor_id, "to_mentor_id": c.rematch.mentor_id,
                                           "skill_id": skill})


def _alerts_one(s: MenteeStatus, c: Candidates, ctx: _Ctx, risk: float | None) -> list[Alert]:
    th, out = ctx.th, []
    u, at = s.user_id, s.at_us

    def add(kind: str, severity: int, reason: str, episode: str, action: Intervention, **details: object) -> None:
        out.append(Alert(alert_id(u, kind, episode), u, kind, severity, reason, at, episode, action, details))

    quiet = s.days_since_activity
    if quiet is not None and quiet >= th.silence_days and (
            s.usual_gap_days is None or quiet >= th.silence_ratio * s.usual_gap_days):
        days = math.floor(s.days_since_activity)
        add("silence", 3 if days >= 2 * th.silence_days else 2, f"no activity for {_plural(days, 'day')}",
            f"last:{s.last_activity_us}", _mentor_or(s, _step_or_nudge(c)), days=days)
    elif (s.active_days_per_week_prev >= th.engagement_min_previous
          and s.active_days_per_week < th.engagement_drop_ratio * s.active_days_per_week_prev):
        block = at // DAY_US // th.engagement_window_days
        add("engagement_drop", 1,
            f"active {s.active_days_per_week:.1f} days a week over the last {th.engagement_window_days} days, "
            f"down from {s.active_days_per_week_prev:.1f}", f"block:{block}", _step_or_nudge(c),
            recent=s.active_days_per_week, previous=s.active_days_per_week_prev)
    for st in s.struggles:
        action = _shorter(c, st.skill_id) or _rematch(s, c, st.skill_id) \
            or _mentor_or(s, _step_or_nudge(c), st.skill_id)
        add("repeated_failures", 2 if st.failed < st.of_last else 3,
            f"{st.failed} of the last {_plural(st.of_last, 'assessment')} failed on {ctx.name(st.skill_id)}",
            f"{st.skill_id}@{st.since_us}", action, skill_id=st.skill_id, failed=st.failed, of_last=st.of_last,
            since=_day(st.since_us), last_score=st.last_score)
        mis = _rematch(s, c, st.skill_id)
        if mis is not None:
            add("mentor_mismatch", 2, f"mentor {s.mentor.mentor.name or s.mentor.mentor.mentor_id} does not cover "
                f"{ctx.name(st.skill_id)}", f"{s.mentor.mentor.mentor_id}|{st.skill_id}", mis,
                skill_id=st.skill_id)
    if s.dismiss_run >= th.dismiss_run:
        add("dismissal_run", 1, f"dismissed the last {s.dismiss_run} resources without starting any",
            f"since:{s.dismiss_run_since_us}", _step_or_nudge(c), run=s.dismiss_run)
    for g in s.goals:
        label = f"{ctx.name(g.skill_id)}:{g.level}"
        if g.overdue:
            add("goal_overdue", 3, f"goal '{label}' was due {_day(g.deadline_us)} and is not reached "
                f"(mastery {g.mastery if g.mastery is not None else 0:.2f} of {g.target:.2f})",
                f"{g.label}@{g.deadline_us}", Intervention("review_goal", {"skill_id": g.skill_id, "level": g.level}),
                skill_id=g.skill_id, level=g.level)
        elif g.weeks_late is not None and g.weeks_late >= th.late_weeks:
            block = at // DAY_US // th.progress_window_days
            reason = (f"goal '{label}' will not be reached at this pace (no mastery gained in "
                      f"{th.progress_window_days} days)" if math.isinf(g.weeks_late) else
                      f"goal '{label}' will be {_plural(g.weeks_late, 'week')} late at this pace")
            action = _shorter(c, g.skill_id) or _mentor_or(
                s, Intervention("review_goal", {"skill_id": g.skill_id, "level": g.level}), g.skill_id)
            add("goal_late", 2, reason, f"{g.label}@{g.deadline_us}|{block}", action, skill_id=g.skill_id,
                level=g.level, weeks_late=g.weeks_late, gain_per_week=g.gain_per_week)
    for ss in s.stalled_steps:
        step = ss.step
        action = _shorter(c, step.skill_id) or Intervention(
            "next_step", {"item_id": step.item_id, "skill_id": step.skill_id, "title": step.title})
        add("step_stalled", 1, f"planned step '{step.title or step.item_id}' untouched for "
            f"{_plural(ss.weeks_untouched, 'week')}", f"{step.item_id}@{int(step.planned_at.timestamp())}", action,
            item_id=step.item_id, weeks=ss.weeks_untouched)
    m = s.mentor
    if m is not None and m.days_since_contact >= th.mentor_silence_days:
        what = "no session" if m.last_contact_us > m.assigned_us else "no session since the assignment"
        add("mentor_no_contact", 1, f"{what} with mentor {m.mentor.name or m.mentor.mentor_id} for "
            f"{_plural(m.days_since_contact, 'day')}", f"{m.mentor.mentor_id}@{m.last_contact_us}",
            Intervention("contact_mentor", {"mentor_id": m.mentor.mentor_id}), days=m.days_since_contact)
    if m is not None and m.recent_rating is not None and m.recent_rating <= th.pair_rating_floor:
        who = m.mentor.name or m.mentor.mentor_id
        action = (Intervention("rematch_mentor", {"from_mentor_id": m.mentor.mentor_id,
                                                  "to_mentor_id": c.rematch.mentor_id, "name": c.rematch.name})
                  if c.rematch is not None and c.rematch.mentor_id != m.mentor.mentor_id
                  else Intervention("contact_mentor", {"mentor_id": m.mentor.mentor_id}))
        add("pair_low_rating", 1, f"the mentee rated the recent sessions with mentor {who} "
            f"{m.recent_rating:.1f} of 5 on average", f"{m.mentor.mentor_id}@{m.last_contact_us}", action,
            rating=m.recent_rating)
    if risk is not None and risk >= th.risk_threshold:
        week = at // DAY_US // 7
        add("at_risk", 3 if risk >= 0.8 else 2, f"at-risk model: {risk:.0%} chance of dropping out or stalling",
            f"week:{week}", _mentor_or(s, _step_or_nudge(c)), risk=risk)
    return out


def alerts_for(status: MenteeStatus, *, candidates: Candidates | None = None, risk: float | None = None,
               thresholds: MonitorThresholds | None = None, skill_names: Mapping[str, str] | None = None,
               ) -> list[Alert]:
    """The alerts of one mentee (possibly none), most severe first."""
    return evaluate_alerts([status], candidates={status.user_id: candidates} if candidates else None,
                           risk={status.user_id: risk} if risk is not None else None,
                           thresholds=thresholds, skill_names=skill_names)


def evaluate_alerts(statuses: Sequence[MenteeStatus], *,
                    candidates: Mapping[str, Candidates] | Callable[[str], Candidates | None] | None = None,
                    risk: Mapping[str, float] | None = None, thresholds: MonitorThresholds | None = None,
                    skill_names: Mapping[str, str] | None = None) -> list[Alert]:
    """Alerts for many mentees in one call: per mentee most severe first, mentees in input order."""
    ctx = _Ctx(thresholds or MonitorThresholds(), skill_names or {})
    get = candidates if callable(candidates) else (candidates or {}).get
    risk = risk or {}
    out: list[Alert] = []
    for s in statuses:
        found = _alerts_one(s, get(s.user_id) or _NO_CANDIDATES, ctx, risk.get(s.user_id))
        if len(found) > 1:
            found.sort(key=lambda a: -a.severity)
        out.extend(found)
    return out
