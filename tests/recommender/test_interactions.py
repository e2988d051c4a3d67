"""Events -> confidence, dismissed and seen matrices."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from catalog.errors import ConfigError, UnknownItemError, UnknownUserError
from catalog.ids import IdMap
from recommender.interactions import EventWeights, build_id_maps, build_interactions, item_id_map, user_id_map

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def ev(*rows) -> pd.DataFrame:
    """rows: (user, item, type, day offset[, value])."""
    out = []
    for r in rows:
        u, i, t, d = r[:4]
        out.append({"user_id": u, "item_id": i, "event_type": t, "value": r[4] if len(r) > 4 else np.nan,
                    "timestamp": T0 + timedelta(days=d)})
    df = pd.DataFrame(out)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return df


USERS, ITEMS = IdMap(["a", "b"]), IdMap(["x", "y", "z"])


def build(df, **kw):
    return build_interactions(df, users=USERS, items=ITEMS, **kw)


def dense(m):
    return m.toarray()


def test_weights_sum_over_types_but_repeats_do_not_inflate():
    it = build(ev(("a", "x", "view", 0), ("a", "x", "view", 1), ("a", "x", "start", 2), ("a", "x", "complete", 3),
                  ("b", "y", "bookmark", 0), ("b", "z", "assess", 0, 80.0)))
    expected = np.array([[1 + 1.5 + 4, 0, 0], [0, 2, 2]], np.float32)
    np.testing.assert_array_equal(dense(it.matrix), expected)
    assert it.matrix.dtype == np.float32 and it.matrix.format == "csr"


def test_impressions_alone_are_not_positives_nor_seen():
    it = build(ev(("a", "x", "impression", 0), ("a", "y", "impression", 0), ("a", "y", "view", 1)))
    assert dense(it.matrix)[0].tolist() == [0, 1, 0]
    assert dense(it.seen)[0].tolist() == [False, True, False]


def test_like_rating_shifts_weight():
    it = build(ev(("a", "x", "like", 0, 5.0), ("a", "y", "like", 0, 1.0), ("a", "z", "like", 0)))
    assert dense(it.matrix)[0].tolist() == [4.0, 2.0, 3.0]


def test_dismissal_removes_positive_and_is_kept_unless_a_later_positive_revives():
    it = build(ev(("a", "x", "view", 0), ("a", "x", "dismiss", 1),       # dismissed after a view
                  ("a", "y", "dismiss", 0), ("a", "y", "complete", 2),   # completed later: revived
                  ("b", "z", "dismiss", 0)))
    assert dense(it.matrix)[0].tolist() == [0, 4, 0]
    assert dense(it.dismissed).tolist() == [[True, False, False], [False, False, True]]
    assert dense(it.seen).tolist() == [[True, True, False], [False, False, True]]
    assert set(it.exclusions(1, seen=False).tolist()) == {2}


def test_custom_weights_and_recency_decay():
    w = EventWeights(view=2.0)
    it = build(ev(("a", "x", "view", 0), ("a", "y", "view", 10)), weights=w, now=T0 + timedelta(days=10),
               half_life_days=10.0)
    np.testing.assert_allclose(dense(it.matrix)[0], [1.0, 2.0, 0.0], rtol=1e-6)
    with pytest.raises(ConfigError):
        build(ev(("a", "x", "view", 0)), half_life_days=10.0)
    with pytest.raises(ValueError):
        EventWeights(view=-1.0)
    with pytest.raises(ValueError):
        EventWeights(unknown=1.0)


def test_events_after_now_are_ignored():
    it = build(ev(("a", "x", "view", 0), ("a", "y", "complete", 5)), now=T0 + timedelta(days=1))
    assert dense(it.matrix)[0].tolist() == [1, 0, 0] and dense(it.seen)[0].tolist() == [True, False, False]


def test_unknown_ids_raise_or_drop():
    df = ev(("a", "x", "view", 0), ("zz", "x", "view", 0), ("a", "nope", "view", 0))
    with pytest.raises(UnknownUserError):
        build(df)
    with pytest.raises(UnknownItemError):
        build(df[df.user_id != "zz"])
    it = build(df, on_unknown="drop")
    assert it.matrix.nnz == 1
    with pytest.raises(ConfigError):
        build(df.assign(event_type="purchase"))


def test_empty_events_give_empty_matrices():
    it = build(ev(("a", "x", "view", 0)).iloc[:0])
    assert it.matrix.shape == (2, 3) and it.matrix.nnz == it.dismissed.nnz == it.seen.nnz == 0


def test_id_maps_from_mentees_events_and_catalog(tiny_world):
    df = ev(("zed", "py-101", "view", 0), ("u2", "sql-101", "view", 0))
    users, items = build_id_maps(df, catalog=tiny_world.catalog, mentees=tiny_world.mentees.values())
    assert users.to_list() == ["u1", "u2", "zed"]
    assert items is tiny_world.catalog.items
    assert item_id_map(df).to_list() == ["py-101", "sql-101"]
    assert user_id_map(df).to_list() == ["u2", "zed"]
