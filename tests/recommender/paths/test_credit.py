"""Partial credit for completed work (recommender/paths/credit.py), with hand-computed numbers."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from catalog.catalog import Catalog
from catalog.errors import ConfigError
from catalog.schema import Goal, Mentee, Resource, Skill, SkillLevel
from recommender.mastery import BKTParams, MasteryModel
from recommender.paths.credit import FULL_CREDIT, CompletionCredit, progress_from_events
from recommender.paths.replan import mentee_history, progress_levels, replan

UTC = timezone.utc
NOW = datetime(2026, 11, 1, tzinfo=UTC)
MODEL = MasteryModel(BKTParams(prior=0.1, learn=0.1, slip=0.1, guess=0.2))
ONE = CompletionCredit(levels_per_completion=1.0, effort_minutes=60.0)
E60 = 1.0 - math.exp(-1.0)  # effort of a 60-minute resource at effort_minutes=60: 0.632


def _cat() -> Catalog:
    t = datetime(2026, 6, 1, tzinfo=UTC)
    r = lambda i, L, mins=60, s="python": Resource(i, i, "article", (SkillLevel(s, L),), t,  # noqa: E731
                                                   duration_minutes=mins)
    return Catalog([Skill("python", "Python"), Skill("sql", "SQL")],
                   [r("py1", 1), r("py1b", 1), r("py2", 2), r("py2b", 2), r("py3", 3), r("py4", 4),
                    r("py1-long", 1, 600), Resource("both2", "both2", "course",
                                                    (SkillLevel("python", 2), SkillLevel("sql", 2)), t,
                                                    duration_minutes=60)])


def _ev(rows: list[tuple]) -> pd.DataFrame:
    """rows: (item_id, event_type, value); one day apart, in order, the last one day before NOW."""
    n = len(rows)
    return pd.DataFrame({
        "event_id": [f"e{k}" for k in range(n)], "user_id": "u",
        "item_id": [r[0] for r in rows], "event_type": [r[1] for r in rows],
        "value": [np.nan if r[2] is None else float(r[2]) for r in rows],
        "timestamp": pd.to_datetime([NOW - timedelta(days=n - k) for k in range(n)], utc=True
                                    ).astype("datetime64[us, UTC]"),
        "source": "test",
    })


def test_a_completion_is_worth_a_fraction_of_a_level_by_fit_and_duration():
    assert ONE.effort(60) == pytest.approx(E60)
    assert ONE.advance(0.0, 1, 60) == pytest.approx(E60)                  # next level up: fit 1
    assert ONE.advance(E60, 1, 60) == 1.0                                 # 1.264, but never past level 1
    assert ONE.advance(1.0, 3, 60) == pytest.approx(1.0 + E60 / 2)        # a stretch: fit 1/2
    assert ONE.advance(1.0, 2, 600) == pytest.approx(1.0 + (1 - math.exp(-10)))  # long: effort ~1
    half = CompletionCredit(levels_per_completion=0.5, effort_minutes=None)
    assert half.advance(0.0, 1, 5) == 0.5 and half.advance(0.5, 1, 5) == 1.0  # duration ignored


def test_too_easy_or_too_far_gives_nothing():
    assert ONE.advance(1.3, 1, 60) == 1.3                 # at or below where you are
    assert ONE.advance(2.0, 2, 60) == 2.0
    assert ONE.advance(1.0, 4, 60) == 1.0                 # beyond next level + stretch 1
    assert ONE.advance(1.0, 4, 60, max_stretch=2) == pytest.approx(1.0 + E60 / 4)


def test_full_credit_is_the_former_all_or_nothing_rule():
    assert FULL_CREDIT.advance(1.0, 3, 5) == 3.0 and FULL_CREDIT.advance(1.0, 2, 1) == 2.0
    assert FULL_CREDIT.advance(1.0, 4, 60) == 1.0 and FULL_CREDIT.advance(2.0, 1, 60) == 2.0


def test_bad_credit():
    with pytest.raises(ConfigError):
        CompletionCredit(levels_per_completion=0)
    with pytest.raises(ConfigError):
        CompletionCredit(effort_minutes=-5)


def test_progress_over_events_with_a_failed_assessment():
    cat = _cat()
    ev = _ev([("py1", "complete", None), ("py1b", "complete", None), ("py2", "complete", None),
              ("py2", "assess", 30), ("py2b", "view", None), ("gone", "complete", None)])
    hist = mentee_history(ev, cat, user_id="u", now=NOW)
    x = progress_from_events(hist.events["event_type"].to_numpy(), hist.events["value"].to_numpy(),
                             hist.item_index, cat, np.zeros(2), credit=ONE, pass_score=60)
    # 0 -> 0.632 -> 1.0 (capped) -> 1.632 (py2, fit 1) -> capped at 1 by the failed level-2 test
    assert x.tolist() == [1.0, 0.0]
    x2 = progress_from_events(["complete", "complete"], [np.nan, np.nan], cat.items.indices(["py1", "both2"]),
                              cat, np.zeros(2), credit=ONE, pass_score=60)
    # both2 teaches python at level 2: from 0.632 (level 0) that is a stretch, fit 1/2;
    # and sql at level 2 from 0: also fit 1/2
    assert x2 == pytest.approx([E60 + E60 / 2, E60 / 2])


def test_progress_levels_floors_and_starts_from_self_levels():
    cat = _cat()
    start = MODEL.initial_state(cat, user_id="u", self_levels=[SkillLevel("python", 1)])
    hist = mentee_history(_ev([("py2", "complete", None)]), cat, user_id="u", now=NOW)
    assert progress_levels(hist, cat, start, credit=ONE) == {}                  # 1 + 0.632: still level 1
    hist = mentee_history(_ev([("py2", "complete", None), ("py2b", "complete", None)]), cat, user_id="u", now=NOW)
    assert progress_levels(hist, cat, start, credit=ONE) == {"python": 2}       # 1.632 + 0.632 -> 2 (capped)
    assert progress_levels(hist, cat, start, credit=FULL_CREDIT) == {"python": 2}
    one = mentee_history(_ev([("py2", "complete", None)]), cat, user_id="u", now=NOW)
    assert progress_levels(one, cat, start, credit=FULL_CREDIT) == {"python": 2}  # the old rule: one is enough


def test_replan_moves_on_after_enough_work_not_after_one_item():
    cat = _cat()
    me = Mentee("u", goals=(Goal("python", 3),), self_levels=(SkillLevel("python", 1),), minutes_per_week=600)

    def first(rows, credit=ONE):
        _, path = replan(model=MODEL, mentee=me, events=_ev(rows), catalog=cat, scores=np.zeros(cat.n_items),
                         freshness=np.ones(cat.n_items), now=NOW, credit=credit)
        return path.steps[0]

    assert first([]).item_id == "py2"
    # One level-2 hour: 1.632 -> still level 1 (BKT 0.2 -> 0.28, level 1): another level-2 item.
    assert (first([("py2", "complete", None)]).item_id, first([("py2", "complete", None)]).level) == ("py2b", 2)
    # The former rule jumped to level 3 after one item.
    assert first([("py2", "complete", None)], FULL_CREDIT).level == 3
    # Two level-2 hours reach level 2: level 3 next, and the reason says why.
    step = first([("py2", "complete", None), ("py2b", "complete", None)])
    assert step.item_id == "py3" and "next level up: Python level 3 (you are at level 2)" in step.reasons
