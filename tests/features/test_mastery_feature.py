"""The ``mastery`` column of ``mentee_skill_state``: BKT mastery, point in time."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from catalog.catalog import World
from catalog.errors import ConfigError
from catalog.schema import SkillLevel
from features.tables import MENTEE_SKILL_STATE, TIMESTAMP
from recommender.mastery import BKTParams, MasteryModel
from tests.features.data import make_events, make_world
from training.features import compute_feature_frames


def _with_self_levels(world: World) -> World:
    levels = {"u1": (SkillLevel("pandas", 2), SkillLevel("python", 3)), "u4": (SkillLevel("prompting", 1),)}
    mentees = {u: dataclasses.replace(m, self_levels=levels.get(u, ())) for u, m in world.mentees.items()}
    return World(world.catalog, mentees, world.mentors)


@pytest.mark.parametrize("model", [
    MasteryModel(),
    MasteryModel(BKTParams(prior=0.2, learn=0.3, slip=0.05, guess=0.3),
                 params={"pandas": BKTParams(prior=0.05, learn=0.2, slip=0.2, guess=0.1)}),
])
def test_mastery_is_what_the_model_says_from_events_strictly_before_each_row(model):
    world = _with_self_levels(make_world())
    events = make_events(seed=4, n=1500, days=30)
    s = compute_feature_frames(events, world, mastery_model=model).mentee_skill_state
    assert list(s.columns) == MENTEE_SKILL_STATE.columns
    ts = pd.to_datetime(events["timestamp"], utc=True)
    checked = 0
    for row in s.itertuples(index=False):
        t = getattr(row, TIMESTAMP)
        mentee = world.mentees[row.user_id]
        state = model.initial_state(world.catalog, user_id=row.user_id, self_levels=mentee.self_levels)
        before = events[(ts < t).to_numpy() & events["item_id"].isin(list(world.catalog.items)).to_numpy()]
        state = model.update(state, before, world.catalog, now=t.to_pydatetime())
        assert row.mastery == pytest.approx(state.mastery(row.skill_id), abs=1e-12), (row.user_id, row.skill_id, t)
        checked += 1
    assert checked > 40
    # Evidence moved it: not every row sits at its seed.
    assert s["mastery"].nunique() > 10


def test_self_level_seeds_and_an_event_at_the_snapshot_is_not_seen():
    world = _with_self_levels(make_world())
    from tests.features.test_feature_maths import ev

    events = ev([("u1", "pd-1", "assess", 100.0, "2026-10-02 00:00"),   # exactly at a snapshot
                 ("u1", "pd-1", "complete", np.nan, "2026-10-01 10:00")])
    s = compute_feature_frames(events, world).mentee_skill_state
    u1 = s[(s.user_id == "u1") & (s.skill_id == "pandas")].set_index(TIMESTAMP)["mastery"]
    seed = 2 / 5
    first = pd.Timestamp("2026-10-02", tz="UTC")
    assert u1.loc[first] > seed                         # the completion before midnight counts
    m = MasteryModel()
    st = m.initial_state(world.catalog, user_id="u1", self_levels=world.mentees["u1"].self_levels)
    st = m.update(st, events.iloc[[1]], world.catalog, now=first.to_pydatetime())
    assert u1.loc[first] == pytest.approx(st.mastery("pandas"))   # ... the assessment at 00:00 does not
    assert u1.loc[pd.Timestamp("2026-10-03", tz="UTC")] > u1.loc[first]
    # A mentee with a goal but no evidence sits at the model's prior.
    u3 = s[(s.user_id == "u3")]["mastery"].to_numpy()
    assert len(u3) == 1 and u3[0] == pytest.approx(MasteryModel().default.prior)


def test_forgetting_is_refused():
    with pytest.raises(ConfigError, match="forgetting"):
        compute_feature_frames(make_events(n=20), make_world(), mastery_model=MasteryModel(forgetting_half_life_days=30))
