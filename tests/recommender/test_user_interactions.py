"""The single-user builder (serving's hot path) against build_interactions, which is the reference."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from catalog.errors import ConfigError
from catalog.ids import IdMap
from catalog.schema import EVENT_TYPES
from recommender.interactions import EventWeights, build_interactions, user_interactions

ITEMS = IdMap([f"i{j}" for j in range(8)])
T0_US = int(datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp()) * 1_000_000


def _random_rows(rng: np.random.Generator, n: int) -> list[tuple[str, str, float | None, int]]:
    """Events on few items over few distinct times, so repeats, ties and revivals all happen."""
    rows = []
    for _ in range(n):
        t = str(rng.choice(EVENT_TYPES))
        value = None
        if t == "like" and rng.random() < 0.6:
            value = float(rng.integers(1, 6))
        elif t == "assess":
            value = float(rng.integers(0, 101))
        item = f"i{rng.integers(0, 9)}"  # i8 is not in the catalog: dropped
        rows.append((item, t, value, T0_US + int(rng.integers(0, 6)) * 3_600_000_000))
    return rows


def _reference(rows, weights=None):
    df = pd.DataFrame(rows, columns=["item_id", "event_type", "value", "ts_us"])
    df["user_id"] = "u"
    df["value"] = df["value"].astype("float64")
    df["timestamp"] = pd.to_datetime(df.pop("ts_us"), unit="us", utc=True)
    return build_interactions(df, users=IdMap(["u"]), items=ITEMS, weights=weights, on_unknown="drop")


@pytest.mark.parametrize("seed", range(40))
def test_matches_build_interactions_on_random_histories(seed):
    rng = np.random.default_rng(seed)
    rows = _random_rows(rng, int(rng.integers(0, 30)))
    weights = EventWeights(impression=0.5, like_rating_step=1.0) if seed % 4 == 3 else None
    ref, got = _reference(rows, weights), user_interactions(rows, items=ITEMS, weights=weights)
    assert got.history.shape == (1, len(ITEMS))
    np.testing.assert_array_equal(got.history.toarray(), ref.history(0).toarray())
    assert got.history.dtype == np.float32
    assert got.dismissed.tolist() == ref.dismissed[0].indices.tolist()
    assert got.seen.tolist() == sorted(ref.seen[0].indices.tolist())
    assert got.exclusions().tolist() == ref.exclusions(0).tolist()
    assert got.exclusions(seen=False).tolist() == ref.exclusions(0, seen=False).tolist()


def test_dismissal_rules_by_hand():
    h = 3_600_000_000
    rows = [("i0", "view", None, 0), ("i0", "dismiss", None, h),          # dismissed after a view
            ("i1", "dismiss", None, 0), ("i1", "complete", None, 2 * h),  # completed later: revived
            ("i2", "like", 1.0, 0), ("i2", "dismiss", None, 0),           # tie: the dismissal stands
            ("i3", "impression", None, 0)]                                # not seen, not positive
    got = user_interactions(rows, items=ITEMS)
    assert got.history.toarray()[0, :4].tolist() == [0, 4, 0, 0]
    assert got.dismissed.tolist() == [0, 2] and got.seen.tolist() == [0, 1, 2]


def test_unknown_event_type_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown event type"):
        user_interactions([("i0", "watch", None, 0)], items=ITEMS)
