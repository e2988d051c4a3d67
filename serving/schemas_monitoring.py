"""Bodies of the monitoring endpoints (``/mentees/{id}/status``, ``/monitor/alerts``); see docs/monitoring.md."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from analysis.monitoring import ALERT_KINDS, INTERVENTION_KINDS
from serving.schemas import _Strict
from serving.schemas_base import TEXT_REGEX, StrictModel, Timestamp

__all__ = [
    "MAX_ALERTS_PAGE", "InterventionOut", "AlertOut", "AlertsResponse", "EngagementOut", "StruggleOut",
    "AssessmentsOut", "GoalStatusOut", "MentorContactOut", "StatusResponse", "AckRequest", "AckResponse",
]

MAX_ALERTS_PAGE = 20_000
_AID = "al-3f5c0a9e1b2d4c6e8f7a9b0c"


class InterventionOut(_Strict):
    kind: Literal[INTERVENTION_KINDS] = Field(  # type: ignore[valid-type]
        description="What to do: nudge, next_step, shorter_resource, contact_mentor, rematch_mentor, review_goal.",
        examples=["contact_mentor"])
    params: dict[str, Any] = Field(description="Its ids (mentor, item, skill), as the rule found them.",
                                   examples=[{"mentor_id": "m026"}])


class AlertOut(_Strict):
    alert_id: str = Field(description="Stable id: the same mentee, kind and episode always give the same id.",
                          examples=[_AID])
    user_id: str = Field(description="The mentee.", examples=["u00042"])
    kind: Literal[ALERT_KINDS] = Field(description="The rule that fired (docs/monitoring.md, Alerts).",  # type: ignore[valid-type]
                                       examples=["silence"])
    severity: int = Field(ge=1, le=3, description="1 (watch) to 3 (act now).", examples=[2])
    reason: str = Field(description="Why, in words.", examples=["no activity for 16 days"])
    at: str = Field(description="When the rule was evaluated (UTC).", examples=["2026-12-07T16:00:00Z"])
    first_seen: str | None = Field(description="When this alert id was first recorded (UTC).",
                                   examples=["2026-12-05T09:12:00Z"])
    intervention: InterventionOut = Field(description="The suggested next action.")
    details: dict[str, Any] = Field(description="The numbers behind the reason.", examples=[{"days": 16}])
    risk: float | None = Field(description="The at-risk model's calibrated probability for the mentee (null "
                                           "without a model).", examples=[0.41])
    mentor_id: str | None = Field(description="The mentee's mentor in the persisted assignment.", examples=["m026"])
    state: Literal["open", "acknowledged", "snoozed"] = Field(description="open, acknowledged, or snoozed.",
                                                              examples=["open"])
    snoozed_until: str | None = Field(description="End of a snooze (UTC).", examples=[None])


class AlertsResponse(_Strict):
    alerts: list[AlertOut] = Field(description="Ordered by mentee id, then alert id.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.",
                                    examples=["dTAwMDQyH2FsLTNmNWMwYTll"])
    model: bool = Field(description="Whether an at-risk model scores the mentees (else `risk` is null).",
                        examples=[True])


class EngagementOut(_Strict):
    active_days_7d: int = Field(description="Distinct active days in the last 7 days.", examples=[2])
    active_days_per_week: float | None = Field(description="Over the last 28 days.", examples=[1.25])
    active_days_per_week_prev: float | None = Field(description="Over the 28 days before.", examples=[2.0])
    trend: float | None = Field(description="Recent minus previous active days per week.", examples=[-0.75])
    last_activity: str | None = Field(description="Latest event other than an impression (UTC).",
                                      examples=["2026-11-21T10:00:00Z"])
    days_since_activity: float | None = Field(description="Days of silence.", examples=[16.2])
    usual_gap_days: float | None = Field(description="Mean gap between the active days of the last 56 days.",
                                         examples=[4.5])


class StruggleOut(_Strict):
    skill_id: str = Field(description="The skill assessed.", examples=["sql"])
    failed: int = Field(description="Failures among the last assessments on it.", examples=[2])
    of_last: int = Field(description="How many of the last assessments were counted.", examples=[3])
    since: str | None = Field(description="First failure of the episode (UTC).", examples=["2026-11-02T08:00:00Z"])


class AssessmentsOut(_Strict):
    count: int = Field(description="Assessments ever.", examples=[7])
    failed: int = Field(description="Below the pass score.", examples=[3])
    recent_scores: list[float] = Field(description="Newest last.", examples=[[72.0, 41.0, 38.0]])
    struggles: list[StruggleOut] = Field(description="Skills with repeated failures.")


class GoalStatusOut(_Strict):
    skill_id: str = Field(description="The goal's skill.", examples=["sql"])
    level: int = Field(ge=1, le=5, description="The level the goal asks for.", examples=[3])
    deadline: str | None = Field(description="End of the target date (UTC).", examples=["2027-03-01T00:00:00Z"])
    mastery: float | None = Field(description="Mastery now (0-1; null when unknown).", examples=[0.41])
    target: float | None = Field(description="Mastery at which the level counts as held.", examples=[0.57])
    gain_per_week: float | None = Field(description="Mastery gained per week over the last 28 days.",
                                        examples=[0.012])
    projected: str | None = Field(description="When the target is reached at this pace (null: never).",
                                  examples=["2027-04-05T00:00:00Z"])
    weeks_late: float | None = Field(description="Projected date minus deadline, in weeks (null: no deadline "
                                                 "or reached; never at this pace is null with reached false).",
                                     examples=[5.0])
    reached: bool = Field(description="The target is held.", examples=[False])
    overdue: bool = Field(description="The deadline passed unreached.", examples=[False])


class MentorContactOut(_Strict):
    mentor_id: str = Field(description="The assigned mentor.", examples=["m026"])
    assignment_age_days: float | None = Field(description="Days since the assignment was persisted.",
                                              examples=[40.0])
    days_since_contact: float | None = Field(description="Days since the last recorded session with this mentor "
                                                         "(or the assignment, if later).", examples=[40.0])
    sessions_recent: int = Field(description="Sessions with this mentor in the last 60 days "
                                             "(`session_window_days`).", examples=[2])
    recent_rating: float | None = Field(description="The mentee's mean rating (1-5) of the last 3 rated "
                                                    "sessions with this mentor; null when none.", examples=[4.5])


class StatusResponse(_Strict):
    user_id: str = Field(description="The mentee.", examples=["u00042"])
    at: str = Field(description="When the status holds (UTC).", examples=["2026-12-07T16:00:00Z"])
    engagement: EngagementOut = Field(description="Active days, their trend, silence.")
    assessments: AssessmentsOut = Field(description="Assessment counts, recent scores, struggling skills.")
    dismiss_run: int = Field(description="Dismissals since the last start, completion, like, bookmark or "
                                         "assessment.", examples=[0])
    goals: list[GoalStatusOut] = Field(description="Progress toward each goal of the mentee's profile.")
    mentor: MentorContactOut | None = Field(description="Mentor contact, when the mentee has a mentor.")
    risk: float | None = Field(description="The at-risk model's calibrated probability (null without a model).",
                               examples=[0.41])
    alerts: list[AlertOut] = Field(description="The mentee's current alerts, open or not.")


class AckRequest(StrictModel):
    """Acknowledge an alert, or snooze it until a date."""

    action: Literal["ack", "snooze"] = Field("ack", description="ack: done with it; snooze: hide it until `until`.",
                                             examples=["snooze"])
    until: Timestamp | None = Field(None, description="End of a snooze (ISO-8601 date and time; naive means UTC); "
                                                      "required for snooze, refused for ack.",
                                    examples=["2026-12-21T00:00:00Z"])
    note: str = Field("", max_length=2000, pattern=TEXT_REGEX, description="Free text kept with the acknowledgement.",
                      examples=["called, back next week"])


class AckResponse(_Strict):
    alert_id: str = Field(description="The alert.", examples=[_AID])
    user_id: str = Field(description="Its mentee.", examples=["u00042"])
    state: Literal["acknowledged", "snoozed"] = Field(description="The new state.", examples=["snoozed"])
    snoozed_until: str | None = Field(description="End of the snooze (UTC).", examples=["2026-12-21T00:00:00Z"])
    by: str = Field(description="Who acted (role and key id, never the key).", examples=["mentor:m026 (key 1a2b3c4d)"])
    at: str = Field(description="When (UTC).", examples=["2026-12-07T16:00:00Z"])
    note: str = Field(description="The note.", examples=["called, back next week"])
