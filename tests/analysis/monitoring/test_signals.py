"""Each signal of the status on a hand-made history."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest

from analysis.monitoring import MentorContact, MonitorThresholds, PlanStep, StatusBook, status_at
from analysis.monitoring.inputs import from_us, to_us
from catalog.errors import ConfigError, DataValidationError
from catalog.schema import Goal

from .conftest import T0, frame

SKILLS = {"q1": "sql-joins", "q2": "sql-joins", "q3": "python", "py": "python"}


def test_engagement_counts_active_days_and_their_trend():
    # Active every day of the first four weeks, twice a week in the next four.
    rows = [("u", "py", "view", None, d) for d in range(28)]
    rows += [("u", "py", "view", None, 28 + 7 * w + k) for w in range(4) for k in (0, 3)]
    rows += [("u", "py", "impression", None, 56)]       # shown something: not activity
    s = status_at(frame(rows), "u", T0 + timedelta(days=55, hours=12))
    assert s.active_days_per_week == 2.0
    assert s.active_days_per_week_prev == 7.0
    assert s.engagement_trend == -5.0
    assert s.active_days_7d == 2
    assert s.window_counts[0] == 8          # views in the window


def test_silence_is_days_since_the_last_activity_not_the_last_impression():
    ev = frame([("u", "py", "view", None, 0), ("u", "py", "impression", None, 10)])
    s = status_at(ev, "u", T0 + timedelta(days=16))
    assert s.days_since_activity == 16.0
    assert status_at(ev, "nobody", T0).days_since_activity is None


def test_repeated_failures_name_the_skill_and_keep_their_episode():
    rows = [("u", "q1", "assess", 90.0, 1), ("u", "q1", "assess", 30.0, 2), ("u", "q3", "assess", 20.0, 2.5),
            ("u", "q2", "assess", 80.0, 3), ("u", "q1", "assess", 35.0, 4)]
    s = status_at(frame(rows), "u", T0 + timedelta(days=5), item_skill=SKILLS)
    (joins,) = [x for x in s.struggles if x.skill_id == "sql-joins"]
    assert (joins.failed, joins.of_last, joins.last_score) == (2, 3, 35.0)
    assert from_us(joins.since_us) == T0 + timedelta(days=2)    # the first failure of the episode
    assert [x.skill_id for x in s.struggles] == ["sql-joins"]   # python: one failure only
    # Another failure: same episode (same anchor), now 3 of 3.
    s2 = status_at(frame(rows + [("u", "q2", "assess", 10.0, 6)]), "u", T0 + timedelta(days=7), item_skill=SKILLS)
    (joins2,) = s2.struggles
    assert (joins2.failed, joins2.since_us) == (2, joins.since_us)
    # A pass between failures that leaves <2 of the last 3 ends the episode.
    s3 = status_at(frame(rows + [("u", "q1", "assess", 95.0, 6), ("u", "q1", "assess", 99.0, 7)]), "u",
                   T0 + timedelta(days=8), item_skill=SKILLS)
    assert s3.struggles == ()
    assert s3.assessments == 7 and s3.assessments_failed == 3


def test_a_run_of_dismissals_is_broken_by_a_start_not_by_a_view():
    rows = [("u", f"i{k}", "dismiss", None, k) for k in range(3)]
    rows += [("u", "i9", "start", None, 3.5)]
    rows += [("u", f"j{k}", "dismiss", None, 4 + k) for k in range(4)] + [("u", "j9", "view", None, 9)]
    s = status_at(frame(rows), "u", T0 + timedelta(days=10))
    assert s.dismiss_run == 4
    assert from_us(s.dismiss_run_since_us) == T0 + timedelta(days=4)


def test_goal_projection_late_and_overdue():
    mastery = pd.DataFrame({
        "user_id": "u", "skill_id": "mlops", "timestamp": [T0, T0 + timedelta(days=14), T0 + timedelta(days=28)],
        "mastery": [0.10, 0.15, 0.20],
    })
    th = MonitorThresholds()
    at = T0 + timedelta(days=28)
    goals = [Goal("mlops", 3, (T0 + timedelta(days=56)).date()), Goal("other", 2, None),
             Goal("mlops", 1, None), Goal("mlops", 5, date(2026, 1, 20))]
    s = status_at(frame([("u", "py", "view", None, 0)]), "u", at, mastery=mastery, goals=goals, thresholds=th)
    late, unknown, reached, overdue = s.goals
    assert late.gain_per_week == pytest.approx(0.025)             # 0.10 over four weeks
    weeks_needed = (th.target_mastery(3) - 0.20) / 0.025
    assert late.weeks_late == pytest.approx(weeks_needed - 4 - 1 / 7, abs=1e-6)   # the deadline holds all day
    assert abs(from_us(late.projected_us) - (at + timedelta(weeks=weeks_needed))) < timedelta(seconds=1)
    assert not late.overdue and not late.reached
    assert unknown.mastery is None and unknown.weeks_late is None
    assert reached.reached and reached.weeks_late is None
    assert overdue.overdue
    # Flat mastery: never reached at this pace.
    flat = mastery.assign(mastery=0.2)
    s = status_at(frame([]), "u", at, mastery=flat, goals=goals[:1])
    assert s.goals[0].projected_us is None and math.isinf(s.goals[0].weeks_late)


def test_untouched_plan_steps_and_mentor_contact():
    plan = [PlanStep("a", "python", T0, "Intro"), PlanStep("b", "python", T0), PlanStep("c", "python", T0)]
    rows = [("u", "a", "view", None, 2), ("u", "c", "view", None, -1), ("u", "c", "dismiss", None, 3)]
    mentor = MentorContact("m1", T0 - timedelta(days=10), T0 + timedelta(days=1))
    s = status_at(frame(rows), "u", T0 + timedelta(days=28), plan=plan, mentor=mentor)
    assert [x.step.item_id for x in s.stalled_steps] == ["b", "c"]   # a view before planning or a dismiss is no touch
    assert s.stalled_steps[0].weeks_untouched == 4.0
    assert s.mentor.assignment_age_days == 38.0 and s.mentor.days_since_contact == 27.0
    early = status_at(frame(rows), "u", T0 + timedelta(days=14), plan=plan)
    assert early.stalled_steps == ()                               # 2 weeks < 3


def test_bad_inputs_are_named():
    with pytest.raises(DataValidationError, match="event_type"):
        StatusBook().fold_events(frame([("u", "a", "teleport", None, 0)]))
    with pytest.raises(DataValidationError, match="mastery"):
        StatusBook().fold_mastery(pd.DataFrame({"user_id": ["u"], "skill_id": ["s"], "timestamp": [T0],
                                                "mastery": [1.5]}))
    with pytest.raises(ConfigError, match="fail_count"):
        MonitorThresholds(fail_count=4, fail_window=3)
    with pytest.raises(ConfigError, match="silence_days"):
        MonitorThresholds(silence_days=-1)
    with pytest.raises(ConfigError, match="timezone"):
        to_us(T0.replace(tzinfo=None))
