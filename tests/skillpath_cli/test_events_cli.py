from __future__ import annotations

import json

import pandas as pd

from catalog.eventlog import EventLog
from skillpath_cli.main import cli
from skillpath_cli.common import run_cli

HEADER = "event_id,user_id,item_id,event_type,value,timestamp\n"


def _run(capsys, data_dir, *args: str) -> tuple[int, str, str]:
    code = run_cli(cli, ["--data-dir", str(data_dir), "events", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _csv(path, n: int, *, bad_every: int = 0) -> None:
    lines = [HEADER]
    for i in range(n):
        etype = "bogus" if bad_every and i % bad_every == 0 else "view"
        lines.append(f"e{i},u{i % 3},i{i % 4},{etype},,2025-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z\n")
    path.write_text("".join(lines))


def test_ingest_is_idempotent_and_batched(tmp_path, capsys):
    f = tmp_path / "ev.csv"
    _csv(f, 1234)
    code, out, _ = _run(capsys, tmp_path / "d", "ingest", str(f), "--batch-size", "100")
    assert code == 0 and "1234 accepted, 0 duplicates" in out
    code, out, _ = _run(capsys, tmp_path / "d", "ingest", str(f))
    assert code == 0 and "0 accepted, 1234 duplicates" in out
    code, out, _ = _run(capsys, tmp_path / "d", "count", "--format", "json")
    row = json.loads(out)
    assert row["events"] == 1234 and row["first"].startswith("2025-01-01T00:00:00")


def test_bad_file_lists_every_bad_row_and_stores_nothing(tmp_path, capsys):
    f = tmp_path / "bad.csv"
    _csv(f, 100, bad_every=4)  # 25 bad rows: more than the default 20 shown
    code, _, err = _run(capsys, tmp_path / "d", "ingest", str(f))
    assert code == 2
    assert "25 error(s) in 25 row(s)" in err and "and 5 more" not in err
    assert all(f"bad.csv:{i + 2}: event_type" in err for i in range(0, 100, 4))
    assert not (tmp_path / "d" / "events.db").exists()  # validated before the log is even opened


def test_conflict_with_stored_events_stores_nothing(tmp_path, capsys):
    f = tmp_path / "ev.csv"
    _csv(f, 10)
    assert _run(capsys, tmp_path / "d", "ingest", str(f))[0] == 0
    g = tmp_path / "more.csv"
    g.write_text(HEADER + "n1,u1,i1,view,,2025-02-01\ne3,u9,i1,view,,2025-02-01\n")
    code, _, err = _run(capsys, tmp_path / "d", "ingest", str(g))
    assert code == 2 and "more.csv:3: event_id" in err and "already stored" in err
    with EventLog(tmp_path / "d" / "events.db") as log:
        assert log.count() == 10


def test_check_ids_against_the_world(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    (d / "resources.csv").write_text("item_id,title\ni0,A\ni1,B\ni2,C\n")
    f = tmp_path / "ev.csv"
    _csv(f, 8)  # items i0..i3
    code, _, err = _run(capsys, d, "ingest", str(f))
    assert code == 2 and "unknown item 'i3'" in err
    assert _run(capsys, d, "ingest", str(f), "--no-check-ids")[0] == 0


def test_tail_export_and_missing_log(tmp_path, capsys):
    code, _, err = _run(capsys, tmp_path / "d", "count")
    assert code == 2 and "no event log" in err
    f = tmp_path / "ev.csv"
    _csv(f, 50)
    _run(capsys, tmp_path / "d", "ingest", str(f))
    code, out, _ = _run(capsys, tmp_path / "d", "tail", "-n", "3", "--user", "u1", "--format", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["event_id"] for r in rows] == ["e43", "e46", "e49"]
    code, out, _ = _run(capsys, tmp_path / "d", "export", "--since", "2025-01-01T00:00:40")
    assert code == 0 and "exported 10 events" in out
    df = pd.read_parquet(tmp_path / "d" / "exports" / "events.parquet")
    assert df["event_id"].tolist() == [f"e{i}" for i in range(40, 50)]
    assert str(df["timestamp"].dtype) == "datetime64[us, UTC]"
    assert _run(capsys, tmp_path / "d", "export", "--until", "soon")[0] == 2
