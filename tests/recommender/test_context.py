"""A mentee's context (recommender.context): the same mentee state for the service, the CLI and the planner."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from catalog.errors import ConfigError
from catalog.ids import IdMap
from catalog.schema import Goal
from recommender.context import event_rows, mentee_context
from recommender.goals import profile_row
from recommender.interactions import build_interactions
from recommender.mastery import BKTParams, MasteryModel
from recommender.paths.replan import rebuild_state
from tests.recommender.event_frames import events_frame as ev

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)

EVENTS = [("u1", "py-101", "complete", np.nan, "2026-10-01"), ("u1", "sql-101", "view", np.nan, "2026-10-02"),
          ("u1", "sql-101", "dismiss", np.nan, "2026-10-03"), ("u1", "pd-101", "impression", np.nan, "2026-10-03"),
          ("u1", "pr-101", "like", 5.0, "2026-10-04"), ("u1", "pr-101", "assess", 40.0, "2026-10-05"),
          ("u2", "ml-101", "complete", np.nan, "2026-10-05"), ("u1", "gone", "view", np.nan, "2026-10-06")]


def test_history_and_exclusions_follow_the_training_rules(tiny_world):
    events = ev(EVENTS)
    ctx = mentee_context(tiny_world, "u1", now=NOW, events=events)
    cat = tiny_world.catalog
    inter = build_interactions(events, users=IdMap(["u1", "u2"]), items=cat.items, on_unknown="drop")
    assert (ctx.history != inter.history(0)).nnz == 0
    assert ctx.exclude.tolist() == inter.exclusions(0, seen=True).tolist()
    assert ctx.completed.tolist() == [cat.items.index("py-101")]
    assert ctx.n_events == 7 and ctx.has_profile and ctx.mentee is tiny_world.mentees["u1"]
    # the events frame holds exactly the mentee's events, in time order
    frame = ctx.events
    assert frame["item_id"].tolist() == ["py-101", "sql-101", "sql-101", "pd-101", "pr-101", "pr-101", "gone"]
    assert event_rows(frame, "u1") == list(ctx.rows)


def test_goals_requested_or_stated_and_the_profile_rows(tiny_world):
    cat = tiny_world.catalog
    u1 = tiny_world.mentees["u1"]
    stated = mentee_context(tiny_world, "u1", now=NOW)
    assert stated.goals == (Goal("llm-apps", 3),) and not stated.goals_requested
    assert stated.goal_skills.tolist() == [cat.skill_ids.index("llm-apps")]
    asked = stated.with_request(now=NOW, goals=[("sql", None), ("ml", 4)])
    assert asked.goals == (Goal("sql", 3), Goal("ml", 4)) and asked.goals_requested
    assert np.array_equal(asked.profile_row, profile_row(cat, u1, u1.goals))     # what models fold in
    assert np.array_equal(asked.goals_row, profile_row(cat, u1, asked.goals))    # what the content fallback ranks by
    assert asked.memo is stated.memo and stated.with_request(now=NOW) is stated
    later = stated.with_request(now=NOW + timedelta(days=1))
    assert later.now == NOW + timedelta(days=1) and later.goals == stated.goals and later.memo is stated.memo
    assert later.cached("k", lambda: 1) == 1 and stated.cached("k", lambda: 2) == 1


def test_a_mentee_without_profile_gets_a_bare_one(tiny_world):
    ctx = mentee_context(tiny_world, "stranger", now=NOW, goals=[("sql", 2)])
    assert not ctx.has_profile and ctx.mentee.user_id == "stranger" and ctx.n_events == 0
    assert ctx.goals == (Goal("sql", 2),) and ctx.history.nnz == 0 and len(ctx.exclude) == 0
    with pytest.raises(ConfigError, match="timezone-aware"):
        mentee_context(tiny_world, "u1", now=datetime(2026, 11, 1))


def test_mastery_is_the_planners_and_ignores_events_after_now(tiny_world):
    model = MasteryModel(BKTParams(prior=0.2, learn=0.2, slip=0.1, guess=0.2))
    events = ev(EVENTS + [("u1", "pr-new", "assess", 100.0, "2026-11-20")])
    ctx = mentee_context(tiny_world, "u1", now=NOW, events=events)
    expected = rebuild_state(model, tiny_world.mentees["u1"], events, tiny_world.catalog, now=NOW)
    assert np.array_equal(ctx.mastery(model).p, expected.p)
    assert ctx.exclude.tolist().count(tiny_world.catalog.items.index("pr-new")) == 1  # still never recommended
    assert ctx.mastery(model).mastery("prompting") < 0.5


@pytest.mark.parametrize("half_life", [None, 10.0])
def test_mastery_remembered_and_advanced_equals_refolding(tiny_world, half_life):
    """The context folds the events once and moves the state to a later now: the same numbers as
    refolding at that now, with forgetting on or off; an event that becomes due is folded in."""
    model = MasteryModel(BKTParams(prior=0.2, learn=0.2, slip=0.1, guess=0.2), forgetting_half_life_days=half_life)
    events = ev(EVENTS + [("u1", "pr-new", "assess", 100.0, "2026-11-20")])
    ctx = mentee_context(tiny_world, "u1", now=NOW, events=events)
    first = ctx.mastery(model)
    for later in (NOW + timedelta(days=3), NOW + timedelta(days=30)):  # the second passes the 11-20 event
        got = ctx.with_request(now=later).mastery(model)
        expected = rebuild_state(model, tiny_world.mentees["u1"], events, tiny_world.catalog, now=later)
        assert got.as_of == later
        np.testing.assert_allclose(got.p, expected.p, rtol=1e-12, atol=1e-15)
    if half_life is not None:
        assert not np.allclose(ctx.with_request(now=NOW + timedelta(days=3)).mastery(model).p, first.p)


def test_a_mentee_without_evidence_does_not_decay(tiny_world):
    model = MasteryModel(forgetting_half_life_days=5.0)
    ctx = mentee_context(tiny_world, "u2", now=NOW, events=ev([]))
    a = ctx.mastery(model)
    b = ctx.with_request(now=NOW + timedelta(days=50)).mastery(model)
    expected = rebuild_state(model, tiny_world.mentees["u2"], ev([]), tiny_world.catalog, now=NOW + timedelta(days=50))
    assert np.array_equal(a.p, b.p) and np.array_equal(b.p, expected.p)


NEW = [("u1", "py-101", "assess", 90.0, "2026-10-07"), ("u1", "sql-101", "complete", np.nan, "2026-10-08"),
       ("u1", "pd-101", "view", np.nan, "2026-10-09")]


VIEW = [("u1", "pd-101", "view", np.nan, "2026-10-09")]


@pytest.mark.parametrize("half_life", [None, 10.0])
@pytest.mark.parametrize("extra", [NEW, VIEW, [("u1", "pd-101", "complete", np.nan, "2026-10-02")]],
                         ids=["appended", "a-view", "before-earlier-events"])
def test_mastery_carried_from_the_earlier_context_equals_refolding(tiny_world, monkeypatch, half_life, extra):
    """A new event makes a new context; it folds only the events after the earlier context's (the event
    path of /recommend) when that is exactly the full fold: appended events, forgetting off. Otherwise it
    refolds everything. Either way the state is bit for bit the full fold's."""
    model = MasteryModel(BKTParams(prior=0.2, learn=0.2, slip=0.1, guess=0.2), forgetting_half_life_days=half_life)
    earlier = mentee_context(tiny_world, "u1", now=NOW, events=ev(EVENTS))
    earlier.with_request(now=NOW - timedelta(days=1)).mastery(model)
    later_now = NOW + timedelta(hours=1)
    events = ev(EVENTS + extra)
    ctx = mentee_context(tiny_world, "u1", now=later_now, events=events)
    ctx.carry_from(earlier)
    folded: list[int] = []
    update = MasteryModel.update
    monkeypatch.setattr(MasteryModel, "update", lambda self, st, e, c, *, now: folded.append(len(e)) or update(
        self, st, e, c, now=now))
    got = ctx.mastery(model)
    mine = list(folded)  # what this context folded (the checks below fold again)
    expected = rebuild_state(model, tiny_world.mentees["u1"], events, tiny_world.catalog, now=later_now)
    assert np.array_equal(got.p, expected.p) and np.array_equal(got.n_evidence, expected.n_evidence)
    assert np.array_equal(got.last_update_us, expected.last_update_us) and got.as_of == later_now
    if half_life is not None or extra not in (NEW, VIEW):
        assert mine == [ctx.n_events]  # refolded from the start
    else:  # only the new evidence (an assessment and a completion; a view is none) is folded
        assert mine == ([2] if extra is NEW else [])
    assert np.array_equal(got.p, earlier.mastery(model).p) == (extra is VIEW and half_life is None)
