"""``skillpath resources|mentees|mentors|skills ...`` and ``skillpath audit`` over the entity store."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from catalog.datadir import DataDir
from catalog.alert_store import AlertStore
from catalog.eventlog import EventLog
from catalog.session_store import SessionStore
from catalog.sessions import Session
from skillpath_cli.common import run_cli
from skillpath_cli.main import cli


def run(capsys, dd: DataDir, *args: str) -> tuple[int, str, str]:
    code = run_cli(cli, ["--data-dir", str(dd.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_resources_lifecycle_and_audit(capsys, data):
    code, out, err = run(capsys, data, "resources", "add", "sicp", "--title", "SICP", "--type", "book",
                         "--skills", "python:3", "--published-at", "1985-07-01")
    assert code == 0 and "version 1" in out, err
    code, out, _ = run(capsys, data, "resources", "show", "sicp")
    assert json.loads(out)["entity"]["published_at"].startswith("1985-07-01")
    assert run(capsys, data, "resources", "retire", "sicp")[0] == 0
    code, out, _ = run(capsys, data, "resources", "list", "--retired", "--format", "csv")
    assert "sicp" in out
    # --active leaves the retired out (GET /resources?active=true); no flag lists both, as before
    code, out, _ = run(capsys, data, "resources", "list", "--active", "--format", "csv")
    assert code == 0 and "sicp" not in out and "py-101" in out
    code, out, _ = run(capsys, data, "resources", "list", "--type", "book", "--skill", "python", "--format", "csv")
    assert code == 0 and "sicp" in out and "py-101" not in out
    code, _, err = run(capsys, data, "resources", "list", "--active", "--retired")
    assert code == 2 and "exclude each other" in err
    code, _, err = run(capsys, data, "resources", "list", "--type", "scroll")
    assert code == 2 and "--type" in err and "scroll" in err
    code, _, err = run(capsys, data, "resources", "add", "bad", "--title", "x", "--type", "book",
                       "--skills", "astrology:2", "--published-at", "0999-01-01")
    assert code == 2 and "astrology" in err and "1000-2200" in err
    code, _, err = run(capsys, data, "skills", "add", "python", "--name", "Python", "--prerequisites", "llm-apps:2")
    assert code == 2 and "cycle" in err
    assert run(capsys, data, "mentors", "add", "m9", "--skills", "python:5", "--capacity", "2")[0] == 0
    code, out, _ = run(capsys, data, "audit", "--kind", "resources", "--format", "csv")
    assert "sicp" in out and "cli:" in out and "import" in out


def test_mentees_forget_and_path_without_profile(capsys, data):
    with EventLog(data.events_db) as log:
        log.append([{"event_id": f"e{n}", "user_id": "walk-in", "item_id": "py-101", "event_type": "complete",
                     "timestamp": "2026-10-01T10:00:00Z"} for n in range(1)])
    code, out, err = run(capsys, data, "path", "walk-in", "--as-of", "2026-11-01")
    assert code == 0, err  # known only from events: goals inferred from history
    code, out, err = run(capsys, data, "path", "u2", "--goal", '{"skill": "python", "level": 3}', "--as-of",
                         "2026-11-01")
    assert code == 0, err
    assert run(capsys, data, "mentees", "add", "u9", "--goals", "pandas:3")[0] == 0
    sessions = SessionStore(data.events_db)
    sessions.put([Session("s-walk", "m1", "walk-in", datetime(2026, 10, 2, 10, tzinfo=timezone.utc), 30, "video")])
    sessions.close()
    with AlertStore(data.events_db) as alerts:
        alerts.record([{"alert_id": "al-walk", "user_id": "walk-in", "kind": "silence", "severity": 2,
                        "reason": "no activity for 16 days"}], now_us=1)
    code, out, err = run(capsys, data, "mentees", "forget", "walk-in")
    assert code == 0 and "events 1" in out and "sessions 1" in out and "monitor 1" in out and "next training" in out, err
    sessions = SessionStore(data.events_db)
    assert sessions.by_mentee("walk-in") == []
    sessions.close()
    with AlertStore(data.events_db) as alerts:
        assert alerts.count() == 0
    with EventLog(data.events_db) as log:
        assert log.user_events("walk-in").empty
    assert run(capsys, data, "mentees", "forget", "nobody")[0] == 2


def test_skills_retire_and_mentors_forget(capsys, data):
    code, _, err = run(capsys, data, "skills", "retire", "python")  # still taught and required: refused
    assert code == 2 and err.count("\n") == 1 and "still used by" in err and "resource" in err
    assert run(capsys, data, "skills", "add", "cobol", "--name", "COBOL")[0] == 0
    code, out, err = run(capsys, data, "skills", "retire", "cobol")
    assert code == 0 and "cobol" in out, err
    code, _, err = run(capsys, data, "skills", "retire", "cobol")
    assert code == 2 and err.count("\n") == 1 and "cobol" in err
    assert run(capsys, data, "mentors", "add", "m9", "--skills", "python:5", "--capacity", "2")[0] == 0
    code, out, err = run(capsys, data, "mentors", "forget", "m9")
    assert code == 0 and "m9" in out, err
    code, _, err = run(capsys, data, "mentors", "show", "m9")
    assert code == 2 and "m9" in err
    code, out, _ = run(capsys, data, "audit", "--kind", "mentors", "--format", "csv")
    assert "m9" in out and "delete" in out
