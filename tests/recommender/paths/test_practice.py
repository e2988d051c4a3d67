"""Re-planning practice (exercises, quizzes) after a spacing interval; mastery needs assessment evidence."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from catalog.catalog import Catalog
from catalog.schema import Goal, Mentee, Resource, Skill, SkillLevel
from recommender.mastery import MasteryModel
from recommender.paths.credit import FULL_CREDIT
from recommender.paths.replan import mentee_history, practice_due, replan

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _catalog() -> Catalog:
    d = datetime(2026, 1, 1, tzinfo=timezone.utc)
    r = lambda i, t, lv, m=30: Resource(i, i, t, (SkillLevel("python", lv),), d, difficulty=lv,  # noqa: E731
                                        duration_minutes=m)
    return Catalog([Skill("python", "Python", "software", None)],
                   [r("ex-1", "exercise", 1), r("tut-1", "tutorial", 1), r("quiz-2", "quiz", 2), r("tut-2", "tutorial", 2),
                    r("tut-3", "tutorial", 3), r("ex-3", "exercise", 3)])


def _events(rows) -> pd.DataFrame:
    return pd.DataFrame({"event_id": [f"e{k}" for k in range(len(rows))], "user_id": "u",
                         "item_id": [r[0] for r in rows], "event_type": [r[1] for r in rows],
                         "value": [r[2] for r in rows],
                         "timestamp": pd.to_datetime([NOW - timedelta(days=r[3]) for r in rows], utc=True),
                         "source": "test"})


def _plan(cat, mentee, ev, **kw):
    scores = np.zeros(cat.n_items)
    return replan(model=MasteryModel(), mentee=mentee, events=ev, catalog=cat, scores=scores,
                  freshness=np.ones(cat.n_items), now=NOW, **kw)[1]


def test_practice_is_planned_again_after_the_spacing_interval_but_not_before():
    cat = _catalog()
    mentee = Mentee("u", (Goal("python", 3),))
    done = [("ex-1", "complete", np.nan, 10), ("tut-1", "complete", np.nan, 10)]
    hist = mentee_history(_events(done), cat, user_id="u", now=NOW)
    assert cat.items.to_ids(practice_due(hist, cat, now=NOW).tolist()) == ["ex-1"]
    planned = [s.item_id for s in _plan(cat, mentee, _events(done)).steps]
    assert "tut-1" not in planned
    recent = [("ex-1", "complete", np.nan, 2), ("tut-1", "complete", np.nan, 2)]
    assert len(practice_due(mentee_history(_events(recent), cat, user_id="u", now=NOW), cat, now=NOW)) == 0
    assert "ex-1" not in [s.item_id for s in _plan(cat, mentee, _events(recent)).steps]
    # the old rule (never again) is still available
    assert "ex-1" not in [s.item_id for s in _plan(cat, mentee, _events(done), practice_spacing_days=None).steps]


def test_the_failing_answers_keep_the_skill_planned():
    cat = _catalog()
    # believed at level 3 (self-assessed), but the level-3 exercise keeps coming back wrong
    mentee = Mentee("u", (Goal("python", 3),), (SkillLevel("python", 3),))
    assert _plan(cat, mentee, _events([])).already_met == ["python"]
    failed = _events([("ex-3", "assess", 20.0, 3)])
    path = _plan(cat, mentee, failed)
    assert path.already_met == [] and path.steps
    assert all(s.skill_id == "python" for s in path.steps)


def test_completions_alone_do_not_meet_a_goal():
    cat = _catalog()
    mentee = Mentee("u", (Goal("python", 2),), (SkillLevel("python", 1),))
    done = _events([("quiz-2", "complete", np.nan, 30), ("tut-2", "complete", np.nan, 29)])
    # all-or-nothing credit would take the mentee to level 2 on the completions alone
    path = _plan(cat, mentee, done, practice_spacing_days=None, credit=FULL_CREDIT)
    assert "python" not in path.already_met and path.steps
    passed = _events([("quiz-2", "complete", np.nan, 30), ("tut-2", "complete", np.nan, 29),
                      ("quiz-2", "assess", 95.0, 28)])
    # a passed level-2 assessment is the evidence (mastery rises, and credit may now reach the goal)
    p2 = _plan(cat, mentee, passed, practice_spacing_days=None, credit=FULL_CREDIT)
    assert p2.already_met == ["python"] or not p2.steps
