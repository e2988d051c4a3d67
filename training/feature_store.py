"""Feast jobs: register definitions, materialise, build training sets, push fresh rows.

Thin wrappers over the Feast Python API (never the CLI: each ``feast`` call costs
seconds) that enforce the rules this project learnt the hard way: explicit
``materialize(start, end)`` windows, microsecond UTC timestamps, duckdb retrieval, and
a hard check that ``get_historical_features`` returns exactly one row per input row.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from catalog.errors import ConfigError, DataValidationError, IntegrityError, NotReadyError, RowError
from catalog.schema import parse_timestamp
from features.engagement import push_engagement  # moved to features/ (the service pushes too)
from features.store import data_dir_of, open_store, tables_time_range  # the service rebuilds from them too
from features.tables import TABLES, TIMESTAMP, table_path

if TYPE_CHECKING:  # pragma: no cover
    from feast import FeatureStore

__all__ = ["open_store", "apply", "materialize", "tables_time_range", "historical_features",
           "push_engagement"]

_ROW = "__skillpath_row__"


def apply(store: "FeatureStore") -> list[str]:
    """Register entities, sources and feature views (idempotent); returns the view names.

    The sources point at ``<data_dir>/features/*.parquet`` of the store's data dir.
    """
    from features.definitions import build_definitions

    defs = build_definitions(data_dir_of(store))
    store.apply(defs.objects)
    return sorted(defs.views)


@contextlib.contextmanager
def _quiet(quiet: bool):
    """Feast prints progress on stdout; keep stdout for answers."""
    target = io.StringIO() if quiet else sys.stderr
    with contextlib.redirect_stdout(target):
        yield


def materialize(store: "FeatureStore", start: datetime | str, end: datetime | str, *,
                views: Sequence[str] | None = None, quiet: bool = True) -> None:
    """Load the latest row per entity with ``start <= event_timestamp <= end`` into the online store.

    Always an explicit window (``materialize-incremental`` silently loads only the last
    TTL on its first run). Missing Parquet tables raise :class:`NotReadyError`.
    """
    s, e = parse_timestamp(start), parse_timestamp(end)
    if s > e:
        raise ConfigError(f"materialize window is empty: start {s.isoformat()} is after end {e.isoformat()}")
    names = list(views) if views is not None else list(TABLES)
    unknown = [v for v in names if v not in TABLES]
    if unknown:
        raise ConfigError(f"unknown feature view(s) {unknown}; known: {sorted(TABLES)}")
    missing = [str(p) for p in (table_path(data_dir_of(store), v) for v in names) if not p.exists()]
    if missing:
        raise NotReadyError(f"feature tables missing ({', '.join(missing)}); run `skillpath features build` first")
    with _quiet(quiet):
        store.materialize(start_date=s, end_date=e, feature_views=names)


def historical_features(store: "FeatureStore", entity_df: pd.DataFrame, *,
                        features: Sequence[str] | None = None) -> pd.DataFrame:
    """Point-in-time join of feature values onto ``entity_df`` (duckdb), same rows, same order.

    ``entity_df`` needs ``event_timestamp`` and the join keys; by default every view whose
    keys are all present is joined. Entities without a value get nulls (never dropped);
    a row-count mismatch raises :class:`IntegrityError` instead of passing silently.
    """
    if TIMESTAMP not in entity_df.columns:
        raise DataValidationError([RowError(0, TIMESTAMP, "missing column")], source="entity_df")
    if features is None:
        features = [r for spec in TABLES.values() if set(spec.keys) <= set(entity_df.columns) for r in spec.refs()]
    if not features:
        raise ConfigError(f"entity_df has none of the join keys {sorted({k for t in TABLES.values() for k in t.keys})}")
    edf = entity_df.copy()
    edf[TIMESTAMP] = pd.to_datetime(edf[TIMESTAMP], utc=True).astype("datetime64[us, UTC]")
    edf[_ROW] = np.arange(len(edf), dtype=np.int64)
    out = store.get_historical_features(entity_df=edf, features=list(features)).to_df()
    if len(out) != len(edf) or not np.array_equal(np.sort(out[_ROW].to_numpy()), edf[_ROW].to_numpy()):
        raise IntegrityError(f"historical retrieval returned {len(out)} rows for {len(edf)} entity rows")
    out = out.sort_values(_ROW, kind="stable").drop(columns=[_ROW]).reset_index(drop=True)
    return out
