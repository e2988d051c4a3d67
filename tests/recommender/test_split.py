"""Splits never leak the future into training."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from catalog.errors import ConfigError
from recommender.split import leave_last_n_out, positive_events, temporal_split
from recommender.synthetic import block_world


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return block_world(n_users=30, n_blocks=3, items_per_block=8, events_per_user=6, seed=5).events


def test_temporal_split_has_no_future_leak(events):
    cutoff = events["timestamp"].quantile(0.7)
    split = temporal_split(events, cutoff.to_pydatetime())
    train, test = split
    assert train["timestamp"].max() < cutoff <= test["timestamp"].min()
    assert len(train) + len(test) == len(events)
    assert set(train["event_id"]).isdisjoint(test["event_id"])


def test_temporal_split_slices(events):
    cutoff = events["timestamp"].quantile(0.5).to_pydatetime()
    # A user who only appears after the cutoff, and a new item only after it.
    late = events.iloc[[-1]].assign(user_id="late-user", item_id="late-item", event_id="late")
    split = temporal_split(pd.concat([events, late]), cutoff)
    assert "late-user" in split.cold_users and "late-user" not in split.warm_users
    assert "late-item" in split.cold_items
    train_users = set(split.train["user_id"])
    assert all(u in train_users for u in split.warm_users)
    assert set(split.warm_test["user_id"]) == set(split.warm_users)
    assert set(split.cold_user_test["user_id"]) == set(split.cold_users)


def test_temporal_split_end_bounds_the_test_window(events):
    start = events["timestamp"].min().to_pydatetime()
    split = temporal_split(events, start + timedelta(days=20), end=start + timedelta(days=30))
    assert split.test["timestamp"].max() < pd.Timestamp(start + timedelta(days=30))
    with pytest.raises(ConfigError):
        temporal_split(events, start + timedelta(days=20), end=start + timedelta(days=10))


@pytest.mark.parametrize("n", [1, 2])
def test_leave_last_n_out_holds_out_each_users_last_items_without_leaks(events, n):
    train, test = leave_last_n_out(events, n)
    pos = positive_events(events)
    for uid, user_test in test.groupby("user_id"):
        first = pos[pos.user_id == uid].groupby("item_id")["timestamp"].min().sort_values()
        held = set(user_test["item_id"])
        assert len(held) == n
        assert held == set(first.index[-n:])
        t_u = first[list(held)].min()
        user_train = train[train.user_id == uid]
        assert (user_train["timestamp"] < t_u).all()  # nothing at or after the held-out time
        assert not held & set(user_train["item_id"])
    # Users with too few positive items keep everything in train.
    counts = pos.groupby("user_id")["item_id"].nunique()
    for uid in counts[counts <= n].index:
        assert uid not in set(test["user_id"])
        assert (train.user_id == uid).sum() == (events.user_id == uid).sum()
    with pytest.raises(ConfigError):
        leave_last_n_out(events, 0)
