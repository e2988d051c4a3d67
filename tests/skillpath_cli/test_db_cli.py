"""``skillpath db``: move the event log and the entity store between SQLite and a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

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


def _seeded(root: Path, world, events: list[dict], **append) -> Path:
    """A SQLite data dir holding `events` and every kind of entity state a copy must carry: the world's
    entities, a retired resource, a tombstone and the import fingerprint. Returns `root`."""
    with EventLog(root / "events.db") as log:
        log.append(events, **append)
    ents = Entities(SQLiteEntityStore(root / "events.db"))
    ents.import_world(world, actor="test", now_us=NOW)
    ents.retire(ents.ids("resources")[0], actor="k1", now_us=NOW + 1)
    ents.store.tombstone("gone", actor="k1", now_us=NOW)
    ents.store.set_meta("import_fingerprint", "fp")
    ents.store.close()
    return root


@pytest.mark.integration
def test_export_then_import_round_trips_and_resumes(tmp_path, pg_url, tiny_world, capsys):
    src = _seeded(tmp_path / "a", tiny_world, _events(1200))
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


#: Every table of a deployment's database: a table added without a place in ``skillpath db`` fails here.
ALL_TABLES = {"events", "entities", "entity_changes", "store_meta", "tombstones", "sessions", "monitor_alerts",
              "monitor_acks", "monitor_outbox"}
#: Arrival metadata the target assigns (a copy appends in timestamp order); every other column must match.
ARRIVAL = {"events": {"seq", "ingested_us"}}


def _sqlite_tables(path) -> dict[str, list[tuple]]:
    """Every table of the SQLite file (migration bookkeeping aside): its columns, and its rows sorted."""
    import sqlite3

    with sqlite3.connect(path) as c:
        names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                 if not r[0].endswith("_migrations") and r[0] != "sqlite_sequence"}
        cols = {t: [r[1] for r in c.execute(f"PRAGMA table_info({t})") if r[1] not in ARRIVAL.get(t, ())]
                for t in names}
        return {t: (cols[t], sorted(c.execute(f"SELECT {', '.join(cols[t])} FROM {t}").fetchall(), key=repr))
                for t in names}


def _pg_tables(url, cols: dict[str, list[str]]) -> dict[str, list[tuple]]:
    import psycopg

    with psycopg.connect(url) as c:
        names = {r[0] for r in c.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                         "'public'")} - {"skillpath_schema"}
        assert names == set(cols), names ^ set(cols)
        return {t: (cols[t], sorted(c.execute(f"SELECT {', '.join(cols[t])} FROM {t}").fetchall(), key=repr))
                for t in names}


def _side_rows(root):
    """A deployment's sessions, alerts (acknowledged, snoozed, open) and webhook deliveries in every state."""
    from datetime import datetime, timezone

    from catalog.alert_store import AlertStore
    from catalog.session_store import SessionStore
    from catalog.sessions import Ratings, Session

    t0 = datetime(2026, 11, 2, 10, tzinfo=timezone.utc)
    with SessionStore(root / "events.db") as s:
        s.put([Session("s-1", "m1", "u1", t0, 45, "video", transcript="We planned the SQL module.",
                       ratings=Ratings(mentee=4)),
               Session("s-2", "m2", "u2", t0, 30, "chat")], analyses={"s-1": {"skills": ["sql"]}}, now_us=NOW)
    alerts = [{"alert_id": f"a-{u}", "user_id": u, "kind": "inactive", "severity": 2, "days": 9}
              for u in ("u1", "u2", "u3")]
    with AlertStore(root / "events.db") as a:
        a.record(alerts, now_us=NOW, urls=["http://127.0.0.1:9/hook", "http://127.0.0.1:9/other"])
        a.record(alerts[:1], now_us=NOW + 50)  # seen again: last_seen_us moves
        a.ack("a-u1", by="coach", now_us=NOW + 60, note="called")
        a.ack("a-u2", by="coach", now_us=NOW + 60, until_us=NOW + 10**9)
        due = a.claim_due(now_us=NOW + 70, lease_us=10**6, limit=2)
        a.delivered(due[0].seq, now_us=NOW + 80)
        a.failed(due[1].seq, error="connection refused", next_try_us=NOW + 5_000_000)


@pytest.mark.integration
def test_every_table_round_trips_sqlite_to_postgres_and_back(tmp_path, pg_url, tiny_world, capsys):
    src = _seeded(tmp_path / "a", tiny_world, _events(300), source="api")
    _side_rows(src)
    before = _sqlite_tables(src / "events.db")
    assert set(before) == ALL_TABLES and all(rows for _, rows in before.values())  # every table has rows to move
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 0
    out = capsys.readouterr().out
    assert "2 sessions, 3 alerts, 2 acknowledgements, 6 webhook deliveries" in out, out
    cols = {t: c for t, (c, _) in before.items()}
    assert _pg_tables(pg_url, cols) == before  # SQLite -> PostgreSQL: every row of every table
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 0  # again: nothing new
    assert "0 sessions, 3 alerts, 2 acknowledgements, 0 webhook deliveries" in capsys.readouterr().out
    assert _pg_tables(pg_url, cols) == before
    dst = tmp_path / "b"
    assert run_cli(cli, ["--data-dir", str(dst), "db", "import", "--url", pg_url]) == 0
    assert _sqlite_tables(dst / "events.db") == before  # ... and back: equal again

    from catalog.alert_store import AlertStore
    with AlertStore(dst / "events.db") as a:  # the outbox works on in the copy: its sequence follows
        a.record([{"alert_id": "a-new", "user_id": "u4", "kind": "inactive", "severity": 1}], now_us=NOW + 90,
                 urls=["http://127.0.0.1:9/hook"])
        assert a.outbox()[-1]["seq"] == 1 + max(r["seq"] for r in a.outbox()[:-1])
        assert sum(r["delivered_us"] is not None for r in a.outbox()) == 1


@pytest.mark.integration
def test_side_tables_merge_without_undoing_the_targets_progress_or_a_forget(tmp_path, pg_url, tiny_world, capsys):
    from catalog.alert_store import AlertStore
    from catalog.session_store import SessionStore

    src = tmp_path / "a"
    EventLog(src / "events.db").close()
    store = SQLiteEntityStore(src / "events.db")
    Entities(store).import_world(tiny_world, actor="test", now_us=NOW)
    store.close()
    _side_rows(src)
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 0
    with AlertStore(src / "events.db", database_url=pg_url) as a:  # PostgreSQL moves on: the failed one delivered
        pending = [r for r in a.outbox() if r["attempts"] == 1 and r["delivered_us"] is None]
        assert len(pending) == 1
        a.delivered(pending[0]["seq"], now_us=NOW + 100)
        a.ack("a-u1", by="lead", now_us=NOW + 200)  # a later acknowledgement than the source's
        a.forget_user("u2")
    with SessionStore(src / "events.db", database_url=pg_url) as s:
        s.forget_user("u2")
    pg_store = PgEntityStore(pg_url, listen=False)
    pg_store.tombstone("u2", actor="k1", now_us=NOW + 300)
    pg_store.close()
    capsys.readouterr()
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 0  # the source still has u2
    with AlertStore(src / "events.db", database_url=pg_url) as a:
        assert sum(r["delivered_us"] is not None for r in a.outbox()) == 2  # not un-delivered
        assert a.acks()["a-u1"].by == "lead"  # the later acknowledgement stays
        assert "a-u2" not in a.acks() and {r["alert_id"] for r in a.outbox()} == {"a-u1", "a-u3"}
        assert a.first_seen(["a-u2"]) == {}  # the forgotten mentee's alert did not come back
    with SessionStore(src / "events.db", database_url=pg_url) as s:
        assert s.by_mentee("u2") == [] and s.count() == 1


@pytest.mark.integration
def test_sessions_of_another_deployment_are_refused_in_one_line(tmp_path, pg_url, capsys):
    from dataclasses import replace
    from datetime import datetime, timezone

    from catalog.session_store import SessionStore
    from catalog.sessions import Session

    src = tmp_path / "a"
    EventLog(src / "events.db").close()
    one = Session("s-1", "m1", "u1", datetime(2026, 11, 2, tzinfo=timezone.utc), 45, "video")
    with SessionStore(src / "events.db") as s:
        s.put([one])
    with SessionStore(src / "events.db", database_url=pg_url) as s:
        s.put([replace(one, duration_minutes=60)])
    assert run_cli(cli, ["--data-dir", str(src), "db", "export", "--url", pg_url]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "s-1" in err and "another deployment" in err
