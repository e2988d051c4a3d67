"""Mentee engagement from the Feast offline store as LightFM user features and evaluation slices.

Opt-in (``skillpath train --feast-features``): for every user of a run, one entity row
``(user_id, event_timestamp=as_of)`` goes through :func:`training.feature_store.historical_features`
(a point-in-time join, so only snapshots stamped at or before ``as_of`` reach a row, and
those describe events strictly before their stamp). The raw values are binned into a few
one-hot buckets per feature (:func:`bin_engagement`, pure), with a ``missing`` bucket for
mentees without a snapshot, so LightFM gets a handful of extra user columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import NotReadyError
from catalog.ids import IdMap
from catalog.schema import parse_timestamp
from features.tables import MENTEE_ENGAGEMENT, TIMESTAMP, table_path
from training.data import UserExtra

__all__ = ["Bucketing", "BUCKETS", "ACTIVE_MIN_EVENTS_30D", "bin_engagement", "engagement_frame",
           "user_features_from_store", "engagement_slices", "require_tables", "training_hooks"]

ACTIVE_MIN_EVENTS_30D = 6  # "active" mentee: more than 5 activity events in the 30 days before as_of


@dataclass(frozen=True)
class Bucketing:
    """Right-closed bins ``(-inf, e0], (e0, e1], ..., (e_last, inf)`` with one label each."""

    feature: str
    edges: tuple[float, ...]
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.edges) + 1:
            raise ValueError(f"{self.feature}: {len(self.edges)} edges need {len(self.edges) + 1} labels")

    @property
    def names(self) -> list[str]:
        return [f"{self.feature}={lab}" for lab in (*self.labels, "missing")]


BUCKETS: tuple[Bucketing, ...] = (
    Bucketing("events_30d", (0, 5, 20), ("0", "1-5", "6-20", ">20")),
    Bucketing("days_since_last_activity", (1, 7, 30), ("<=1", "1-7", "7-30", ">30")),
    Bucketing("dismiss_rate_30d", (0.0, 0.2, 0.5), ("0", "0-0.2", "0.2-0.5", ">0.5")),
)


def bin_engagement(frame: pd.DataFrame, buckets: Sequence[Bucketing] = BUCKETS
                   ) -> tuple[sp.csr_matrix, list[str]]:
    """One-hot buckets of ``frame``'s engagement columns: one row per frame row, one 1 per feature.

    Nulls (no snapshot before ``as_of``) go to the feature's ``missing`` bucket.
    """
    n = len(frame)
    blocks, names = [], []
    for b in buckets:
        x = pd.to_numeric(frame[b.feature], errors="coerce").to_numpy(np.float64)
        col = np.searchsorted(np.asarray(b.edges, np.float64), x, side="left")  # right-closed bins
        col = np.where(np.isnan(x), len(b.labels), col)
        blocks.append(sp.csr_matrix((np.ones(n, np.float32), (np.arange(n), col)), shape=(n, len(b.labels) + 1)))
        names += b.names
    mat = sp.hstack(blocks, format="csr", dtype=np.float32) if blocks else sp.csr_matrix((n, 0), dtype=np.float32)
    return mat, names


def require_tables(data_dir: str | Path) -> None:
    """Raise :class:`NotReadyError` (one line, exit 2) unless the engagement table is built and registered."""
    dd = Path(data_dir).expanduser().resolve()
    if not table_path(dd, MENTEE_ENGAGEMENT).exists() or not (dd / "features" / "registry.db").exists():
        raise NotReadyError(f"Feast feature tables missing in {dd / 'features'}; "
                            "run `skillpath features build && skillpath features apply` first")


def engagement_frame(data_dir: str | Path, user_ids: Sequence[str], as_of: datetime | str | pd.Timestamp
                     ) -> pd.DataFrame:
    """``mentee_engagement`` features of ``user_ids`` (same order) as known at ``as_of`` (point in time)."""
    from training.feature_store import historical_features, open_store

    require_tables(data_dir)
    t = pd.Timestamp(parse_timestamp(str(as_of)))
    edf = pd.DataFrame({"user_id": [str(u) for u in user_ids], TIMESTAMP: t})
    store = open_store(data_dir, online="sqlite")
    needed = sorted({b.feature for b in BUCKETS} | {"events_30d"})
    out = historical_features(store, edf, features=[f"{MENTEE_ENGAGEMENT.name}:{n}" for n in needed])
    return out[["user_id", *needed]]


def user_features_from_store(data_dir: str | Path, user_ids: Sequence[str], as_of: datetime | str | pd.Timestamp
                             ) -> tuple[sp.csr_matrix, list[str]]:
    """``(matrix, names)``: binned engagement of ``user_ids`` (rows in order) from snapshots before ``as_of``."""
    return bin_engagement(engagement_frame(data_dir, user_ids, as_of))


def engagement_slices(frame: pd.DataFrame) -> dict[str, NDArray[np.bool_]]:
    """Evaluation slices per row: ``active`` (events_30d > 5 at as_of) and ``inactive`` (the rest, nulls too)."""
    e = pd.to_numeric(frame["events_30d"], errors="coerce").to_numpy(np.float64)
    active = np.nan_to_num(e, nan=0.0) >= ACTIVE_MIN_EVENTS_30D
    return {"active": active, "inactive": ~active}


def training_hooks(data_dir: str | Path, as_of: datetime | str | pd.Timestamp
                   ) -> tuple[UserExtra, Callable[[IdMap], dict[str, NDArray[np.bool_]]]]:
    """``(user_extra, user_slices)`` for :func:`training.evaluate.run_comparison`, one Feast query per user list.

    Both read the same point-in-time frame at ``as_of`` (the end of the fit window, so
    nothing from the validation or test window reaches features or slices).
    """
    cache: dict[tuple[str, ...], pd.DataFrame] = {}

    def frame(users: IdMap) -> pd.DataFrame:
        key = tuple(users.to_list())
        if key not in cache:
            cache[key] = engagement_frame(data_dir, key, as_of)
        return cache[key]

    def user_extra(users: IdMap) -> tuple[sp.csr_matrix, list[str]]:
        return bin_engagement(frame(users))

    def user_slices(users: IdMap) -> dict[str, NDArray[np.bool_]]:
        return engagement_slices(frame(users))

    return user_extra, user_slices
