"""The kept status equals the status recomputed from history, and no feature sees past the cut."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.monitoring import (
    CutError, MentorContact, MonitorThresholds, PlanStep, StatusBook, feature_vector, status_at, statuses_at,
)
from analysis.monitoring.inputs import to_us
from catalog.schema import Goal, SkillLevel

from .conftest import ITEM_SKILL, T0, random_history, random_mastery

GOALS = (Goal("s0", 3, date(2026, 3, 1)), Goal("s1", 4, None), Goal("s2", 2, date(2026, 2, 1)))
PLAN = (PlanStep("i1", "s1", T0 + timedelta(days=5), "Step one"), PlanStep("i7", "s1", T0 + timedelta(days=40)))
MENTOR = MentorContact("m1", T0 + timedelta(days=3), T0 + timedelta(days=30), (SkillLevel("s0", 4),))
TH = MonitorThresholds(assessments_kept=4, dismiss_run=3, dismiss_run_cap=4, fail_window=3)
INPUTS = {"goals": GOALS, "plan": PLAN, "mentor": MENTOR}


def _kept(events, mastery, item_skill, order_seed, batches=5):
    """Fold events and mastery points into a book in a shuffled order, in batches."""
    book = StatusBook(item_skill=item_skill, thresholds=TH)
    rng = np.random.default_rng(order_seed)
    ev = events.iloc[rng.permutation(len(events))]
    for part in np.array_split(np.arange(len(ev)), batches):
        book.fold_events(ev.iloc[part])
    book.fold_mastery(mastery.iloc[rng.permutation(len(mastery))])
    return book


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), order=st.integers(0, 10_000), extra_days=st.floats(0, 60))
def test_kept_status_equals_status_from_history_in_any_arrival_order(seed, order, extra_days):
    item_skill = ITEM_SKILL
    events, mastery = random_history(seed), random_mastery(seed)
    book = _kept(events, mastery, item_skill, order)
    at = max(events.timestamp.max(), mastery.timestamp.max()).to_pydatetime() + timedelta(days=extra_days)
    for u in sorted(events.user_id.unique()):
        batch = status_at(events, u, at, mastery=mastery, item_skill=item_skill, thresholds=TH, **INPUTS)
        assert book.status(u, at, **INPUTS) == batch


def test_time_ordered_fold_equals_history_at_every_event(item_skill):
    """(b) after each prefix of the stream equals (a) at that prefix's time."""
    events = random_history(3, n=120, users=2).sort_values("timestamp", kind="stable")
    book = StatusBook(item_skill=item_skill, thresholds=TH)
    for k in range(len(events)):
        row = events.iloc[k: k + 1]
        book.fold_events(row)
        at = row.timestamp.iloc[0].to_pydatetime()
        if k + 1 < len(events) and events.timestamp.iloc[k + 1] == events.timestamp.iloc[k]:
            continue  # same instant: the history at that time includes the next event too
        u = row.user_id.iloc[0]
        assert book.status(u, at, **INPUTS) == status_at(events, u, at, item_skill=item_skill, thresholds=TH,
                                                          **INPUTS)


def test_no_feature_uses_an_event_after_the_cut(item_skill):
    events, mastery = random_history(11), random_mastery(11)
    cut = T0 + timedelta(days=45)
    cut_us = to_us(cut)
    cuts = pd.DataFrame({"user_id": ["u0", "u1", "u2", "u3"], "at": [cut] * 4})

    def inputs(u, t):
        return INPUTS

    full = statuses_at(events, cuts, mastery=mastery, item_skill=item_skill, thresholds=TH, inputs=inputs)
    past = events[events.timestamp <= cut]
    past_m = mastery[mastery.timestamp <= cut]
    only_past = statuses_at(past, cuts, mastery=past_m, item_skill=item_skill, thresholds=TH, inputs=inputs)
    pd.testing.assert_frame_equal(full, only_past)
    # Rewrite the future completely: every feature at the cut stays the same.
    future = events[events.timestamp > cut].copy()
    assert len(future) > 50
    future["event_type"] = "assess"
    future["value"] = 0.0
    future["item_id"] = "i0"
    changed = statuses_at(pd.concat([past, future]), cuts, mastery=pd.concat([past_m, mastery[mastery.timestamp > cut].assign(mastery=1.0)]),
                          item_skill=item_skill, thresholds=TH, inputs=inputs)
    pd.testing.assert_frame_equal(full, changed)
    # And the features do depend on the past (the test could fail).
    later = statuses_at(events, cuts.assign(at=cut + timedelta(days=30)), mastery=mastery, item_skill=item_skill,
                        thresholds=TH, inputs=inputs)
    assert not later.drop(columns="at").equals(full.drop(columns="at"))
    assert (full["at"] == pd.Timestamp(cut_us, unit="us", tz="UTC")).all()


def test_statuses_at_many_cuts_equal_each_status_from_scratch(item_skill):
    events, mastery = random_history(5), random_mastery(5)
    rng = np.random.default_rng(0)
    cuts = pd.DataFrame({"user_id": [f"u{k}" for k in rng.integers(4, size=12)],
                         "at": [T0 + timedelta(days=float(d)) for d in rng.integers(0, 100, 12)]})
    got = statuses_at(events, cuts, mastery=mastery, item_skill=item_skill, thresholds=TH,
                      inputs=lambda u, t: INPUTS, as_features=False)
    for k, s in enumerate(got):
        at = cuts.at[k, "at"]
        assert s.user_id == cuts.at[k, "user_id"]
        assert s == status_at(events, s.user_id, at, mastery=mastery, item_skill=item_skill, thresholds=TH, **INPUTS)
    frame = statuses_at(events, cuts, mastery=mastery, item_skill=item_skill, thresholds=TH,
                        inputs=lambda u, t: INPUTS)
    np.testing.assert_array_equal(frame.iloc[:, 2:].to_numpy(), np.array([feature_vector(s) for s in got]))


def test_a_status_before_a_folded_event_is_refused(item_skill):
    events = random_history(2)
    book = StatusBook(item_skill=item_skill)
    book.fold_events(events)
    last = events[events.user_id == "u0"].timestamp.max().to_pydatetime()
    book.status("u0", last)
    with pytest.raises(CutError, match="fold only events up to the cut"):
        book.status("u0", last - timedelta(microseconds=1))


def test_future_plan_steps_and_assignments_are_not_seen_before_they_exist():
    book = StatusBook()
    at = T0 + timedelta(days=10)
    later = PlanStep("i1", "s1", T0 + timedelta(days=20))
    mentor = MentorContact("m1", T0 + timedelta(days=20))
    s = book.status("u9", at, plan=[later], mentor=mentor)
    assert s.stalled_steps == () and s.mentor is None
    session_later = MentorContact("m1", T0, last_session_at=T0 + timedelta(days=20))
    assert book.status("u9", at, mentor=session_later).mentor.days_since_contact == 10.0
