"""The at-risk training rows: no feature uses an event after its cut; labels come from the outcomes only."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from analysis.monitoring import FEATURE_NAMES
from catalog.synth import SynthConfig, generate
from training.monitoring import train_at_risk, training_rows


@pytest.fixture(scope="module")
def world():
    return generate(SynthConfig(seed=5, n_mentees=300, n_mentors=12, days=120, sessions=False))


def test_rewriting_every_event_after_a_cut_changes_no_feature_at_or_before_it(world):
    ev, out = world.events, world.outcomes
    rows = training_rows(ev, world.world, out)
    cut = rows["at"].sort_values().unique()[len(rows["at"].unique()) // 2]
    later = ev["timestamp"] > cut
    assert later.any()
    changed = ev.copy()
    # After the cut, every mentee fails everything, dismisses everything, and the clock shifts.
    changed.loc[later, "event_type"] = "assess"
    changed.loc[later, "value"] = 0.0
    changed.loc[later, "timestamp"] = changed.loc[later, "timestamp"] + timedelta(hours=3)
    again = training_rows(changed, world.world, out)
    early = (rows["at"] <= cut).to_numpy()
    assert early.sum() > 100
    a = rows.loc[early, list(FEATURE_NAMES)].to_numpy()
    b = again.loc[(again["at"] <= cut).to_numpy(), list(FEATURE_NAMES)].to_numpy()
    np.testing.assert_array_equal(a, b)
    late_a = rows.loc[~early, list(FEATURE_NAMES)].to_numpy()
    late_b = again.loc[(again["at"] > cut).to_numpy(), list(FEATURE_NAMES)].to_numpy()
    assert not np.array_equal(np.nan_to_num(late_a, nan=-1), np.nan_to_num(late_b, nan=-1))  # the test can fail


def test_labels_and_rows(world):
    rows = training_rows(world.events, world.world, world.outcomes, horizon_days=30)
    out = world.outcomes.set_index("user_id")
    assert set(rows.columns) == {"user_id", "at", "label", *FEATURE_NAMES}
    r = rows[rows["label"] == 1].iloc[0]
    o = out.loc[r["user_id"]]
    assert o["outcome"] in ("dropped", "stalled")
    if o["outcome"] == "dropped":
        assert r["at"] < o["left_at"] <= r["at"] + timedelta(days=30)
    present = rows.merge(out[["joined_at", "left_at"]], left_on="user_id", right_index=True)
    assert (present["joined_at"] <= present["at"]).all()
    assert (present["left_at"].isna() | (present["left_at"] > present["at"])).all()


def test_the_gate_keeps_a_weak_model_out(world, tmp_path):
    rows = training_rows(world.events, world.world, world.outcomes)
    res = train_at_risk(rows, tmp_path / "m", min_auc=1.0)
    assert not res.passed and res.model_path is None and not (tmp_path / "m" / "model.npz").exists()
    ok = train_at_risk(rows, tmp_path / "m", min_auc=0.0)
    assert ok.passed and ok.model_path.exists() and 0 <= ok.metrics["auc"] <= 1
