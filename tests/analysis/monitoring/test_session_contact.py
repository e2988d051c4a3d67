"""Recorded mentoring sessions as mentor contact, on hand-made examples, point in time.

A session counts as contact from the moment it started and never before: a status at a
cut reads only the sessions started at or before the cut, so the same full record can be
passed for every training row without leaking a later session into an earlier one.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd

from analysis.monitoring import Candidates, MentorContact, MentorOption, alerts_for, status_at, statuses_at
from analysis.monitoring.inputs import session_marks, to_us
from analysis.monitoring.status import FEATURE_NAMES

from .conftest import T0, frame

EVENTS = frame([("u", "a", "view", None, d) for d in range(0, 80, 3)])


def _mentor(sessions):
    return MentorContact("m1", T0, None, (), "Ada", *session_marks(sessions))


def _kinds(s):
    return sorted(a.kind for a in alerts_for(s))


def test_a_session_resets_contact_and_the_no_contact_alert():
    m = _mentor([(T0 + timedelta(days=20), 4), (T0 + timedelta(days=45), 5)])
    # Day 19: no session yet -> contact counts from the assignment (day 0).
    s19 = status_at(EVENTS, "u", T0 + timedelta(days=19), mentor=m)
    assert s19.mentor.days_since_contact == 19 and s19.mentor.sessions_recent == 0
    assert s19.mentor.recent_rating is None
    # Day 44: the day-20 session is the last contact (24 days), the day-45 one is not yet there.
    s44 = status_at(EVENTS, "u", T0 + timedelta(days=44), mentor=m)
    assert s44.mentor.days_since_contact == 24
    assert s44.mentor.last_contact_us == to_us(T0 + timedelta(days=20))
    assert (s44.mentor.sessions_recent, s44.mentor.recent_rating) == (1, 4.0)
    assert "mentor_no_contact" not in _kinds(s44)
    # Day 76: 31 days after the day-45 session -> the alert, anchored on that session.
    s76 = status_at(EVENTS, "u", T0 + timedelta(days=76), mentor=m)
    (alert,) = [a for a in alerts_for(s76) if a.kind == "mentor_no_contact"]
    assert alert.reason == "no session with mentor Ada for 31 days"
    assert alert.intervention.kind == "contact_mentor"
    # Without the sessions the same day says "since the assignment", 76 days, a different episode.
    bare = status_at(EVENTS, "u", T0 + timedelta(days=76), mentor=_mentor([]))
    (b,) = [a for a in alerts_for(bare) if a.kind == "mentor_no_contact"]
    assert b.reason == "no session since the assignment with mentor Ada for 76 days"
    assert b.alert_id != alert.alert_id


def test_a_session_at_the_cut_counts_one_after_it_does_not():
    cut = T0 + timedelta(days=40)
    at_cut = status_at(EVENTS, "u", cut, mentor=_mentor([(cut, 3)]))
    after = status_at(EVENTS, "u", cut, mentor=_mentor([(cut + timedelta(microseconds=1), 1)]))
    assert at_cut.mentor.days_since_contact == 0 and at_cut.mentor.sessions_recent == 1
    assert after.mentor.days_since_contact == 40 and after.mentor.sessions_recent == 0
    assert after.mentor.recent_rating is None


def test_low_ratings_raise_a_pair_alert_with_a_rematch_when_offered():
    m = _mentor([(T0 + timedelta(days=d), r) for d, r in ((10, 4), (20, 2), (30, 2), (40, 2), (50, None))])
    s = status_at(EVENTS, "u", T0 + timedelta(days=55), mentor=m)
    assert s.mentor.recent_rating == 2.0           # the last three *rated* sessions: days 20, 30, 40
    assert s.mentor.sessions_recent == 5           # the unrated day-50 session is still contact
    offered = Candidates(rematch=MentorOption("m2", "Grace"))
    (a,) = [x for x in alerts_for(s, candidates=offered) if x.kind == "pair_low_rating"]
    assert a.reason == "the mentee rated the recent sessions with mentor Ada 2.0 of 5 on average"
    assert a.intervention.kind == "rematch_mentor" and a.intervention.params["to_mentor_id"] == "m2"
    good = status_at(EVENTS, "u", T0 + timedelta(days=25), mentor=m)   # days 10 and 20: mean 3.0
    assert good.mentor.recent_rating == 3.0 and "pair_low_rating" not in _kinds(good)


def test_training_rows_ignore_sessions_after_each_cut():
    """The full record for every row; rewriting every session after a cut changes nothing at it."""
    times = [(T0 + timedelta(days=d), r) for d, r in ((5, 5), (33, 1), (61, 1))]
    cuts = pd.DataFrame({"user_id": "u", "at": [T0 + timedelta(days=d) for d in (30, 60, 75)]})
    full = statuses_at(EVENTS, cuts, inputs=lambda u, at_us: {"mentor": _mentor(times)})
    for k, cut in enumerate(cuts["at"]):
        kept = [(t, r) for t, r in times if t <= cut]
        moved = kept + [(cut + timedelta(days=1), 5), (cut + timedelta(days=2), 5)]
        alt = statuses_at(EVENTS, cuts.iloc[[k]], inputs=lambda u, at_us: {"mentor": _mentor(moved)})
        a, b = full.iloc[k][list(FEATURE_NAMES)].to_numpy(float), alt.iloc[0][list(FEATURE_NAMES)].to_numpy(float)
        assert all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b)), cut
    assert full["mentor_sessions_recent"].tolist() == [1.0, 2.0, 2.0]
    assert full["days_since_mentor_contact"].tolist() == [25.0, 27.0, 14.0]
    assert full["mentor_recent_rating"].tolist() == [5.0, 3.0, 7 / 3]
