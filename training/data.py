"""Training data: a world and its events, fingerprinted, split in time, turned into matrices.

One place decides where the events of a data dir come from (the durable event log
``events.db`` when there is one, else ``events.parquet``, or a file
the caller names), what a run trained on (:func:`fingerprint`: row counts, time range and
a sha256 of the events sorted by id), and how time is cut:

    all events ──cutoff──> train ──validation cut──> fit | validation

The validation window is cut from *train* (never from a test window): it is what defaults
are tuned on and what the promotion gate compares models on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from catalog.catalog import World
from catalog.datadir import DataDir
from catalog.errors import ConfigError, IntegrityError, NotReadyError
from catalog.eventlog import EventLog
from catalog.logs import open_event_log
from catalog.events import read_events_file as _read_events_file
from catalog.ids import IdMap
from catalog.schema import EVENT_COLUMNS, Mentee, parse_timestamp
from recommender.features import FeatureMatrix, ModelFeatures, build_features
from recommender.interactions import Interactions, build_id_maps, build_interactions
from recommender.split import TemporalSplit, temporal_split

__all__ = [
    "TrainingData", "Prepared", "load_events", "load_training_data", "read_events_file", "fingerprint",
    "world_fingerprint", "time_quantile", "before", "validation_split", "prepare", "UserExtra",
]

_HASHED = ("event_id", "user_id", "item_id", "event_type", "value", "timestamp", "source")


@dataclass(frozen=True)
class TrainingData:
    """A world, its events (canonical columns, sorted by time) and where they came from."""

    world: World
    events: pd.DataFrame
    source: str

    def fingerprint(self) -> dict[str, Any]:
        return {**fingerprint(self.events), **world_fingerprint(self.world)}


def canonical_events(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with exactly :data:`EVENT_COLUMNS` and canonical dtypes, sorted by timestamp (stable)."""
    missing = [c for c in ("user_id", "item_id", "event_type", "timestamp") if c not in df.columns]
    if missing:
        raise ConfigError(f"events lack column(s) {missing}; expected {list(EVENT_COLUMNS)}")
    out = pd.DataFrame({
        "event_id": (df["event_id"].astype(str) if "event_id" in df.columns
                     else pd.Series([f"row-{i}" for i in range(len(df))], index=df.index, dtype=object)),
        "user_id": df["user_id"].astype(str),
        "item_id": df["item_id"].astype(str),
        "event_type": df["event_type"].astype(str),
        "value": (pd.to_numeric(df["value"], errors="coerce").astype("float64") if "value" in df.columns
                  else np.nan),
        "timestamp": pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[us, UTC]"),
        "source": df["source"].astype(str) if "source" in df.columns else "",
    })
    return out.sort_values("timestamp", kind="mergesort").reset_index(drop=True)


def read_events_file(path: str | Path) -> pd.DataFrame:
    """Events from a Parquet, CSV or JSON Lines file with canonical columns (``value``, ``source``,
    ``event_id`` optional), read and validated by :func:`catalog.events.read_events_file`
    (every bad row reported with its line; an undecodable file is a ConfigError naming it).
    Other platforms' exports go through ``skillpath evaluate``'s lenient reader."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such events file")
    return canonical_events(_read_events_file(p))


def load_events(data_dir: DataDir | str | Path, *, events_path: str | Path | None = None,
                database_url: str | None = None) -> tuple[pd.DataFrame, str]:
    """``(events, source)``: ``events_path`` if given, else the event log (PostgreSQL at
    ``database_url`` if given), else ``events.parquet``."""
    dd = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
    if events_path is not None:
        return read_events_file(events_path), str(Path(events_path).resolve())
    if database_url:
        with open_event_log(dd.root, database_url) as pg:
            return canonical_events(pg.read()), repr(pg)
    if dd.events_db.is_file():
        with EventLog(dd.events_db) as log:
            return canonical_events(log.read()), str(dd.events_db)
    parquet = dd.root / "events.parquet"
    if parquet.is_file():
        return read_events_file(parquet), str(parquet)
    raise NotReadyError(f"no events in {dd.root}; run `skillpath data synth`, import events, "
                        "or pass --events FILE")


def load_training_data(data_dir: DataDir | str | Path, *, events_path: str | Path | None = None,
                       database_url: str | None = None) -> TrainingData:
    """The world of ``data_dir`` (validated by :func:`catalog.loaders.load_world`) and its events."""
    from catalog.loaders import load_world

    dd = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
    world = load_world(dd)
    events, source = load_events(dd, events_path=events_path, database_url=database_url)
    if events.empty:
        raise NotReadyError(f"{source} holds no events; nothing to train on")
    return TrainingData(world=world, events=events, source=source)


def fingerprint(events: pd.DataFrame) -> dict[str, Any]:
    """What a model was trained on: counts, time range and a sha256 of the events sorted by id.

    The digest covers every canonical column: pandas' stable 64-bit hash of each event
    row, sorted, then sha256; so the same events in any order give the same digest and any
    changed cell changes it.
    """
    cols = [c for c in _HASHED if c in events.columns]
    ev = events[cols].copy()
    if "timestamp" in ev.columns:
        ev["timestamp"] = pd.to_datetime(ev["timestamp"], utc=True).astype("datetime64[us, UTC]").array.asi8
    rows = np.sort(pd.util.hash_pandas_object(ev, index=False).to_numpy(np.uint64))
    ts = pd.to_datetime(events["timestamp"], utc=True) if len(events) else None
    return {
        "n_events": int(len(events)),
        "n_users": int(events["user_id"].nunique()) if len(events) else 0,
        "n_items": int(events["item_id"].nunique()) if len(events) else 0,
        "time_min": ts.min().isoformat() if ts is not None else None,
        "time_max": ts.max().isoformat() if ts is not None else None,
        "events_sha256": hashlib.sha256(rows.tobytes()).hexdigest(),
    }


def world_fingerprint(world: World) -> dict[str, Any]:
    """Counts of the world and a sha256 of its item ids (the model's column space)."""
    items = "\n".join(world.catalog.items.to_list()).encode()
    return {
        "n_catalog_items": world.catalog.n_items,
        "n_skills": world.catalog.n_skills,
        "n_mentees": len(world.mentees),
        "items_sha256": hashlib.sha256(items).hexdigest(),
    }


def time_quantile(events: pd.DataFrame, q: float) -> pd.Timestamp:
    """The ``q`` quantile of the event timestamps (a cut that leaves ``1 - q`` of events after it)."""
    if not 0.0 < q < 1.0:
        raise ConfigError(f"quantile must be in (0, 1), got {q}")
    if events.empty:
        raise NotReadyError("no events to place a time cut in")
    us = np.sort(pd.to_datetime(events["timestamp"], utc=True).array.asi8)
    return pd.Timestamp(int(us[min(len(us) - 1, int(q * len(us)))]), unit="us", tz="UTC")


def before(events: pd.DataFrame, cutoff: datetime | str | None) -> pd.DataFrame:
    """Events strictly before ``cutoff`` (all of them when None)."""
    if cutoff is None:
        return events
    cut = pd.Timestamp(parse_timestamp(cutoff))
    return events[(pd.to_datetime(events["timestamp"], utc=True) < cut).to_numpy()]


def validation_split(train_events: pd.DataFrame, *, fraction: float = 0.2,
                     cut: datetime | str | None = None) -> TemporalSplit:
    """Cut a validation window from the *training* events: the last ``fraction`` of them by time.

    Used to tune defaults and by the promotion gate; the test window (if any) is never
    touched. ``cut`` overrides the quantile.
    """
    if cut is None:
        if not 0.0 < fraction < 1.0:
            raise ConfigError(f"validation fraction must be in (0, 1), got {fraction}")
        cut = time_quantile(train_events, 1.0 - fraction)
    split = temporal_split(train_events, cut)
    if split.train.empty or split.test.empty:
        raise NotReadyError(f"validation cut {split.cutoff} leaves an empty side "
                            f"({len(split.train)} fit / {len(split.test)} validation events)")
    return split


#: ``users -> (matrix, names)``: extra user feature columns, one row per user in order.
UserExtra = Callable[[IdMap], tuple[sp.csr_matrix, list[str]]]


def _with_user_columns(features: ModelFeatures, extra: sp.csr_matrix, names: list[str]) -> ModelFeatures:
    """``features`` with ``extra``'s columns appended to the user tag matrix (names prefixed ``feast:``).

    Only the ``tags`` family (LightFM): the ``skills`` family is a goal/level vector the
    content model multiplies with item skills, where extra columns make no sense."""
    def grow(fm: FeatureMatrix) -> FeatureMatrix:
        if extra.shape[0] != fm.matrix.shape[0]:
            raise IntegrityError(f"extra user features have {extra.shape[0]} rows for {fm.matrix.shape[0]} users")
        mat = sp.hstack([fm.matrix, extra], format="csr", dtype=np.float32)
        return FeatureMatrix(mat, IdMap([*fm.names.to_list(), *(f"feast:{n}" for n in names)]))

    return replace(features, user_tags=grow(features.user_tags))


@dataclass(frozen=True)
class Prepared:
    """Everything models need for one (history, truth) pair, in one id space."""

    users: IdMap
    items: IdMap
    train: Interactions
    test_events: pd.DataFrame
    features: ModelFeatures
    mentees: Mapping[str, Mentee]
    train_events: pd.DataFrame | None = None  # the events behind ``train`` ("auto" parameters tune on them)


def prepare(world: World, train_events: pd.DataFrame, test_events: pd.DataFrame, *,
            id_events: Iterable[pd.DataFrame] | None = None, user_extra: UserExtra | None = None) -> Prepared:
    """Id maps (from every event given, so cold-start mentees get an empty row), the training
    interactions and the feature matrices. Events naming items outside the catalog are dropped.

    ``user_extra(users)`` may return ``(matrix, names)`` with one row per user (in order):
    those columns are appended to the LightFM user tag features (e.g. Feast engagement)."""
    frames = list(id_events) if id_events is not None else [train_events, test_events]
    everything = pd.concat([f[["user_id", "item_id"]] for f in frames], ignore_index=True)
    users, items = build_id_maps(everything, catalog=world.catalog, mentees=world.mentees.values())
    train = build_interactions(train_events, users=users, items=items, on_unknown="drop")
    features = build_features(world.catalog, world.mentees, users)
    if user_extra is not None:
        features = _with_user_columns(features, *user_extra(users))
    return Prepared(users=users, items=items, train=train, test_events=test_events, features=features,
                    mentees=world.mentees, train_events=train_events)
