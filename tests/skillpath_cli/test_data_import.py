"""``skillpath data import`` / ``data oulad``: outputs, exit codes, nothing half-written."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_delimiter_is_sniffed_and_dry_run_writes_nothing(inputs, capsys, sep):
    """A semicolon or tab CSV (spreadsheets in many locales) imports like a comma one; the
    catalog's ';' skill lists stay lists when the file is comma-separated."""
    cat = inputs / "cat_sep.csv"
    ev = inputs / "ev_sep.csv"
    skills = "python:1;sql:2" if sep == "\t" else '"python:1;sql:2"'  # a ';' list inside a ';' file is quoted
    cat.write_text(sep.join(["item_id", "title", "skills", "type"]) + "\n"
                   + sep.join(["a", "Intro", skills, "video"]) + "\n")
    ev.write_text(sep.join(["user_id", "item_id", "timestamp"]) + "\n" + sep.join(["u1", "a", "2025-01-01"]) + "\n")
    out = inputs / "data"
    rc = _run(["data", "import", "--catalog", str(cat), "--events", str(ev), "--out", str(out), "--dry-run",
               "--format", "json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert not out.exists()  # dry run: nothing written
    rows = {r["what"]: r["value"] for r in map(json.loads, captured.out.splitlines())}
    assert rows["resources"] == 1 and rows["events"] == 1 and rows["event_ids_generated"] == 1
    assert rows["undeclared_skills (evergreen)"] == "python;sql"
    assert "created evergreen (half-life: none, never stale" in captured.err and "python, sql" in captured.err


def test_event_log_path_printed_exists(inputs, capsys):
    out = inputs / "data"
    rc = _run(["data", "import", "--catalog", str(inputs / "cat.csv"), "--events", str(inputs / "ev.csv"),
               "--out", str(out), "--format", "json"])
    assert rc == 0
    rows = {r["what"]: r["value"] for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert Path(rows["event_log"]).exists() and Path(rows["out"]).is_dir()


def test_events_ingest_sniffs_semicolons_and_dry_runs(inputs, capsys):
    d = inputs / "data"
    assert _run(["data", "import", "--catalog", str(inputs / "cat.csv"), "--events", str(inputs / "ev.csv"),
                 "--out", str(d)]) == 0
    more = inputs / "more.csv"
    more.write_text("user_id;item_id;event_type;timestamp\nu1;b;complete;2025-02-01\n")
    capsys.readouterr()
    assert _run(["--data-dir", str(d), "events", "ingest", str(more), "--dry-run"]) == 0
    assert "1 valid events" in capsys.readouterr().out
    assert _run(["--data-dir", str(d), "events", "count", "--format", "json"]) == 0
    assert '"events": 2' in capsys.readouterr().out  # the dry run stored nothing
    assert _run(["--data-dir", str(d), "events", "ingest", str(more)]) == 0
    assert "1 accepted" in capsys.readouterr().out
