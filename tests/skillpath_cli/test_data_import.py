"""``skillpath data import`` / ``data oulad``: outputs, exit codes, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from catalog.oulad import OULAD_ATTRIBUTION
from skillpath_cli.data_import import default_oulad_dir
from skillpath_cli.main import cli
from skillpath_cli.common import run_cli


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    (tmp_path / "cat.csv").write_text("item_id,title,skills,type\na,Intro,python:1,video\nb,,,\n")
    (tmp_path / "ev.csv").write_text("user_id,item_id,timestamp,event_type,value\n"
                                     "u1,a,2025-01-01,,\nu2,b,2025-01-02,assess,70\n")
    (tmp_path / "bad.csv").write_text("user_id,item_id,timestamp\nu1,a,2025-01-01\nu1,zz,2025-01-01\n")
    return tmp_path


def _run(args: list[str]) -> int:
    return run_cli(cli, args)


def test_import_writes_world_and_events(inputs, capsys):
    out = inputs / "data"
    rc = _run(["data", "import", "--catalog", str(inputs / "cat.csv"), "--events", str(inputs / "ev.csv"),
               "--out", str(out), "--format", "json"])
    assert rc == 0, capsys.readouterr().err
    assert {"skills.csv", "resources.csv", "mentees.csv", "mentors.csv", "events.parquet"} <= {
        p.name for p in out.iterdir()}
    ev = pd.read_parquet(out / "events.parquet")
    assert len(ev) == 2 and ev.event_type.tolist() == ["view", "assess"]
    assert pd.read_csv(out / "mentees.csv").user_id.tolist() == ["u1", "u2"]
    assert "general:3" in (out / "resources.csv").read_text()
    assert not [p for p in inputs.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_bad_rows_exit_2_and_write_nothing(inputs, capsys):
    out = inputs / "data"
    rc = _run(["data", "import", "--catalog", str(inputs / "cat.csv"), "--events", str(inputs / "bad.csv"),
               "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "bad.csv:3: item_id: unknown item 'zz'" in err and "Traceback" not in err
    assert not out.exists()
    assert not [p for p in inputs.iterdir() if p.name.startswith(".")]


def test_existing_data_needs_force(inputs, capsys):
    out = inputs / "data"
    args = ["data", "import", "--catalog", str(inputs / "cat.csv"), "--events", str(inputs / "ev.csv"),
            "--out", str(out)]
    assert _run(args) == 0
    (out / "models").mkdir()
    (out / "events.db").write_text("old log")
    assert _run(args) == 2 and "--force" in capsys.readouterr().err
    assert _run([*args, "--force"]) == 0
    assert (out / "models").is_dir()  # unrelated content is kept
    assert not (out / "events.db").exists() or (out / "events.db").read_bytes() != b"old log"


def test_missing_file_is_one_line(inputs, capsys):
    rc = _run(["data", "import", "--catalog", str(inputs / "nope.csv"), "--events", str(inputs / "ev.csv"),
               "--out", str(inputs / "d")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "nope.csv" in err[0]


def test_oulad_command_one_presentation(tmp_path, capsys):
    assert (default_oulad_dir() / "vle.csv").is_file(), "OULAD dataset missing (required)"
    out = tmp_path / "oulad"
    rc = _run(["data", "oulad", "--presentation", "CCC-2014B", "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert OULAD_ATTRIBUTION in cap.out and "CCC-2014B" in cap.out
    assert (out / "oulad" / "info.json").is_file() and (out / "oulad" / "clicks.parquet").is_file()
    res = pd.read_csv(out / "resources.csv")
    assert res.item_id.str.match(r"^(vle|assess)-\d+$").all()
    ev = pd.read_parquet(out / "events.parquet")
    assert set(ev.event_type) == {"assess"} and ev.value.between(0, 100).all()
    assert _run(["data", "oulad", "--presentation", "XXX-2013J", "--out", str(tmp_path / "o2")]) == 2
    assert "unknown OULAD presentation" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()


def test_events_go_to_the_event_log_in_batches(inputs, monkeypatch):
    """Events are appended to DIR/events.db in batches through ``EventLog(path).append(df)``."""
    import skillpath_cli.data_import as mod
    from catalog.eventlog import EventLog

    appended: list[int] = []
    real_append = EventLog.append

    def spy(self, df, *args, **kwargs):
        assert list(df.columns)[:3] == ["event_id", "user_id", "item_id"]
        appended.append(len(df))
        return real_append(self, df, *args, **kwargs)

    monkeypatch.setattr(EventLog, "append", spy)
    monkeypatch.setattr(mod, "EVENT_BATCH", 1)
    out = inputs / "data"
    assert _run(["data", "import", "--catalog", str(inputs / "cat.csv"), "--events", str(inputs / "ev.csv"),
                 "--out", str(out)]) == 0
    assert appended == [1, 1]
    with EventLog(out / "events.db") as log:
        assert log.count() == 2
