"""``skillpath db``: move the event log and the entity store between SQLite and a real PostgreSQL server."""

from __future__ import annotations

import pytest

from catalog.eventlog import EventLog
from catalog.pg_eventlog import PgEventLog
from catalog.store.base import KINDS
from catalog.store.entities import Entities
from catalog.store.pg import PgEntityStore
from catalog.store.sqlite import SQLiteEntityStore
from skillpath_cli.common import run_cli
from skillpath_cli.main import cli


def _events(n: int, prefix: str = "e") -> list[dict]:
    return [{"event_id": f"{prefix}{i}", "user_id": f"u{i % 3}", "item_id": f"i{i % 4}", "event_type": "view",
             "timestamp": f"2025-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"} for i in range(n)]


NOW = 1_800_000_000_000_000


def _state(store) -> tuple:
    """Everything a store holds that a copy must carry: documents with versions in order, the log, tombstones."""
    try:
        return ([[(s.id, s.doc, s.version) for s in store.all(k)] for k in KINDS], store.changes(limit=10**6),
                store.tombstones(), store.get_meta("import_fingerprint"))
    finally:
        store.close()


@pytest.mark.integration
def test_export_then_import_round_trips_and_resumes(tmp_path, pg_url, tiny_world, capsys):
    src = tmp_path / "a"
    with EventLog(src / "events.db") as log:
        log.append(_events(1200))
    ents = Entities(SQLiteEntityStore(src / "events.db"))
    ents.import_world(tiny_world, actor="test", now_us=NOW)
    ents.retire(ents.ids("resources")[0], actor="k1", now_us=NOW + 1)
    ents.store.tombstone("gone", actor="k1", now_us=NOW)
    ents.store.set_meta("import_fingerprint", "fp")
    ents.store.close()
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 0
    assert "exported 1200 events" in capsys.readouterr().out
    assert _state(PgEntityStore(pg_url)) == _state(SQLiteEntityStore(src / "events.db"))
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 0  # resumable
    assert "exported 0 events" in capsys.readouterr().out
    with PgEventLog(pg_url) as pg:
        pg.append(_events(5, prefix="pg"))
    on_pg = Entities(PgEntityStore(pg_url))  # a replica writes on after the move; sequence numbers continue
    on_pg.put("mentors", [{"mentor_id": "m-pg", "skills": "python:5", "capacity": 2}], actor="k2", now_us=NOW + 2)
    assert on_pg.store.changes(limit=10**6)[-1].seq == 1 + max(c.seq for c in on_pg.store.changes(limit=10**6)[:-1])
    mentor = on_pg.ids("mentors")[0]
    on_pg.patch("mentors", mentor, {"capacity": 9}, actor="k2", now_us=NOW + 3)
    on_pg.store.close()
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 0  # again, after those writes
    capsys.readouterr()
    kept = PgEntityStore(pg_url, listen=False)
    assert kept.get("mentors", mentor).doc["capacity"] == 9 and kept.get("mentors", "m-pg") is not None
    kept.close()
    dst = tmp_path / "b"
    assert run_cli(cli, ["--data-dir", str(dst), "db", "import", "--url", pg_url]) == 0
    with EventLog(dst / "events.db") as log, EventLog(src / "events.db") as orig:
        assert log.count() == 1205
        back = log.read()
        assert back[back["event_id"].str.startswith("e")].reset_index(drop=True).equals(orig.read())
    moved = _state(SQLiteEntityStore(dst / "events.db"))
    assert moved == _state(PgEntityStore(pg_url)) and "m-pg" in [m[0] for m in moved[0][3]]


@pytest.mark.integration
def test_export_into_another_deployments_database_is_refused(tmp_path, pg_url, tiny_world, capsys):
    src = tmp_path / "a"
    EventLog(src / "events.db").close()
    for name, store in (("here", SQLiteEntityStore(src / "events.db")), ("there", PgEntityStore(pg_url))):
        try:
            Entities(store).put("skills", [{"skill_id": name, "name": name}], actor="t", now_us=NOW)
        finally:
            store.close()
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another deployment" in err


def test_bad_urls_are_one_line_exit_2(tmp_path, capsys):
    assert run_cli(cli, ["--data-dir", str(tmp_path), "db", "export", "--url", "mysql://x"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "postgresql://" in err
    assert run_cli(cli, ["--data-dir", str(tmp_path), "db", "export"]) == 2
    assert "SKILLPATH_DATABASE_URL" in capsys.readouterr().err


@pytest.mark.integration
def test_upgrade_migrates_every_store_of_the_database_once(tmp_path, pg_url, capsys, monkeypatch):
    import psycopg

    monkeypatch.setenv("SKILLPATH_DATABASE_URL", pg_url)
    for _ in range(2):
        assert run_cli(cli, ["--data-dir", str(tmp_path), "db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "0 events" in out and "0 entity changes" in out and "0 sessions" in out and "0 alerts" in out
    with psycopg.connect(pg_url) as c:
        got = dict(c.execute("SELECT component, version FROM skillpath_schema").fetchall())
    assert set(got) == {"eventlog", "entities", "session", "monitor"} and all(v >= 1 for v in got.values())
    assert not (tmp_path / "events.db").exists()  # nothing written to the data dir on PostgreSQL
