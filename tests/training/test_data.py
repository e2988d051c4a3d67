from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from catalog.errors import ConfigError, NotReadyError
from training.data import (
    before, canonical_events, fingerprint, load_events, read_events_file, time_quantile, validation_split,
)


def test_fingerprint_ignores_order_and_sees_every_cell(block):
    ev = block.events
    fp = fingerprint(ev)
    assert fp["n_events"] == len(ev) and fp["n_users"] == ev.user_id.nunique()
    assert fingerprint(ev.sample(frac=1.0, random_state=1))["events_sha256"] == fp["events_sha256"]
    changed = ev.copy()
    changed.loc[5, "event_type"] = "dismiss" if changed.loc[5, "event_type"] != "dismiss" else "view"
    assert fingerprint(changed)["events_sha256"] != fp["events_sha256"]
    later = ev.copy()
    later.loc[0, "timestamp"] = later.loc[0, "timestamp"] + pd.Timedelta(microseconds=1)
    assert fingerprint(later)["events_sha256"] != fp["events_sha256"]


def test_validation_split_is_cut_from_train_without_leak(block):
    cutoff = time_quantile(block.events, 0.8)
    train = before(block.events, cutoff)
    assert pd.to_datetime(train.timestamp).max() < cutoff
    v = validation_split(train, fraction=0.25)
    assert v.train.timestamp.max() < v.cutoff <= v.test.timestamp.min()
    assert v.test.timestamp.max() < cutoff  # the validation window lies inside train
    assert len(v.train) + len(v.test) == len(train)
    assert abs(len(v.test) / len(train) - 0.25) < 0.05


def test_validation_split_refuses_an_empty_side(block):
    with pytest.raises(NotReadyError):
        validation_split(block.events, cut="2030-01-01")
    with pytest.raises(ConfigError):
        validation_split(block.events, fraction=1.5)


def test_load_events_reads_parquet_csv_and_says_when_there_is_none(tmp_path, block):
    with pytest.raises(NotReadyError, match="no events"):
        load_events(tmp_path)
    block.events.to_parquet(tmp_path / "events.parquet", index=False)
    ev, source = load_events(tmp_path)
    assert source.endswith("events.parquet") and len(ev) == len(block.events)
    assert str(ev.timestamp.dtype) == "datetime64[us, UTC]"
    block.events.to_csv(tmp_path / "other.csv", index=False)
    from_csv = read_events_file(tmp_path / "other.csv")
    assert fingerprint(from_csv)["events_sha256"] == fingerprint(ev)["events_sha256"]


def test_canonical_events_fills_optional_columns():
    df = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["a", "b"], "event_type": ["view", "complete"],
                       "timestamp": ["2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"]})
    ev = canonical_events(df)
    assert list(ev.user_id) == ["u2", "u1"]  # sorted by time
    assert np.isnan(ev.value).all() and list(ev.columns)[0] == "event_id"


def test_connect_does_not_leak_the_store_into_the_environment(tmp_path, monkeypatch):
    """Regression: mlflow.set_tracking_uri exported MLFLOW_TRACKING_URI, so a second data dir
    in the same process logged into the first one's store."""
    import os

    from catalog.settings import load_settings
    from training.tracking import connect, embedded_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    first = connect(load_settings(), tmp_path / "a")
    assert first.uri == embedded_uri(tmp_path / "a")
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ
    second = connect(load_settings(), tmp_path / "b")
    assert second.uri == embedded_uri(tmp_path / "b")
