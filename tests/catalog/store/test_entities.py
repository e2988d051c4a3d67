"""The entity store: validation before storage, versions, the change log, cycles, references, migrations.

Every test here runs on both backends (SQLite in the event log's file, a real PostgreSQL server).
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from catalog.errors import BatchValidationError, CycleError, InvalidValueError, VersionConflictError
from catalog.eventlog import EventLog
from catalog.store.entities import Entities
from catalog.store.sqlite import SQLiteEntityStore

NOW = 1_800_000_000_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def new_store(request, tmp_path):
    """Opens another store on the same database (another process or replica would), closed after the test."""
    opened = []
    if request.param == "sqlite":
        db = tmp_path / "events.db"
        EventLog(db).close()  # the store lives in the event log's file

        def make():
            return SQLiteEntityStore(db)
    else:
        from catalog.store.pg import PgEntityStore

        url = request.getfixturevalue("pg_url")

        def make():
            return PgEntityStore(url)

    def opener():
        opened.append(make())
        return opened[-1]
    yield opener
    for st in opened:
        st.close()


@pytest.fixture
def ents(new_store, tiny_world):
    e = Entities(new_store())
    e.import_world(tiny_world, actor="test", now_us=NOW)
    return e


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


def _synced(e: Entities, timeout: float = 5.0) -> bool:
    """``e.sync()`` until it sees a change (a notified store hears of it a few ms after COMMIT)."""
    deadline = time.monotonic() + timeout
    while not e.sync():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def test_retire_keeps_history_and_other_process_syncs(ents, new_store):
    item = ents.ids("resources")[0]
    s = ents.retire(item, actor="k", now_us=NOW)
    assert s.doc["active"] is False and s.version == 2
    assert not ents.world().catalog.active[ents.world().catalog.items.index(item)]
    other = Entities(new_store())
    ents.put("mentors", [{"mentor_id": "m9", "skills": "python:5", "capacity": 3}], actor="k", now_us=NOW)
    assert _synced(other) and other.get("mentors", "m9").doc["capacity"] == 3
    assert not other.sync()
    ents.delete("mentors", "m9", actor="k", now_us=NOW)
    assert _synced(other) and other.find("mentors", "m9") is None


def test_a_write_interleaved_with_another_stores_is_not_skipped(ents, new_store):
    """Regression: a writer used to take the store's revision after its own write as "seen", skipping
    another process's write committed just before it (its entity never appeared until a restart)."""
    other = Entities(new_store())
    real_write = ents.store.write

    def write_after_the_others(*args, **kwargs):  # the other process commits between our sync and our write
        other.put("mentors", [{"mentor_id": "m-other", "skills": "python:5", "capacity": 2}], actor="b", now_us=NOW)
        return real_write(*args, **kwargs)
    ents.store.write = write_after_the_others
    ents.put("mentors", [{"mentor_id": "m-mine", "skills": "python:4", "capacity": 1}], actor="a", now_us=NOW)
    deadline = time.monotonic() + 5
    while ents.find("mentors", "m-other") is None and time.monotonic() < deadline:
        ents.sync()
        time.sleep(0.002)
    assert ents.find("mentors", "m-other") is not None and ents.find("mentors", "m-mine") is not None


def test_order_survives_reopening_and_delete_then_create(ents, new_store):
    ents.put("mentors", [{"mentor_id": f"m-{i}", "skills": "python:3", "capacity": 1} for i in (3, 1, 2)],
             actor="k", now_us=NOW)
    ents.delete("mentors", "m-1", actor="k", now_us=NOW)
    [again] = ents.put("mentors", [{"mentor_id": "m-1", "skills": "python:3", "capacity": 4}], actor="k", now_us=NOW)
    assert again.version == 1  # a re-created entity starts again, on both backends
    reopened = Entities(new_store())
    assert reopened.ids("mentors")[-3:] == ["m-3", "m-2", "m-1"] == ents.ids("mentors")[-3:]
    assert [c.op for c in reopened.store.changes(kind="mentors", entity_id="m-1")] == ["put", "delete", "put"]


def test_tombstones_and_meta(ents):
    assert ents.store.tombstones() == set() and ents.store.get_meta("k") is None
    ents.store.tombstone("u1", actor="k", now_us=NOW)
    ents.store.tombstone("u1", actor="k2", now_us=NOW + 1)
    assert ents.store.tombstones(["u1", "u2"]) == {"u1"} == ents.store.tombstones()
    ents.store.set_meta("k", "v1")
    ents.store.set_meta("k", "v2")
    assert ents.store.get_meta("k") == "v2"


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


def test_touched_names_this_process_writes_or_says_it_does_not_know(ents, new_store):
    """What a reader applying writes may look at instead of scanning every entity: the ids written after a
    generation, per kind; None once anything it cannot name happened (another process's write, a reload)."""
    g0 = ents.generation
    assert ents.touched("resources", g0) == frozenset()
    first, second = ents.ids("resources")[:2]
    ents.retire(first, actor="k", now_us=NOW)
    g1 = ents.generation
    ents.patch("resources", second, {"title": "Renamed"}, actor="k", now_us=NOW)
    ents.put("mentors", [{"mentor_id": "m9", "skills": "python:5", "capacity": 3}], actor="k", now_us=NOW)
    assert ents.touched("resources", g0) == {first, second} and ents.touched("resources", g1) == {second}
    assert ents.touched("mentors", g0) == {"m9"} and ents.touched("resources", ents.generation) == frozenset()
    other = Entities(new_store())
    other.put("resources", [_res("from-elsewhere", "python:1")], actor="b", now_us=NOW)
    assert _synced(ents)
    assert ents.touched("resources", g0) is None and ents.touched("resources", g1) is None  # not ours: unknown
    g2 = ents.generation
    ents.retire(second, actor="k", now_us=NOW)
    assert ents.touched("resources", g2) == {second}


def _held(e: Entities) -> list:
    """What a reader holds, in order: stored documents with versions, and the validated entities."""
    from catalog.store.base import KINDS

    return [(k, [(s.id, s.doc, s.version) for s in e._stored[k].values()], list(e._objs[k].items()))
            for k in KINDS]


def test_catching_up_reads_only_what_changed_and_equals_a_reload(ents, new_store, monkeypatch):
    """Another process's writes are applied by reading just the entities the change log names (an edit
    in another replica must not cost a reload of every document); the result equals a fresh reload,
    creation order included, through edits, retirements, deletes, creations and a skill change."""
    reader = Entities(new_store())
    reloads = []
    real_reload = reader.reload
    monkeypatch.setattr(reader, "reload", lambda: (reloads.append(1), real_reload())[1])
    item, other = ents.ids("resources")[:2]
    mentee = ents.ids("mentees")[0]
    steps = [
        (lambda: ents.retire(item, actor="k", now_us=NOW), "resources", False),
        (lambda: ents.patch("resources", other, {"duration_minutes": 7}, actor="k", now_us=NOW), "resources", False),
        (lambda: ents.patch("mentees", mentee, {"minutes_per_week": 90}, actor="k", now_us=NOW), "mentees", False),
        (lambda: ents.put("mentors", [{"mentor_id": "m9", "skills": "python:5", "capacity": 3}], actor="k",
                          now_us=NOW), "mentors", False),
        (lambda: ents.delete("mentors", "m9", actor="k", now_us=NOW), "mentors", False),
        (lambda: ents.put("resources", [_res("new-a", "python:2"), _res("new-b", "python:3")], actor="k",
                          now_us=NOW), "resources", False),
        (lambda: ents.put("skills", [{"skill_id": "rust", "name": "Rust"}], actor="k", now_us=NOW), "skills", True),
    ]
    for write, kind, full in steps:
        before = dict(reader.kind_generation)
        write()
        assert _synced(reader)
        assert _held(reader) == _held(Entities(new_store())), kind
        assert [k for k in before if reader.kind_generation[k] != before[k]] == [kind]  # only that kind moved
        assert bool(reloads) == full, kind
    assert reader.ids("resources")[-2:] == ["new-a", "new-b"]
    assert list(reader.world().catalog.items) == list(ents.world().catalog.items)


def test_a_writer_learns_its_own_changes_without_asking_the_store(ents, monkeypatch):
    """After its own write a writer holds everything up to it from the store's ``last_write`` (the span of
    the write's change-log sequence numbers), not from another revision query: each statement is a release
    of the GIL the requests beside the write wait to get back. A failed write leaves no span."""
    ents.sync()
    real = ents.store.revision
    asked: list[int] = []
    monkeypatch.setattr(ents.store, "revision", lambda: (asked.append(1), real())[1])
    ents.put("mentors", [{"mentor_id": f"m-{i}", "skills": "python:3", "capacity": 1} for i in (1, 2, 3)],
             actor="k", now_us=NOW)
    assert ents.store.last_write() == (real() - 2, real()) and ents.revision == real()
    ents.patch("mentors", "m-2", {"capacity": 4}, actor="k", now_us=NOW)
    assert ents.store.last_write() == (real(), real()) and ents.revision == real()
    assert len(asked) == 2  # one sync before each write, none after
    with pytest.raises(VersionConflictError):
        ents.patch("mentors", "m-2", {"capacity": 5}, actor="k", now_us=NOW, expected=1)
    assert ents.store.last_write() is None and ents.revision == real()
