"""Hidden outcomes of the synthetic world: labelled, caused by behaviour, deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from catalog.datadir import DataDir
from catalog.synth import CAUSES, OUTCOME_COLUMNS, SynthConfig, generate
from catalog.synth.store import outcomes_path, save_synth

CFG = dict(n_mentees=800, n_items=600, n_mentors=30, days=240)


@pytest.fixture(scope="module")
def sw():
    return generate(SynthConfig(seed=5, **CFG))


def test_outcomes_are_labelled_with_causes(sw):
    o = sw.outcomes
    assert tuple(o.columns) == OUTCOME_COLUMNS
    assert list(o.user_id) == sorted(sw.world.mentees)
    assert set(o.outcome) <= {"completed", "dropped", "stalled", "active"}
    bad = o[o.outcome.isin(["dropped", "stalled"])]
    assert len(bad) > 100 and set(bad.cause) <= set(CAUSES) and (bad.cause != "").all()
    assert (o[~o.outcome.isin(["dropped", "stalled"])].cause == "").all()
    assert o[o.outcome == "dropped"].left_at.notna().all()
    assert o[o.outcome.isin(["stalled", "active"])].left_at.isna().all()
    assert set(o.mentor_id) <= set(sw.world.mentors) | {""}
    assert {"content_too_hard", "goal_too_far", "motivation"} <= set(bad.cause)


def test_one_capacity_respecting_assignment_shared_by_outcomes_and_sessions(sw):
    o = sw.outcomes
    taken = o[o.mentor_id != ""].mentor_id.value_counts()
    assert len(taken) == len(sw.world.mentors)                       # every mentor takes someone
    assert all(n <= sw.world.mentors[m].capacity for m, n in taken.items())
    assert taken.sum() < len(o) // 2                                 # capacity, not everyone, is mentored
    assigned = set(zip(o.user_id, o.mentor_id))
    pairs = set(zip(sw.sessions.pairs.mentee_id, sw.sessions.pairs.mentor_id))
    met = {(s.mentee_id, s.mentor_id) for s in sw.sessions.sessions}
    assert pairs and pairs <= assigned and met <= assigned
    # The pair's hidden quality is the outcome's poor_mentoring flag.
    poor = set(o[o.poor_mentoring].user_id)
    truth = sw.sessions.pairs.set_index("mentee_id").quality
    assert all((truth[u] == "poor") == (u in poor) for u in truth.index)
    assert not (o.poor_mentoring & (o.mentor_id == "")).any()


def test_no_activity_after_leaving(sw):
    o = sw.outcomes.set_index("user_id")
    last = sw.events.groupby("user_id").timestamp.max()
    left = o.left_at.dropna()
    common = left.index.intersection(last.index)
    # Long items started before leaving may finish (or be dropped) later; nothing else happens.
    ev = sw.events.merge(left.rename("left_at"), left_on="user_id", right_index=True)
    after = ev[ev.timestamp >= ev.left_at + pd.Timedelta(days=1)]
    assert set(after.event_type) <= {"complete", "dismiss", "like", "assess"}
    assert len(common) > 100


def test_risk_factors_shorten_tenure(sw):
    o = sw.outcomes
    end = sw.events.timestamp.max()
    tenure = (o.left_at.fillna(end) - o.joined_at).dt.days
    for factor in ("low_time_budget", "goal_too_far", "mentor_mismatch", "poor_mentoring"):
        flagged = o[factor].to_numpy()
        assert flagged.any()
        assert tenure[flagged].mean() < tenure[~flagged].mean(), factor
        dropped = (o.outcome == "dropped").to_numpy()
        assert dropped[flagged].mean() > dropped[~flagged].mean(), factor


def test_deterministic_and_saved(sw, tmp_path):
    again = generate(SynthConfig(seed=5, **CFG))
    pd.testing.assert_frame_equal(sw.outcomes, again.outcomes)
    other = generate(SynthConfig(seed=6, **CFG))
    assert not np.array_equal(sw.outcomes.outcome.to_numpy(), other.outcomes.outcome.to_numpy())
    dd = DataDir(tmp_path)
    save_synth(sw, dd)
    pd.testing.assert_frame_equal(pd.read_parquet(outcomes_path(dd)), sw.outcomes)
