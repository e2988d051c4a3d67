"""The entity store: validation before storage, versions, the change log, cycles, references, migrations."""

from __future__ import annotations

import sqlite3

import pytest

from catalog.errors import BatchValidationError, CycleError, InvalidValueError, VersionConflictError
from catalog.eventlog import EventLog
from catalog.store.entities import Entities
from catalog.store.sqlite import SQLiteEntityStore

NOW = 1_800_000_000_000_000


@pytest.fixture
def ents(tmp_path, tiny_world):
    db = tmp_path / "events.db"
    EventLog(db).close()  # the store lives in the event log's file
    e = Entities(SQLiteEntityStore(db))
    e.import_world(tiny_world, actor="test", now_us=NOW)
    yield e
    e.store.close()


def _res(item_id: str, skills, **kw) -> dict:
    return {"item_id": item_id, "title": f"About {item_id}", "type": "book", "skills": skills,
            "published_at": "2024-01-01", **kw}


def test_import_then_world_matches(ents, tiny_world):
    w = ents.world()
    assert w.catalog.items.to_list() == tiny_world.catalog.items.to_list()
    assert set(w.mentees) == set(tiny_world.mentees) and set(w.mentors) == set(tiny_world.mentors)
    assert all(s.version == 1 for s in (ents.get("resources", i) for i in ents.ids("resources")))


def test_put_versions_idempotent_and_if_match(ents):
    [s] = ents.put("resources", [_res("new-1", [{"skill": "python", "level": 2}])], actor="k1", now_us=NOW)
    assert s.version == 1
    [again] = ents.put("resources", [_res("new-1", "python:2")], actor="k1", now_us=NOW)  # same content, both syntaxes
    assert again.version == 1
    [s2] = ents.put("resources", [_res("new-1", "python:3")], actor="k1", now_us=NOW, expected={"new-1": 1})
    assert s2.version == 2
    with pytest.raises(VersionConflictError, match="new-1"):
        ents.put("resources", [_res("new-1", "python:4")], actor="k2", now_us=NOW, expected={"new-1": 1})
    assert ents.get("resources", "new-1").doc["skills"] == [{"skill": "python", "level": 3}]
    log = ents.store.changes(kind="resources", entity_id="new-1")
    assert [(c.actor, c.version) for c in log] == [("k1", 1), ("k1", 2)]
    assert "skills" in log[1].summary


def test_batch_all_or_nothing_names_index_and_field(ents):
    before = ents.count("resources")
    rows = [_res("ok-1", "python:1"), _res("bad-1", "nosuch:2"), _res("bad-2", "python:1", published_at="soon")]
    with pytest.raises(BatchValidationError) as ei:
        ents.put("resources", rows, actor="k", now_us=NOW)
    got = {(e.line, e.column) for e in ei.value.errors}
    assert got == {(1, "skills"), (2, "published_at")}
    assert "nosuch" in str(ei.value)
    assert ents.count("resources") == before and ents.find("resources", "ok-1") is None


def test_publication_year_from_1000_and_range_named(ents):
    [s] = ents.put("resources", [_res("sicp", "python:2", published_at="1968-05-01")], actor="k", now_us=NOW)
    assert s.doc["published_at"].startswith("1968-05-01")
    ents.put("resources", [_res("old", "python:2", published_at="1066-10-14")], actor="k", now_us=NOW)
    assert ents.world().catalog.n_items == ents.count("resources")
    with pytest.raises(BatchValidationError, match="1000-2200"):
        ents.put("resources", [_res("older", "python:2", published_at="0999-01-01")], actor="k", now_us=NOW)


def test_cycle_refused_naming_it(ents):
    py = ents.get("skills", "python").doc
    with pytest.raises(CycleError) as ei:
        ents.put("skills", [{**py, "prerequisites": [{"skill": "llm-apps", "level": 2}]}], actor="k", now_us=NOW)
    assert "python" in str(ei.value) and "llm-apps" in str(ei.value)
    assert ents.get("skills", "python").version == 1


def test_unknown_goal_refused_and_skill_in_use_not_deleted(ents):
    with pytest.raises(BatchValidationError, match="quantum"):
        ents.put("mentees", [{"user_id": "u9", "goals": "quantum:3"}], actor="k", now_us=NOW)
    with pytest.raises(InvalidValueError, match="resource"):
        ents.delete("skills", "python", actor="k", now_us=NOW)


def test_retire_keeps_history_and_other_process_syncs(ents, tmp_path):
    item = ents.ids("resources")[0]
    s = ents.retire(item, actor="k", now_us=NOW)
    assert s.doc["active"] is False and s.version == 2
    assert not ents.world().catalog.active[ents.world().catalog.items.index(item)]
    other = Entities(SQLiteEntityStore(tmp_path / "events.db"))
    ents.put("mentors", [{"mentor_id": "m9", "skills": "python:5", "capacity": 3}], actor="k", now_us=NOW)
    assert other.sync() and other.get("mentors", "m9").doc["capacity"] == 3
    assert not other.sync()
    other.store.close()


def test_migrations_recorded_once(tmp_path):
    SQLiteEntityStore(tmp_path / "e.db").close()
    SQLiteEntityStore(tmp_path / "e.db").close()
    with sqlite3.connect(tmp_path / "e.db") as c:
        assert c.execute("SELECT version FROM store_migrations").fetchall() == [(1,)]


def test_pages_with_cursor_and_filter(ents):
    ids, cursor = [], None
    while True:
        page, cursor = ents.page("resources", after=cursor, limit=2, keep=lambda r: r.active)
        ids += [s.id for s in page]
        if cursor is None:
            break
    w = ents.world().catalog
    assert ids == [i for i in w.items.to_list() if w.resource(i).active]
