"""Split-aware tuning: the inner validation mirrors the held-out relation; a prior must beat "off" beyond noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from catalog.errors import ConfigError
from training.autoprior import AUTO, paired_bootstrap, resolve_auto
from training.data import prepare
from training.evaluate import detect_split
from training.splits import split_for, user_holdout, validation_for


def test_user_holdout_holds_out_a_fraction_of_each_mentees_items(block):
    train, test = user_holdout(block.events, fraction=0.2, seed=0)
    assert len(test) and len(train) + len(test) <= len(block.events)
    pairs_tr = set(zip(train.user_id, train.item_id))
    pairs_te = set(zip(test.user_id, test.item_id))
    assert not pairs_tr & pairs_te
    # not a time cut: held-out events are interleaved with training events
    assert pd.to_datetime(test.timestamp, utc=True).min() < pd.to_datetime(train.timestamp, utc=True).max()
    assert detect_split(train, test) == "user-holdout"
    again = user_holdout(block.events, fraction=0.2, seed=0)[1]
    assert again.equals(test)


def test_validation_mirrors_the_split(block):
    tr, te, now = split_for(block.events, "temporal")
    assert detect_split(tr, te) == "temporal"
    vf, vv, vnow = validation_for(tr, "temporal")
    assert pd.to_datetime(vv.timestamp, utc=True).min() >= pd.to_datetime(vf.timestamp, utc=True).max()
    tr, te, now = split_for(block.events, "user-holdout")
    vf, vv, vnow = validation_for(tr, "user-holdout")
    assert pd.to_datetime(vv.timestamp, utc=True).min() < pd.to_datetime(vf.timestamp, utc=True).max()
    assert len(vf) + len(vv) <= len(tr)
    tr, te, _ = split_for(block.events, "leave-last-out")
    assert te.groupby("user_id").item_id.nunique().max() == 1
    with pytest.raises(ConfigError):
        split_for(block.events, "sideways")


def test_paired_bootstrap():
    rng = np.random.default_rng(0)
    a = rng.random(400)
    m, lo, hi = paired_bootstrap(a + 0.1, a)
    assert m == pytest.approx(0.1) and lo > 0.09
    noise = rng.normal(0, 1, 400)
    m, lo, hi = paired_bootstrap(a + noise * 0.01 + 0.0001, a)
    assert lo < 0 < hi


def test_auto_prior_on_a_user_holdout_tunes_on_a_user_holdout_and_needs_to_beat_off(block):
    tr, te, _ = split_for(block.events, "user-holdout")
    p = prepare(block.world, tr, te, id_events=[block.events])
    params = {"factors": 8, "iterations": 10, "recency_weight": AUTO, "recency_half_life_days": AUTO}
    chosen, auto = resolve_auto("als", p, params, k=5, split="user-holdout")
    assert auto.split == "user-holdout" and "user-holdout" in auto.summary()
    scores = {(s["recency_weight"], s["recency_half_life_days"]): v for s, v in auto.scores}
    off = scores[(0.0, None)]
    if chosen["recency_weight"] != 0:
        assert auto.prior_test is not None and auto.prior_test["lo"] > 0 and auto.prior_test["kept"] == 1.0
    else:
        assert chosen["recency_half_life_days"] is None
        assert auto.prior_test is None or auto.prior_test["kept"] == 0.0 or max(scores.values()) == off
