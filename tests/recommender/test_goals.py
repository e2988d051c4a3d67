"""Goals as requests give them (recommender.goals): levels filled in, every unknown skill named, the profile row."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.errors import ConfigError, UnknownSkillError
from catalog.schema import Goal, Mentee, SkillLevel
from recommender.goals import goal_indices, parse_goal_spec, profile_row, requested_goals, resolve_goals, stated_goals


def test_goal_without_level_takes_the_stored_level(tiny_world):
    goals = resolve_goals(tiny_world.mentees["u1"], tiny_world.catalog, [("llm-apps", None), ("sql", 2)])
    assert goals == (Goal("llm-apps", 3), Goal("sql", 2))
    assert parse_goal_spec(" ml:4 ") == ("ml", 4) and parse_goal_spec("ml") == ("ml", None)
    for bad in ("ml:x", ":3", "ml:0"):
        with pytest.raises(ConfigError):
            parse_goal_spec(bad)


def test_stated_goals_may_be_empty_but_planning_needs_some(tiny_world):
    bare = Mentee("nobody")
    assert stated_goals(bare, tiny_world.catalog) == ()
    with pytest.raises(ConfigError, match="has no goals"):
        resolve_goals(bare, tiny_world.catalog)
    with pytest.raises(ConfigError, match="at least one skill"):
        requested_goals(bare, tiny_world.catalog, [])
    with pytest.raises(UnknownSkillError) as e:
        requested_goals(bare, tiny_world.catalog, [("rust", 2), ("ml", 3), ("go", None)])
    assert e.value.ids == ["rust", "go"]


def test_profile_row_puts_each_goal_above_where_the_mentee_stands(tiny_world):
    cat = tiny_world.catalog
    m = Mentee("x", (Goal("python", 2), Goal("ml", 4)), (SkillLevel("python", 4), SkillLevel("sql", 1)))
    row = profile_row(cat, m, m.goals)
    j, n = cat.skill_ids.index, cat.n_skills
    assert row[n + j("python")] == 4 and row[n + j("sql")] == 1
    assert row[j("python")] == 5          # a level-2 goal on a level-4 skill still asks for more
    assert row[j("ml")] == 4 and row[j("sql")] == 0
    assert row.dtype == np.float32 and row.shape == (2 * n,)
    assert goal_indices(cat, (Goal("ml", 3), Goal("python", 1), Goal("ml", 4))).tolist() == [j("ml"), j("python")]
