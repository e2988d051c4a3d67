"""`skillpath data synth`: writes a world, refuses to overwrite without --force, summarises."""

from __future__ import annotations

import pandas as pd

from catalog.eventlog import EventLog
from skillpath_cli.common import run_cli
from skillpath_cli.main import cli


def _events(out):
    with EventLog(out / "events.db") as log:
        return log.read().sort_values("event_id", ignore_index=True)


ARGS = ["data", "synth", "--seed", "11", "--mentees", "80", "--items", "150", "--mentors", "4", "--days", "20"]


def test_synth_writes_then_refuses_then_forces(tmp_path, capsys):
    out = tmp_path / "world"
    assert run_cli(cli, ["--data-dir", str(tmp_path / "unused"), *ARGS, "--out", str(out)]) == 0
    summary = capsys.readouterr().out
    assert "238 skills" in summary and "150 resources" in summary and "80 mentees" in summary
    assert "impression" in summary and "events.db" in summary
    assert (out / "skills.csv").exists() and (out / "truth" / "mastery.parquet").exists()
    assert not (tmp_path / "unused").exists()
    first = _events(out)

    assert run_cli(cli, ["--data-dir", str(out), *ARGS]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and len(err.strip().splitlines()) == 1

    assert run_cli(cli, ["--data-dir", str(out), *ARGS, "--force"]) == 0
    pd.testing.assert_frame_equal(_events(out), first)  # same seed, same events
