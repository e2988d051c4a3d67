"""``skillpath db``: move the event log between SQLite and a real PostgreSQL server."""

from __future__ import annotations

import pytest

from catalog.eventlog import EventLog
from catalog.pg_eventlog import PgEventLog
from skillpath_cli.common import run_cli
from skillpath_cli.main import cli


def _events(n: int, prefix: str = "e") -> list[dict]:
    return [{"event_id": f"{prefix}{i}", "user_id": f"u{i % 3}", "item_id": f"i{i % 4}", "event_type": "view",
             "timestamp": f"2025-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"} for i in range(n)]


@pytest.mark.integration
def test_export_then_import_round_trips_and_resumes(tmp_path, pg_url, capsys):
    src = tmp_path / "a"
    with EventLog(src / "events.db") as log:
        log.append(_events(1200))
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 0
    assert "exported 1200 events" in capsys.readouterr().out
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 0  # resumable
    assert "exported 0 events" in capsys.readouterr().out
    with PgEventLog(pg_url) as pg:
        pg.append(_events(5, prefix="pg"))
    dst = tmp_path / "b"
    assert run_cli(cli, ["--data-dir", str(dst), "db", "import", "--url", pg_url]) == 0
    with EventLog(dst / "events.db") as log, EventLog(src / "events.db") as orig:
        assert log.count() == 1205
        back = log.read()
        assert back[back["event_id"].str.startswith("e")].reset_index(drop=True).equals(orig.read())


def test_bad_urls_are_one_line_exit_2(tmp_path, capsys):
    assert run_cli(cli, ["--data-dir", str(tmp_path), "db", "export", "--url", "mysql://x"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "postgresql://" in err
    assert run_cli(cli, ["--data-dir", str(tmp_path), "db", "export"]) == 2
    assert "SKILLPATH_DATABASE_URL" in capsys.readouterr().err
