"""Helpers shared by every point-in-time feature table: event frames, snapshot grids, rows.

Moved here from ``training/features.py`` so the service can compute (and push) a
mentee's engagement row without importing ``training/``; ``training.features`` still
uses and re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import DataValidationError, RowError
from catalog.schema import EVENT_COLUMNS, parse_timestamp
from features.tables import TIMESTAMP, TableSpec

__all__ = [
    "prepare_events", "to_us", "default_snapshot_times", "snapshot_us", "stamp", "ragged", "grid", "ratio",
    "frame", "item_minutes",
]


def prepare_events(events: pd.DataFrame) -> pd.DataFrame:
    """Check the columns of an events frame and normalise ``timestamp`` to ``datetime64[us, UTC]``."""
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise DataValidationError([RowError(0, c, "missing column") for c in missing], source="events")
    ev = events.loc[:, list(EVENT_COLUMNS)].copy()
    ts = pd.to_datetime(ev["timestamp"], utc=True)
    ev["timestamp"] = ts.astype("datetime64[us, UTC]")
    ev["value"] = pd.to_numeric(ev["value"], errors="coerce").astype("float64")
    return ev.reset_index(drop=True)


def to_us(ts: pd.Series) -> NDArray[np.int64]:
    return ts.astype("datetime64[us, UTC]").array.asi8 if len(ts) else np.zeros(0, np.int64)


def default_snapshot_times(events: pd.DataFrame, *, freq: str = "1D") -> pd.DatetimeIndex:
    """Snapshots every ``freq`` (UTC-aligned) from just after the first event to just after the last.

    The last snapshot is strictly after the last event, so it includes every event.
    """
    if len(events) == 0:
        return pd.DatetimeIndex([], dtype="datetime64[us, UTC]")
    ts = pd.to_datetime(events["timestamp"], utc=True)
    first = ts.min().floor(freq) + pd.Timedelta(freq)
    last = ts.max().floor(freq) + pd.Timedelta(freq)
    return pd.date_range(first, last, freq=freq).astype("datetime64[us, UTC]")


def snapshot_us(snapshot_times: Iterable | None, events: pd.DataFrame, freq: str) -> NDArray[np.int64]:
    if snapshot_times is None:
        times = default_snapshot_times(events, freq=freq)
    else:
        times = pd.DatetimeIndex([parse_timestamp(t) for t in snapshot_times])
    us = np.unique(np.asarray(times.astype("datetime64[us, UTC]").asi8, dtype=np.int64))
    return us


def stamp(us: NDArray[np.int64]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(us, dtype=np.int64).view("datetime64[us]")).tz_localize("UTC")


def ragged(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """``[0..c0-1, 0..c1-1, ...]`` for ``counts = [c0, c1, ...]``."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def grid(first_us: NDArray[np.int64], snaps: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(group, snapshot) pairs with snapshot time > first_us[group]: returns (group idx, time)."""
    k = len(snaps)
    begin = np.searchsorted(snaps, first_us, side="right")
    n_rows = np.maximum(k - begin, 0)
    groups = np.repeat(np.arange(len(first_us), dtype=np.int64), n_rows)
    return groups, snaps[np.repeat(begin, n_rows) + ragged(n_rows)]


def ratio(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.zeros(len(num))
    np.divide(num, den, out=out, where=den > 0)
    return out


def frame(spec: TableSpec, keys: dict[str, Any], feats: dict[str, Any], ts_us: NDArray[np.int64]) -> pd.DataFrame:
    df = pd.DataFrame({**keys, **{n: np.asarray(feats[n]).astype(t) for n, t in spec.features}})
    df[TIMESTAMP] = stamp(ts_us)
    for k in spec.keys:
        df[k] = df[k].astype(object)
    return df.loc[:, spec.columns]


def item_minutes(catalog: Catalog, item_ids: NDArray[np.object_]) -> NDArray[np.float64]:
    idx = catalog.items.indices(list(item_ids), missing="-1")
    dur = np.append(catalog.duration_minutes.astype(np.float64), 0.0)  # -1 (unknown) -> 0 minutes
    return dur[idx]
