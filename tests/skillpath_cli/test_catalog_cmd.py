from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from catalog.datadir import DataDir
from catalog.eventlog import EventLog
from skillpath_cli.main import cli, run_cli

AS_OF = "2026-11-01"


def run(capsys, dd: DataDir, *args: str) -> tuple[int, str, str]:
    code = run_cli(cli, ["--data-dir", str(dd.root), "catalog", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_stale_table(capsys, data):
    code, out, err = run(capsys, data, "stale", "--as-of", AS_OF)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "Stale items (freshness < 0.5 on 2026-11-01): 7 of 9 active"
    assert lines[1].split() == ["item_id", "title", "type", "skills", "provider", "age_days", "half_life_days",
                                "half_life_source", "freshness"]
    assert lines[3].split()[0] == "llm-old" and lines[3].split()[-1] == "0.100"
    assert "Coverage gaps (skills with no fresh active content on 2026-11-01): 4" in out
    assert [ln.split()[0] for ln in lines[-4:]] == ["llm-apps", "ml", "pandas", "python"]


def test_stale_json_kinds_limit_and_threshold(capsys, data):
    code, out, _ = run(capsys, data, "stale", "--as-of", AS_OF, "--format", "json", "--limit", "2")
    assert code == 0
    rows = [json.loads(ln) for ln in out.splitlines()]
    assert [r["kind"] for r in rows] == ["item", "item", "gap", "gap", "gap", "gap"]
    assert rows[0]["item_id"] == "llm-old" and rows[0]["age_days"] == 1341.0 and rows[0]["freshness"] == 0.1
    assert rows[2]["skill_id"] == "llm-apps" and rows[2]["best_freshness"] == pytest.approx(0.1214)

    code, out, _ = run(capsys, data, "stale", "--as-of", AS_OF, "--format", "json", "--threshold", "0.2",
                       "--gaps-only")
    rows = [json.loads(ln) for ln in out.splitlines()]
    assert [(r["kind"], r["skill_id"]) for r in rows] == [("gap", "llm-apps")]
    assert "item_id" not in rows[0]


def test_stale_csv_is_one_table(capsys, data):
    code, out, _ = run(capsys, data, "stale", "--as-of", AS_OF, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 7 + 4
    assert rows[0]["kind"] == "item" and rows[0]["item_id"] == "llm-old" and rows[0]["skill_id"] == ""
    assert rows[-1]["kind"] == "gap" and rows[-1]["skill_id"] == "python" and rows[-1]["n_items"] == "3"


def test_stale_bad_options(capsys, data):
    code, _, err = run(capsys, data, "stale", "--as-of", "2026-13-01")
    assert code == 2 and "bad date" in err
    code, _, err = run(capsys, data, "stale", "--as-of", AS_OF, "--threshold", "0.05")
    assert code == 2 and err.strip().splitlines() == [
        "error: threshold must be in (0.1, 1] (above the freshness floor), got 0.05"]


def test_summary(capsys, data):
    code, out, _ = run(capsys, data, "summary", "--as-of", AS_OF, "--format", "json")
    assert code == 0
    got = {r["metric"]: r["value"] for r in map(json.loads, out.splitlines())}
    assert got["skills"] == 6 and got["skills.ai"] == 3 and got["skills.software"] == 1
    assert got["resources"] == 10 and got["resources.active"] == 9 and got["resources.inactive"] == 1
    assert got["resources.course"] == 2 and got["resources.documentation"] == 1
    assert got["mentees"] == 2 and got["mentors"] == 2 and got["graph_depth"] == 3
    assert got["stale_items"] == 7 and got["stale_share"] == pytest.approx(7 / 9, abs=1e-4)
    assert got["coverage_gaps"] == 4 and "events" not in got  # no event log: no events row


def test_summary_counts_events(capsys, data):
    events = pd.DataFrame({"event_id": ["e1", "e2", "e3"], "user_id": "u1", "item_id": "docs-x",
                           "event_type": "view", "timestamp": pd.Timestamp("2026-01-01", tz="UTC")})
    with EventLog(data.events_db) as log:
        log.append(events)
    code, out, _ = run(capsys, data, "summary", "--as-of", AS_OF)
    assert code == 0
    (events_line,) = [ln for ln in out.splitlines() if ln.startswith("events ")]
    assert events_line.split()[1] == "3"


def test_validate_ok_and_every_bad_row(capsys, data):
    code, out, _ = run(capsys, data, "validate")
    assert code == 0
    assert out.startswith("OK: 6 skills, 10 resources (9 active), 2 mentees, 2 mentors in ")

    header, *rows = data.resources.read_text().splitlines()
    # 30 rows: 20 repeat an id; 27 have a bad boolean (docs-x is "false", left alone)
    bad = [r.replace(",true", ",perhaps") for r in rows] * 3
    data.resources.write_text("\n".join([header, *bad]) + "\n")
    code, out, err = run(capsys, data, "validate")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("error: ") and "47 error(s) in 29 row(s)" in lines[0]
    assert len(lines) == 1 + 47  # every bad row, not the first 20
    assert lines[1] == "  resources.csv:2: active: active 'perhaps' is not a boolean (use true or false)"
    assert lines[-1] == "  resources.csv:31: item_id: duplicate item_id 'docs-x' (first on line 11)"


def test_missing_data_dir_is_one_line(capsys, tmp_path):
    for sub in ("summary", "stale", "validate"):
        code = run_cli(cli, ["--data-dir", str(tmp_path / "nope"), "catalog", sub])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and "skillpath data synth" in err


def test_stale_help_explains_freshness():
    from click.testing import CliRunner

    res = CliRunner().invoke(cli, ["catalog", "stale", "--help"])
    assert res.exit_code == 0
    assert "0.5 ** (age_days / half_life_days)" in res.output
    assert "shortest half_life_days among the skills" in res.output
