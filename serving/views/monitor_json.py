"""The monitor's answers as JSON: an alert as the API and the webhooks send it, a status as
``GET /mentees/{id}/status`` answers it (non-finite numbers become null)."""

from __future__ import annotations

import math
from typing import Any

from analysis.monitoring import Alert, MenteeStatus
from analysis.monitoring.inputs import from_us

__all__ = ["alert_json", "status_json", "iso_z"]


def iso_z(us: int | None) -> str | None:
    return None if us is None else from_us(us).isoformat().replace("+00:00", "Z")


def alert_json(a: Alert, *, risk: float | None, mentor_id: str | None) -> dict[str, Any]:
    """An alert as the JSON the API answers and the webhook receives."""
    details = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in a.details.items()}
    return {"alert_id": a.alert_id, "user_id": a.user_id, "kind": a.kind, "severity": a.severity,
            "reason": a.reason, "at": iso_z(a.at_us), "intervention": {"kind": a.intervention.kind,
                                                                      "params": dict(a.intervention.params)},
            "details": details, "risk": risk, "mentor_id": mentor_id}


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def status_json(s: MenteeStatus, *, risk: float | None, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """A status as ``GET /mentees/{id}/status`` answers it."""
    m = s.mentor
    return {
        "user_id": s.user_id, "at": iso_z(s.at_us),
        "engagement": {"active_days_7d": s.active_days_7d, "active_days_per_week": _num(s.active_days_per_week),
                       "active_days_per_week_prev": _num(s.active_days_per_week_prev),
                       "trend": _num(s.engagement_trend), "last_activity": iso_z(s.last_activity_us),
                       "days_since_activity": _num(s.days_since_activity), "usual_gap_days": _num(s.usual_gap_days)},
        "assessments": {"count": s.assessments, "failed": s.assessments_failed,
                        "recent_scores": [round(x, 2) for x in s.recent_scores],
                        "struggles": [{"skill_id": x.skill_id, "failed": x.failed, "of_last": x.of_last,
                                       "since": iso_z(x.since_us)} for x in s.struggles]},
        "dismiss_run": s.dismiss_run,
        "goals": [{"skill_id": g.skill_id, "level": g.level, "deadline": iso_z(g.deadline_us), "mastery": _num(g.mastery),
                   "target": _num(g.target), "gain_per_week": _num(g.gain_per_week),
                   "projected": iso_z(g.projected_us), "weeks_late": _num(g.weeks_late), "reached": g.reached,
                   "overdue": g.overdue} for g in s.goals],
        "mentor": None if m is None else {"mentor_id": m.mentor.mentor_id,
                                          "assignment_age_days": _num(m.assignment_age_days),
                                          "days_since_contact": _num(m.days_since_contact),
                                          "sessions_recent": m.sessions_recent,
                                          "recent_rating": _num(m.recent_rating)},
        "risk": risk, "alerts": alerts,
    }
