"""The ``mentee_engagement`` table: snapshot rows, and the push that writes one row online at once.

:func:`engagement_rows` computes the point-in-time rows (training builds the offline
table with it); :func:`push_engagement` recomputes one mentee's row from their events
and writes it through the ``mentee_engagement_push`` push source, so the service's
``/events`` endpoint updates the online store immediately. Both live here, not in
``training/``, because the service may not import ``training/``.

Definitions (windows are ``[T - w, T)``): *activity* = view, start, complete, like,
bookmark, dismiss, assess; *engaged* = view, start, complete, like, bookmark;
``dismiss_rate`` = dismiss / (dismiss + engaged), 0 when both are 0;
``current_streak_days`` = consecutive UTC days with activity ending on the day of
``T - 1µs`` or the day before (a streak survives until a whole day is missed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.schema import parse_timestamp
from features.snapshots import frame, grid, item_minutes, prepare_events, ratio, to_us
from features.tables import ENGAGEMENT_PUSH_SOURCE, MENTEE_ENGAGEMENT
from features.windows import PrefixIndex

if TYPE_CHECKING:  # pragma: no cover
    from feast import FeatureStore

__all__ = ["DAY_US", "ENGAGED_TYPES", "ACTIVITY_TYPES", "engagement_rows", "engagement_at", "push_engagement"]

DAY_US = 86_400_000_000
ENGAGED_TYPES: tuple[str, ...] = ("view", "start", "complete", "like", "bookmark")
ACTIVITY_TYPES: tuple[str, ...] = (*ENGAGED_TYPES, "dismiss", "assess")


def engagement_rows(events: pd.DataFrame, catalog: Catalog, snaps: NDArray[np.int64]) -> pd.DataFrame:
    """``mentee_engagement`` rows at the snapshot times ``snaps`` (int64 µs, sorted)."""
    act = events[events["event_type"].isin(ACTIVITY_TYPES)]
    users, ukey = np.unique(act["user_id"].to_numpy(dtype=object), return_inverse=True)
    ts = to_us(act["timestamp"])
    etype = act["event_type"].to_numpy(dtype=object)
    idx = PrefixIndex(ukey, ts)
    first = np.full(len(users), np.iinfo(np.int64).max)
    np.minimum.at(first, ukey, ts)
    g, t = grid(first, snaps)
    if len(g) == 0:
        return frame(MENTEE_ENGAGEMENT, {"user_id": []}, {n: [] for n in MENTEE_ENGAGEMENT.feature_names}, t)
    now = idx.positions(g, t)
    w7 = idx.positions(g, t - 7 * DAY_US)
    w30 = idx.positions(g, t - 30 * DAY_US)
    is_complete = etype == "complete"
    pre_all, pre_done = idx.prefix(), idx.prefix(is_complete)
    pre_dismiss = idx.prefix(etype == "dismiss")
    pre_engaged = idx.prefix(np.isin(etype, ENGAGED_TYPES))
    pre_minutes = idx.prefix(np.where(is_complete, item_minutes(catalog, act["item_id"].to_numpy(dtype=object)), 0.0))
    dismiss30 = idx.window(pre_dismiss, now, w30)
    feats: dict[str, NDArray] = {
        "events_7d": idx.window(pre_all, now, w7),
        "events_30d": idx.window(pre_all, now, w30),
        "completions_7d": idx.window(pre_done, now, w7),
        "completions_30d": idx.window(pre_done, now, w30),
        "dismiss_rate_30d": ratio(dismiss30, dismiss30 + idx.window(pre_engaged, now, w30)),
        "minutes_completed_30d": idx.window(pre_minutes, now, w30),
        "days_since_last_activity": (t - idx.last_ts_before(now)) / DAY_US,
    }
    feats.update(_day_features(ukey, ts, g, t))
    return frame(MENTEE_ENGAGEMENT, {"user_id": users[g]}, feats, t)


def _day_features(ukey: NDArray[np.int64], ts: NDArray[np.int64], g: NDArray[np.int64],
                  t: NDArray[np.int64]) -> dict[str, NDArray]:
    """``active_days_30d`` and ``current_streak_days`` from per-(user, UTC day) activity."""
    day = ts // DAY_US
    ud = pd.DataFrame({"u": ukey, "d": day, "ts": ts}).groupby(["u", "d"], sort=True)["ts"].agg(["min", "max"])
    du = ud.index.get_level_values("u").to_numpy(np.int64)
    dd = ud.index.get_level_values("d").to_numpy(np.int64)
    by_first = PrefixIndex(du, ud["min"].to_numpy(np.int64))
    by_last = PrefixIndex(du, ud["max"].to_numpy(np.int64))
    # A 30-day window cannot fit inside one day, so a day has activity in [T-30d, T)
    # exactly when its first event is before T and its last is at or after T-30d.
    p_first = by_first.positions(g, t)
    active = p_first.count - by_last.positions(g, t - 30 * DAY_US).count
    # Runs of consecutive days: run start for every (user, day), in by_first's order.
    su, sd = du[by_first.order], dd[by_first.order]
    new_run = np.ones(len(sd), dtype=bool)
    new_run[1:] = (su[1:] != su[:-1]) | (sd[1:] - sd[:-1] != 1)
    run_start = sd[np.maximum.accumulate(np.where(new_run, np.arange(len(sd)), 0))] if len(sd) else sd
    streak = np.zeros(len(g), dtype=np.int64)
    has = p_first.pos > p_first.start
    last = p_first.pos[has] - 1
    today = (t[has] - 1) // DAY_US
    alive = sd[last] >= today - 1
    streak[np.flatnonzero(has)[alive]] = (sd[last] - run_start[last] + 1)[alive]
    return {"active_days_30d": active, "current_streak_days": streak}


def engagement_at(events: pd.DataFrame, *, as_of: datetime | str, catalog: Catalog,
                  user_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Engagement rows of ``user_ids`` (default: everyone in ``events``) as of ``as_of``, stamped ``as_of + 1µs``.

    ``events`` must hold each mentee's events of at least the last 30 days up to
    ``as_of``; events after ``as_of`` are ignored. The stamp is one microsecond after
    ``as_of`` so the rows count events at ``as_of`` (windows are ``[T - w, T)``). Mentees
    without activity get no row.
    """
    t = parse_timestamp(as_of)
    ev = prepare_events(events)
    keep = ev["timestamp"] <= pd.Timestamp(t)
    if user_ids is not None:
        keep &= ev["user_id"].isin(list(user_ids))
    snap = np.array([int(pd.Timestamp(t).value // 1000) + 1], dtype=np.int64)
    return engagement_rows(ev[keep], catalog, snap)


def push_engagement(store: "FeatureStore", user_id: str, events: pd.DataFrame, *, as_of: datetime | str,
                    catalog: Catalog) -> dict[str, Any] | None:
    """Recompute ``user_id``'s engagement row from its events and write it online at once.

    See :func:`engagement_at` for what ``events`` must hold. Returns the pushed
    features, or None when the mentee has no activity (nothing to push).
    """
    row = engagement_at(events, as_of=as_of, catalog=catalog, user_ids=[user_id])
    if row.empty:
        return None
    store.push(ENGAGEMENT_PUSH_SOURCE, row)
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.iloc[0][MENTEE_ENGAGEMENT.feature_names].items()}
