"""The path answers (recommender.paths.answers) over a mentee's context."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest

from catalog.errors import ConfigError, UnknownSkillError, UnknownUserError
from catalog.freshness import catalog_freshness
from catalog.schema import empty_events
from recommender.context import mentee_context
from recommender.paths.answers import next_up_view, path_view, skill_view
from tests.recommender.event_frames import events_frame as ev

UTC = timezone.utc
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _view(world, events=None, *, user_id="u1", now=NOW, goals=None, **kw):
    cat = world.catalog
    args = dict(scores=np.zeros(cat.n_items), freshness=np.ones(cat.n_items))
    args.update(kw)
    ctx = mentee_context(world, user_id, now=now, goals=goals, events=empty_events() if events is None else events)
    return path_view(ctx, **args)


def test_path_view_is_json_ready_and_respects_prerequisites_and_budget(tiny_world):
    v = _view(tiny_world, goals=[("ml", 3)], minutes_per_week=600, max_steps=50, horizon_weeks=4)
    assert json.loads(json.dumps(v)) == v                     # plain JSON types only
    assert v["user_id"] == "u1" and v["goals"] == [{"skill": "ml", "skill_name": "Machine learning", "level": 3,
                                                     "deadline": None, "met": False, "overdue": False}]
    steps = v["steps"]
    assert [s["item_id"] for s in steps] == ["sql-101", "pd-101"]
    assert {"item_id", "title", "skill", "skill_name", "level", "goal", "reasons", "eta", "minutes"} <= set(steps[0])
    assert steps[1]["skill"] == "pandas" and steps[1]["title"] == "pandas intro" and steps[1]["goal"] == "ml"
    # pandas needs sql:2 (planned first) and python:3 (u1's self level); ml needs pandas:3, which no item teaches.
    assert "builds on SQL, planned earlier in this path" in steps[1]["reasons"]
    assert sum(s["minutes"] for s in steps) == v["total_minutes"] <= 600 * 4
    assert [u["skill"] for u in v["unreachable"]] == ["pandas", "ml"]
    assert list(v["mastery"]) == ["python", "sql", "pandas", "ml"]      # goal + prerequisites, graph order
    assert v["mastery"]["python"] == pytest.approx(0.6)


def test_completed_and_dismissed_items_are_never_planned(tiny_world):
    events = ev([("u1", "pr-101", "complete", np.nan, "2026-10-01"),
                 ("u1", "sql-101", "dismiss", np.nan, "2026-10-02"),
                 ("u2", "llm-101", "complete", np.nan, "2026-10-02")])   # another mentee's: irrelevant
    before = {s["item_id"] for s in _view(tiny_world)["steps"]}
    assert {"pr-101", "sql-101"} <= before
    after = _view(tiny_world, events)
    planned = {s["item_id"] for s in after["steps"]}
    assert not planned & {"pr-101", "sql-101"}
    assert any(u["skill"] == "sql" for u in after["unreachable"])       # the only SQL item was dismissed


def test_budget_caps_the_path(tiny_world):
    v = _view(tiny_world, goals=[("sql", 2)], minutes_per_week=100, horizon_weeks=1)   # sql-101 takes 120
    assert v["total_minutes"] == 0 and v["steps"] == []
    assert "does not fit your time budget" in v["unreachable"][0]["reason"]


def test_unknown_goal_skills_are_all_named(tiny_world):
    with pytest.raises(UnknownSkillError) as e:
        _view(tiny_world, goals=[("rust", 2), ("ml", 3), ("haskell", None), ("rust", 4)])
    assert e.value.ids == ["rust", "haskell"]
    assert "'rust', 'haskell'" in str(e.value)


@pytest.mark.parametrize("kw, msg", [
    ({"goals": [("ml", 6)]}, "level 6 must be 1-5"),
    ({"goals": []}, "at least one skill"),
    ({"max_steps": 0}, "max_steps must be 1-50"),
    ({"max_steps": 51}, "max_steps must be 1-50"),
    ({"minutes_per_week": 0}, "minutes_per_week"),
    ({"scores": np.zeros(3)}, "scores must have one value per catalog item"),
    ({"user_id": "u2", "goals": None, "now": datetime(2026, 11, 1)}, "timezone-aware"),
])
def test_bad_requests_are_config_errors(tiny_world, kw, msg):
    with pytest.raises(ConfigError, match=msg):
        _view(tiny_world, **kw)


def test_unknown_mentee_and_mentee_without_goals(tiny_world):
    with pytest.raises(UnknownUserError, match="nobody"):
        _view(tiny_world, user_id="nobody")
    import dataclasses

    tiny_world.mentees["u3"] = dataclasses.replace(tiny_world.mentees["u2"], user_id="u3", goals=())
    with pytest.raises(ConfigError, match="has no goals"):
        _view(tiny_world, user_id="u3")
    assert _view(tiny_world, user_id="u3", goals=[("sql", None)])["goals"][0]["level"] == 3


def test_next_up_is_the_head_of_the_path(tiny_world):
    full = _view(tiny_world, max_steps=20)
    ctx = mentee_context(tiny_world, "u1", now=NOW)
    head = next_up_view(ctx, scores=np.zeros(tiny_world.catalog.n_items), freshness=np.ones(tiny_world.catalog.n_items),
                        n=2)
    assert head["steps"] == full["steps"][:2] and head["total_steps"] == full["total_steps"] >= 3
    assert head["unreachable"] == full["unreachable"]
    with pytest.raises(ConfigError, match="n must be 1-5"):
        next_up_view(ctx, scores=np.zeros(tiny_world.catalog.n_items), freshness=np.ones(tiny_world.catalog.n_items),
                     n=6)


def test_stale_freshness_reaches_the_reasons(tiny_world):
    v = _view(tiny_world, goals=[("prompting", 2)], freshness=catalog_freshness(tiny_world.catalog, NOW))
    assert v["steps"][0]["item_id"] == "pr-101"
    assert any("old" in r for r in v["steps"][0]["reasons"])


def test_skill_view(tiny_catalog):
    v = skill_view(tiny_catalog, "pandas")
    assert v["prerequisites"] == [{"skill_id": "python", "name": "Python", "level": 3},
                                  {"skill_id": "sql", "name": "SQL", "level": 2}]
    assert v["dependents"] == [{"skill_id": "ml", "name": "Machine learning", "level": 3}]
    assert v["resources"] == 1 and v["resources_by_level"]["2"] == 1
    assert skill_view(tiny_catalog, "llm-apps")["all_prerequisites"] == ["prompting", "python", "sql", "pandas", "ml"]
    assert skill_view(tiny_catalog, "sql")["resources"] == 1      # docs-x (sql:1) is inactive
    with pytest.raises(UnknownSkillError, match="nope"):
        skill_view(tiny_catalog, "nope")
