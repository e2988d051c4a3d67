"""Writing a synthetic world: CSVs, truth, and the events (event log when present, else Parquet)."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pandas as pd
import pytest

from catalog.datadir import DataDir
from catalog.errors import ConfigError
from catalog.synth import SynthConfig, generate
from catalog.synth.store import events_parquet_path, existing_outputs, save_synth, truth_path


@pytest.fixture(scope="module")
def world():
    return generate(SynthConfig(seed=5, n_mentees=120, n_items=200, n_mentors=5, days=30))


@dataclass
class _Result:
    accepted: int
    duplicates: int
    event_ids: list


class _FakeEventLog:
    """Stands in for catalog.eventlog.EventLog: records each batch it is given."""

    instances: list["_FakeEventLog"] = []

    def __init__(self, path) -> None:
        self.path, self.batches, self.closed = path, [], False
        _FakeEventLog.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.closed = True

    def append(self, df):
        self.batches.append(df.copy())
        return _Result(len(df), 0, df["event_id"].tolist())


def test_without_event_log_writes_parquet_and_truth(world, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "catalog.eventlog", None)  # import fails like a missing module
    dd = DataDir(tmp_path)
    report = save_synth(world, dd)
    assert not report.event_log and report.accepted == len(world.events)
    pd.testing.assert_frame_equal(pd.read_parquet(events_parquet_path(dd)), world.events)
    pd.testing.assert_frame_equal(pd.read_parquet(truth_path(dd)), world.truth)
    assert dd.has_world() and dd.mentees.exists() and dd.mentors.exists()
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temp files


def test_with_event_log_appends_in_batches(world, tmp_path, monkeypatch):
    fake = types.ModuleType("catalog.eventlog")
    fake.EventLog = _FakeEventLog
    monkeypatch.setitem(sys.modules, "catalog.eventlog", fake)
    _FakeEventLog.instances.clear()
    dd = DataDir(tmp_path)
    seen = []
    report = save_synth(world, dd, batch_size=1000, on_batch=lambda done, total: seen.append((done, total)))
    (log,) = _FakeEventLog.instances
    assert log.path == dd.events_db and log.closed
    assert [len(b) for b in log.batches[:-1]] == [1000] * (len(log.batches) - 1)
    pd.testing.assert_frame_equal(pd.concat(log.batches), world.events)
    assert report.event_log and report.accepted == len(world.events) and report.duplicates == 0
    assert seen[-1] == (len(world.events), len(world.events))
    assert not events_parquet_path(dd).exists()


def test_refuses_to_overwrite_unless_replace(world, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "catalog.eventlog", None)
    dd = DataDir(tmp_path)
    save_synth(world, dd)
    stale_db = dd.events_db
    stale_db.write_bytes(b"old log")
    assert stale_db in existing_outputs(dd)
    with pytest.raises(ConfigError, match="already holds a world"):
        save_synth(world, dd)
    save_synth(world, dd, replace=True)
    assert not stale_db.exists()  # never mix two worlds' events
    assert events_parquet_path(dd).exists()
