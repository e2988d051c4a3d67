"""Alerts: reasons in words, the suggested intervention, ids stable over an episode."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from analysis.monitoring import (
    ALERT_KINDS, INTERVENTION_KINDS, Candidates, MentorContact, MentorOption, PlanStep, ResourceOption, alert_id,
    alerts_for, evaluate_alerts, status_at,
)
from analysis.monitoring.inputs import session_marks
from catalog.schema import Goal, SkillLevel

from .conftest import T0, frame

SKILLS = {"q1": "sql-joins", "q2": "sql-joins"}
NAMES = {"sql-joins": "SQL joins", "mlops": "MLOps"}
STEP = PlanStep("nx", "sql-joins", T0, "Joins by example")
SHORT = ResourceOption("short-joins", "sql-joins", "Joins in 10 minutes", 10)


def _kinds(alerts):
    return sorted(a.kind for a in alerts)


def test_silence_reason_and_id_stable_while_silent():
    ev = frame([("u", "a", "view", None, 0)])
    a16 = alerts_for(status_at(ev, "u", T0 + timedelta(days=16)), candidates=Candidates(next_step=STEP))
    a20 = alerts_for(status_at(ev, "u", T0 + timedelta(days=20)))
    assert [a.reason for a in a16] == ["no activity for 16 days"]
    assert a16[0].intervention.kind == "next_step" and a16[0].intervention.params["item_id"] == "nx"
    assert a20[0].alert_id == a16[0].alert_id                  # same episode, same id
    assert alerts_for(status_at(ev, "u", T0 + timedelta(days=13))) == []
    back = frame([("u", "a", "view", None, 0), ("u", "b", "view", None, 17)])
    # Back on day 17: their usual gap is now 17 days, so 18 quiet days are not yet unusual (ratio 2)...
    assert alerts_for(status_at(back, "u", T0 + timedelta(days=35))) == []
    again = alerts_for(status_at(back, "u", T0 + timedelta(days=51)))
    assert [a.reason for a in again] == ["no activity for 34 days"]
    assert again[0].alert_id != a16[0].alert_id                  # ... and a new silence has a new id


def test_repeated_failures_suggest_a_shorter_resource_then_a_rematch():
    rows = [("u", "q1", "assess", 30.0, 1), ("u", "q2", "assess", 80.0, 2), ("u", "q1", "assess", 20.0, 3)]
    mentor = MentorContact("m1", T0, T0 + timedelta(days=2), (SkillLevel("python", 4),), "Ada")
    s = status_at(frame(rows), "u", T0 + timedelta(days=4), item_skill=SKILLS, mentor=mentor)
    (fail,) = alerts_for(s, candidates=Candidates(resources={"sql-joins": SHORT}), skill_names=NAMES)
    assert fail.reason == "2 of the last 3 assessments failed on SQL joins"
    assert fail.intervention.kind == "shorter_resource"
    assert fail.intervention.params["item_id"] == "short-joins"
    other = MentorOption("m2", "Grace", (SkillLevel("sql-joins", 4),))
    found = alerts_for(s, candidates=Candidates(rematch=other), skill_names=NAMES)
    assert _kinds(found) == ["mentor_mismatch", "repeated_failures"]
    mis = next(a for a in found if a.kind == "mentor_mismatch")
    assert mis.reason == "mentor Ada does not cover SQL joins"
    assert mis.intervention.params == {"from_mentor_id": "m1", "to_mentor_id": "m2", "skill_id": "sql-joins"}
    covered = MentorContact("m1", T0, T0 + timedelta(days=2), (SkillLevel("sql-joins", 3),))
    s2 = status_at(frame(rows), "u", T0 + timedelta(days=4), item_skill=SKILLS, mentor=covered)
    (only,) = alerts_for(s2, candidates=Candidates(rematch=other))
    assert only.intervention.kind == "contact_mentor" and only.intervention.params["skill_id"] == "sql-joins"
    # A third failure continues the same episode: the same id.
    s3 = status_at(frame(rows + [("u", "q2", "assess", 10.0, 5)]), "u", T0 + timedelta(days=6), item_skill=SKILLS,
                   mentor=covered)
    assert alerts_for(s3)[0].alert_id == only.alert_id


def test_goal_late_reason_in_weeks():
    mastery = pd.DataFrame({"user_id": "u", "skill_id": "mlops", "mastery": [0.20, 0.30],
                            "timestamp": [T0, T0 + timedelta(days=28)]})
    at = T0 + timedelta(days=28)
    # 0.025 a week from 0.30 to 0.57: 10.8 weeks; the deadline is ~6 weeks away -> ~5 weeks late.
    goal = Goal("mlops", 3, (at + timedelta(days=40)).date())
    s = status_at(frame([("u", "x", "view", None, 27)]), "u", at, mastery=mastery, goals=[goal])
    (late,) = alerts_for(s, skill_names=NAMES)
    assert late.kind == "goal_late"
    assert late.reason == "goal 'MLOps:3' will be 5 weeks late at this pace"
    assert late.intervention.kind == "review_goal"


def test_every_kind_can_fire_and_interventions_are_known():
    rows = [("u", "q1", "assess", 10.0, 0), ("u", "q1", "assess", 10.0, 1)]
    rows += [("u", f"d{k}", "dismiss", None, 1 + k / 10) for k in range(6)]
    mastery = pd.DataFrame({"user_id": "u", "skill_id": "mlops", "mastery": [0.2, 0.2],
                            "timestamp": [T0, T0 + timedelta(days=1)]})
    at = T0 + timedelta(days=40)
    goals = [Goal("mlops", 3, (T0 + timedelta(days=90)).date()), Goal("sql-joins", 4, (T0 + timedelta(days=30)).date())]
    # One session, rated 2 by the mentee, on day 2: 38 days without contact and a low rating at day 40.
    mentor = MentorContact("m1", T0, None, (), "Ada", *session_marks([(T0 + timedelta(days=2), 2)]))
    s = status_at(frame(rows), "u", at, mastery=mastery, goals=goals, plan=[STEP], mentor=mentor, item_skill=SKILLS)
    alerts = alerts_for(s, risk=0.9, candidates=Candidates(rematch=MentorOption("m2", "", (SkillLevel("sql-joins", 4),))))
    assert set(_kinds(alerts)) == set(ALERT_KINDS) - {"engagement_drop"}   # silence wins over a drop
    assert all(a.intervention.kind in INTERVENTION_KINDS for a in alerts)
    assert [a.severity for a in alerts] == sorted((a.severity for a in alerts), reverse=True)
    assert len({a.alert_id for a in alerts}) == len(alerts)
    rows2 = [("v", "x", "view", None, d) for d in range(0, 28)] + [("v", "x", "view", None, 50)]
    drop = alerts_for(status_at(frame(rows2), "v", T0 + timedelta(days=55)))
    assert _kinds(drop) == ["engagement_drop"]


def test_ids_are_deterministic_and_many_mentees_in_one_call():
    assert alert_id("u", "silence", "x") == alert_id("u", "silence", "x")
    assert len({alert_id("u", "silence", "x"), alert_id("v", "silence", "x"), alert_id("u", "goal_late", "x"),
                alert_id("u", "silence", "y")}) == 4
    ev = frame([(f"u{k}", "a", "view", None, k % 30) for k in range(60)])
    statuses = [status_at(ev, f"u{k}", T0 + timedelta(days=40)) for k in range(60)]
    alerts = evaluate_alerts(statuses, candidates=lambda u: Candidates(next_step=STEP) if u == "u0" else None)
    silent = {a.user_id for a in alerts if a.kind == "silence"}
    assert silent == {f"u{k}" for k in range(60) if 40 - k % 30 >= 14}
    assert next(a for a in alerts if a.user_id == "u0").intervention.kind == "next_step"
    assert next(a for a in alerts if a.user_id == "u1").intervention.kind == "nudge"
