"""The three ways held-out data can relate to training data, and a validation cut that mirrors each.

- ``temporal``: one global time cut; the test window follows the training window in time;
- ``user-holdout``: for each mentee with at least :data:`MIN_ITEMS` positive items, a random
  ``fraction`` of those items (every event on them) is held out; the rest, before and after,
  trains. Test does not follow in time, so a recency prior tuned on a time cut misleads here;
- ``leave-last-out``: each mentee's last positive item held out
  (:func:`recommender.split.leave_last_n_out`).

:func:`validation_for` cuts a validation split from the TRAINING events with the same rule
(the auto-tuners and the hybrid's weights tune on it), so what is tuned is tuned for the
relation the test data has. ``now`` is the time a model is assumed to serve at: the cut for
a temporal split, the last training event otherwise.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from catalog.errors import ConfigError, NotReadyError
from recommender.split import leave_last_n_out, positive_events
from training.data import time_quantile, validation_split

__all__ = ["SPLITS", "MIN_ITEMS", "user_holdout", "split_for", "validation_for"]

SPLITS: tuple[str, ...] = ("temporal", "user-holdout", "leave-last-out")
MIN_ITEMS = 5


def user_holdout(events: pd.DataFrame, *, fraction: float = 0.2, seed: int = 0,
                 min_items: int = MIN_ITEMS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, test)``: a random ``fraction`` of each mentee's positive items held out (module docstring)."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"holdout fraction must be in (0, 1), got {fraction}")
    pos = positive_events(events)
    pairs = pos[["user_id", "item_id"]].drop_duplicates().sort_values(["user_id", "item_id"], kind="mergesort")
    rng = np.random.default_rng(seed)
    held = []
    for _, g in pairs.groupby("user_id", sort=True):
        if len(g) >= min_items:
            n = max(1, int(round(fraction * len(g))))
            held.append(g.iloc[rng.choice(len(g), size=n, replace=False)])
    if not held:
        raise NotReadyError(f"no mentee has {min_items} positive items to hold some out")
    h = pd.MultiIndex.from_frame(pd.concat(held)[["user_id", "item_id"]])
    in_held = pd.MultiIndex.from_frame(events[["user_id", "item_id"]]).isin(h)
    test = events[in_held]
    return events[~in_held], test[pd.MultiIndex.from_frame(test[["user_id", "item_id"]]).isin(
        pd.MultiIndex.from_frame(pos[["user_id", "item_id"]]))]


def _last(events: pd.DataFrame) -> datetime:
    return pd.Timestamp(pd.to_datetime(events["timestamp"], utc=True).max()).to_pydatetime()


def split_for(events: pd.DataFrame, split: str, *, fraction: float = 0.2, seed: int = 0
              ) -> tuple[pd.DataFrame, pd.DataFrame, datetime]:
    """``(train, test, now)`` by ``split`` (one of :data:`SPLITS`)."""
    if split == "temporal":
        cut = time_quantile(events, 1.0 - fraction)
        ts = pd.to_datetime(events["timestamp"], utc=True)
        return events[(ts < cut).to_numpy()], events[(ts >= cut).to_numpy()], cut.to_pydatetime()
    if split == "user-holdout":
        train, test = user_holdout(events, fraction=fraction, seed=seed)
        return train, test, _last(train)
    if split == "leave-last-out":
        train, test = leave_last_n_out(events, 1)
        return train, test, _last(train)
    raise ConfigError(f"split must be one of {list(SPLITS)}, got {split!r}")


def validation_for(train: pd.DataFrame, split: str, *, fraction: float = 0.2, seed: int = 1
                   ) -> tuple[pd.DataFrame, pd.DataFrame, datetime]:
    """A validation split cut from ``train`` that mirrors ``split`` (module docstring)."""
    if split == "temporal":
        v = validation_split(train, fraction=fraction)
        return v.train, v.test, v.cutoff.to_pydatetime()
    return split_for(train, split, fraction=fraction, seed=seed)
