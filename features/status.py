"""The monitor's mentee status as a point-in-time feature table (``mentee_status``).

Each row stamped ``event_timestamp = T`` is the status of one mentee at ``T - 1 µs``
(:func:`analysis.monitoring.statuses_at`: the fold the service runs, replayed), so,
like every table here, it describes only events strictly before ``T``, and Feast's
point-in-time join never hands a training row an event at or after its time. Rows are
written at each snapshot for every mentee active in the 60 days before it (a silent
mentee's status still changes daily: silence grows), with the inputs the service gives
the live status: goals and the profile (mentees file), the completion mastery series
(:class:`~analysis.monitoring.progress.CompletionMastery`), and the mentor with the
pair's recorded sessions when the caller passes ``inputs`` (the offline table has no
assignment of its own; mentor features are null without it). Pure (no Feast import).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.monitoring import FEATURE_NAMES, statuses_at
from analysis.monitoring.progress import CompletionMastery, item_main_skill
from catalog.catalog import World
from features.tables import MENTEE_STATUS, TIMESTAMP

__all__ = ["status_rows", "ACTIVE_DAYS"]

ACTIVE_DAYS = 60
_DAY_US = 86_400_000_000
Inputs = Callable[[str, int], Mapping[str, Any]]


def status_rows(events: pd.DataFrame, world: World, snaps: NDArray[np.int64], *,
                inputs: Inputs | None = None) -> pd.DataFrame:
    """``user_id, <FEATURE_NAMES>, event_timestamp``: one row per snapshot and mentee active before it."""
    cols = {"user_id": np.zeros(0, dtype=object), **{n: np.zeros(0) for n in FEATURE_NAMES}}
    empty = pd.DataFrame(cols).assign(**{TIMESTAMP: pd.to_datetime(np.zeros(0, np.int64), unit="us", utc=True)})
    ev = events[events["event_type"] != "impression"]
    if ev.empty or len(snaps) == 0:
        return empty[MENTEE_STATUS.columns]
    users = ev["user_id"].to_numpy(dtype=object)
    ts = np.asarray(pd.to_datetime(ev["timestamp"], utc=True).astype("datetime64[us, UTC]").array.asi8)
    order = np.lexsort((ts, users))
    users, ts = users[order], ts[order]
    cut_u: list[str] = []
    cut_t: list[int] = []
    uniq, first = np.unique(users, return_index=True)
    bounds = np.r_[first, len(users)]
    for k, u in enumerate(uniq.tolist()):
        t_u = ts[bounds[k]:bounds[k + 1]]
        # snapshots T with an activity in [T - 60 d, T): the newest activity before T is within 60 days
        before = np.searchsorted(t_u, snaps, side="left")
        ok = before > 0
        last = np.where(ok, t_u[np.maximum(before - 1, 0)], 0)
        keep = ok & (snaps - last <= ACTIVE_DAYS * _DAY_US)
        cut_u.extend([u] * int(keep.sum()))
        cut_t.extend(snaps[keep].tolist())
    if not cut_u:
        return empty[MENTEE_STATUS.columns]
    at = np.asarray(cut_t, dtype=np.int64)
    cuts = pd.DataFrame({"user_id": np.asarray(cut_u, dtype=object),
                         "at": pd.to_datetime(at - 1, unit="us", utc=True).astype("datetime64[us, UTC]")})
    comp = events[events["event_type"] == "complete"].sort_values("timestamp", kind="stable")
    mastery = CompletionMastery(world.catalog, world.mentees).points(
        zip(comp["user_id"].tolist(), comp["item_id"].tolist(),
            np.asarray(pd.to_datetime(comp["timestamp"], utc=True).astype("datetime64[us, UTC]").array.asi8).tolist()))
    mentees = world.mentees

    def given(u: str, at_us: int) -> Mapping[str, Any]:
        m = mentees.get(u)
        base: dict[str, Any] = {"goals": m.goals if m is not None else (), "mentee": m}
        if inputs is not None:
            base.update(inputs(u, at_us))
        return base
    X = statuses_at(events, cuts, mastery=mastery, item_skill=item_main_skill(world.catalog), inputs=given)
    X[TIMESTAMP] = pd.to_datetime(at, unit="us", utc=True).astype("datetime64[us, UTC]")
    X[list(FEATURE_NAMES)] = X[list(FEATURE_NAMES)].astype(np.float64)
    return X[MENTEE_STATUS.columns].sort_values([TIMESTAMP, "user_id"], kind="stable").reset_index(drop=True)
