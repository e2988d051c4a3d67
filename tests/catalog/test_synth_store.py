"""Writing a synthetic world: CSVs, truth, and the events (into the event log)."""

from __future__ import annotations

import pandas as pd
import pytest

from catalog.datadir import DataDir
from catalog.errors import ConfigError
from catalog.eventlog import EventLog
from catalog.synth import SynthConfig, generate
from catalog.synth.store import events_parquet_path, existing_outputs, save_synth, truth_path


@pytest.fixture(scope="module")
def world():
    return generate(SynthConfig(seed=5, n_mentees=120, n_items=200, n_mentors=5, days=30))


def _stored(dd):
    with EventLog(dd.events_db) as log:
        return log.read()


def test_appends_events_to_the_log_in_batches_and_writes_truth(world, tmp_path):
    dd = DataDir(tmp_path)
    seen = []
    report = save_synth(world, dd, batch_size=1000, on_batch=lambda done, total: seen.append((done, total)))
    assert report.events_path == dd.events_db
    assert report.accepted == len(world.events) and report.duplicates == 0
    assert [d for d, _ in seen] == [min(a + 1000, len(world.events)) for a in range(0, len(world.events), 1000)]
    stored = _stored(dd)
    assert sorted(stored["event_id"]) == sorted(world.events["event_id"])
    pd.testing.assert_frame_equal(pd.read_parquet(truth_path(dd)), world.truth)
    assert dd.has_world() and dd.mentees.exists() and dd.mentors.exists()
    assert not events_parquet_path(dd).exists()
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temp files


def test_refuses_to_overwrite_unless_replace(world, tmp_path):
    dd = DataDir(tmp_path)
    save_synth(world, dd)
    assert dd.events_db in existing_outputs(dd)
    with pytest.raises(ConfigError, match="already holds a world"):
        save_synth(world, dd)
    events_parquet_path(dd).write_bytes(b"an old import")
    report = save_synth(world, dd, replace=True)
    assert report.accepted == len(world.events) and report.duplicates == 0  # the old log was deleted first
    assert len(_stored(dd)) == len(world.events)  # never mix two worlds' events
    assert not events_parquet_path(dd).exists()
