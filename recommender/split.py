"""Train/test splits over the event log that never leak the future into training.

:func:`temporal_split` is the honest offline protocol: one global cutoff, training sees
only events strictly before it, the test is what mentees did from the cutoff on. It
also names the slices an evaluation should report separately: warm users (with
training history), cold users (none), and cold items (absent from training).

:func:`leave_last_n_out` is the classic per-user protocol; it holds out each user's own
last items (and drops whatever that user did after them), but other users' later events
stay in training, so it is optimistic: prefer the temporal split for decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from catalog.errors import ConfigError
from catalog.schema import parse_timestamp
from recommender.interactions import EventWeights

__all__ = ["TemporalSplit", "temporal_split", "leave_last_n_out", "positive_events"]


@dataclass(frozen=True)
class TemporalSplit:
    """Events before the cutoff (``train``) and from it on (``test``), plus slices of ``test``."""

    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp
    warm_users: np.ndarray  # test users with at least one training event (object array of ids)
    cold_users: np.ndarray  # test users with none
    cold_items: np.ndarray  # test items that never appear in training

    def __iter__(self):
        """Unpack as ``train, test = temporal_split(...)``."""
        return iter((self.train, self.test))

    @property
    def warm_test(self) -> pd.DataFrame:
        return self.test[self.test["user_id"].isin(self.warm_users)]

    @property
    def cold_user_test(self) -> pd.DataFrame:
        return self.test[self.test["user_id"].isin(self.cold_users)]


def _timestamps(events: pd.DataFrame) -> pd.Series:
    if "timestamp" not in events.columns:
        raise ConfigError("events frame lacks a timestamp column")
    return pd.to_datetime(events["timestamp"], utc=True)


def positive_events(events: pd.DataFrame, weights: EventWeights | None = None) -> pd.DataFrame:
    """Events that count as a positive signal under ``weights`` (not impressions, not dismissals)."""
    weights = weights or EventWeights()
    positive = {t for t in events["event_type"].unique() if t != "dismiss" and weights.for_type(str(t)) > 0}
    return events[events["event_type"].isin(positive)]


def temporal_split(events: pd.DataFrame, cutoff: datetime | str, *,
                   end: datetime | str | None = None) -> TemporalSplit:
    """Split at one global ``cutoff``: train ``< cutoff``, test in ``[cutoff, end)``.

    ``end`` (optional) bounds the test window, e.g. "the four weeks after the cutoff".
    """
    cut = pd.Timestamp(parse_timestamp(cutoff))
    ts = _timestamps(events)
    train_mask = (ts < cut).to_numpy()
    test_mask = ~train_mask
    if end is not None:
        end_ts = pd.Timestamp(parse_timestamp(end))
        if end_ts <= cut:
            raise ConfigError(f"test window end {end_ts} must be after the cutoff {cut}")
        test_mask &= (ts < end_ts).to_numpy()
    train, test = events[train_mask], events[test_mask]
    train_users = set(train["user_id"])
    test_users = pd.unique(test["user_id"])
    warm = np.array([u for u in test_users if u in train_users], dtype=object)
    cold = np.array([u for u in test_users if u not in train_users], dtype=object)
    train_items = set(train["item_id"])
    cold_items = np.array([i for i in pd.unique(test["item_id"]) if i not in train_items], dtype=object)
    return TemporalSplit(train=train, test=test, cutoff=cut, warm_users=warm, cold_users=cold,
                         cold_items=cold_items)


def leave_last_n_out(events: pd.DataFrame, n: int = 1, *,
                     weights: EventWeights | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out each user's last ``n`` positively-interacted items.

    For each user with more than ``n`` positive items, the held-out items are the ``n``
    whose first positive event is latest; ``t_u`` is the earliest of those first events.
    Train keeps the user's events strictly before ``t_u``; test is the user's positive
    events on the held-out items. Users with ``n`` or fewer positive items stay wholly
    in train. Nothing a user did at or after ``t_u`` is in train.
    """
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}")
    ts = _timestamps(events)
    ev = events.assign(_ts=ts.to_numpy(), _row=np.arange(len(events)))
    pos = positive_events(ev, weights)
    first = pos.groupby(["user_id", "item_id"], sort=False)["_ts"].min().reset_index()
    first = first.sort_values(["user_id", "_ts", "item_id"], kind="mergesort")
    counts = first.groupby("user_id")["item_id"].transform("size")
    rank_from_end = first.groupby("user_id").cumcount(ascending=False)
    held = first[(counts > n) & (rank_from_end < n)]
    t_u = held.groupby("user_id")["_ts"].min()
    user_cut = ev["user_id"].map(t_u)
    has_cut = user_cut.notna().to_numpy()
    before = np.ones(len(ev), dtype=bool)
    before[has_cut] = (ev["_ts"].to_numpy()[has_cut] < pd.to_datetime(user_cut[has_cut], utc=True).to_numpy())
    train = events[before]
    held_pairs = pd.MultiIndex.from_frame(held[["user_id", "item_id"]])
    in_held = pd.MultiIndex.from_frame(pos[["user_id", "item_id"]]).isin(held_pairs)
    test = events.iloc[pos["_row"].to_numpy()[in_held]]
    return train, test
