"""Generic import: minimal columns, defaults, deterministic ids, every bad row with its line."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from catalog.errors import DataValidationError, UnknownSkillError
from catalog.events import make_event_ids
from catalog.import_events import import_events
from catalog.imports import (
    DEFAULT_PUBLISHED_AT, FALLBACK_SKILL, import_catalog, import_skills, import_world,
)
from catalog.schema import EVENT_COLUMNS, SkillLevel


def csv(text: str) -> pd.DataFrame:
    """Read like the CLI does: every cell as text, empty cells as ''."""
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def lines(err: DataValidationError) -> list[tuple[int, str]]:
    return [(e.line, e.column) for e in err.errors]


def test_catalog_with_only_item_id_gets_documented_defaults():
    skills, resources = import_catalog(csv("item_id\na\nb\n"))
    assert [s.skill_id for s in skills] == [FALLBACK_SKILL]
    assert skills[0].half_life_days is None
    a = resources[0]
    assert (a.item_id, a.title, a.type, a.difficulty, a.duration_minutes, a.language, a.active) == \
        ("a", "a", "other", 3, 30, "en", True)
    assert a.skills == (SkillLevel(FALLBACK_SKILL, 3),)
    assert a.published_at == DEFAULT_PUBLISHED_AT == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert a.updated_at is None and a.half_life_days is None


def test_catalog_skills_are_created_on_the_fly_and_levels_default_to_difficulty():
    given = import_skills(csv("skill_id,name,half_life_days,prerequisites\npython,Python,1460,\nml,ML,,python\n"))
    assert given[1].prerequisites == (SkillLevel("python", 3),)
    skills, resources = import_catalog(
        csv("item_id,skills,difficulty,type,published_at,active\n"
            "x,python:2;rust,4,Video,2024-05-01,no\n"
            "y,,2,,,\n"), skills=given)
    assert [s.skill_id for s in skills] == ["python", "ml", "rust", FALLBACK_SKILL]
    rust = skills[2]
    assert rust.name == "rust" and rust.half_life_days is None and rust.prerequisites == ()
    x, y = resources
    assert x.skills == (SkillLevel("python", 2), SkillLevel("rust", 4))  # no level -> difficulty
    assert x.type == "video" and not x.active
    assert x.published_at == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert y.skills == (SkillLevel(FALLBACK_SKILL, 2),)


def test_catalog_errors_name_every_bad_line_and_column():
    with pytest.raises(DataValidationError) as ei:
        import_catalog(csv("item_id,type,difficulty,skills,published_at\n"
                           "ok,video,1,,\n"
                           "bad id,video,1,,\n"
                           "t,blog,1,,\n"
                           "d,video,9,,\n"
                           "ok,video,1,,\n"
                           "s,video,2,a:1;a:2,\n"
                           "p,video,2,,last tuesday\n"), source="cat.csv")
    assert lines(ei.value) == [(3, "item_id"), (4, "type"), (5, "difficulty"), (6, "item_id"),
                               (7, "skills"), (8, "published_at")]
    text = str(ei.value)
    assert "cat.csv:6: item_id: 'ok' duplicates line 2" in text
    assert "'blog' is not one of" in text


def test_missing_required_column_is_reported_on_the_header_line():
    with pytest.raises(DataValidationError) as ei:
        import_catalog(csv("title\nx\n"))
    assert lines(ei.value) == [(1, "item_id")]
    with pytest.raises(DataValidationError) as ei:
        import_events(csv("user_id,event_type\nu,view\n"))
    assert lines(ei.value) == [(1, "item_id"), (1, "timestamp")]


def test_events_minimal_columns_and_defaults():
    ev = import_events(csv("user_id,item_id,timestamp\nu1,a,2025-01-01\nu2,b,2025-01-02T10:00:00+02:00\n"
                           "u3,a,1735689600\n"), items={"a", "b"})
    assert list(ev.columns) == list(EVENT_COLUMNS)
    assert (ev.event_type == "view").all() and ev.value.isna().all() and (ev.source == "import").all()
    assert str(ev.timestamp.dtype) == "datetime64[us, UTC]"
    assert ev.timestamp.tolist() == [pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-01-02T08:00", tz="UTC"),
                                     pd.Timestamp("2025-01-01", tz="UTC")]
    assert ev.event_id.str.fullmatch(r"[0-9a-f]{40}").all()


def test_generated_ids_are_deterministic_and_the_ones_events_ingest_gives():
    text = ("user_id,item_id,timestamp,event_type,value\n"
            "u1,a,2025-01-01,assess,80\nu1,a,2025-01-01,assess,80\nu1,a,2025-01-01,assess,81\n")
    one, two = import_events(csv(text)), import_events(csv(text))
    assert one.event_id.tolist() == two.event_id.tolist()
    assert one.event_id.is_unique and len(one) == 2  # identical rows are one event, as in `events ingest`
    assert one.event_id.tolist() == make_event_ids(csv(text)).drop_duplicates().tolist()
    # An id depends on the row's content, not on its position (other rows do not move it).
    shuffled = import_events(csv("user_id,item_id,timestamp,event_type,value\n"
                                 "u1,a,2025-01-01,assess,81\nu1,a,2025-01-01,assess,80\n"))
    assert shuffled.event_id.tolist() == [one.event_id[1], one.event_id[0]]
    # Source is provenance, not content: the same event from another source has the same id.
    other = import_events(csv("user_id,item_id,timestamp,event_type,value,source\nu1,a,2025-01-01,assess,81,lms\n"))
    assert other.event_id[0] == one.event_id[1] and other.source[0] == "lms"


def test_given_event_ids_are_kept_and_exact_repeats_collapse():
    ev = import_events(csv("event_id,user_id,item_id,timestamp\n"
                           "e1,u1,a,2025-01-01\ne1,u1,a,2025-01-01\n,u2,a,2025-01-03\n"))
    assert len(ev) == 2 and ev.event_id[0] == "e1" and len(ev.event_id[1]) == 40
    with pytest.raises(DataValidationError) as ei:
        import_events(csv("event_id,user_id,item_id,timestamp\ne1,u1,a,2025-01-01\ne1,u2,a,2025-01-01\n"))
    assert lines(ei.value) == [(3, "event_id")] and "reused with different content (line 2)" in str(ei.value)


def test_events_on_unknown_items_and_bad_values_are_listed_with_line_numbers():
    text = ("user_id,item_id,timestamp,event_type,value\n"
            "u1,a,2025-01-01,,\n"          # 2 ok
            "u1,zz,2025-01-01,,\n"         # 3 unknown item
            "u2,a,not a date,,\n"          # 4 bad timestamp
            "u3,a,2025-01-01,assess,\n"    # 5 assess without score
            "u3,a,2025-01-01,assess,120\n"  # 6 score out of range
            "u3,a,2025-01-01,view,3\n"     # 7 value on a view
            "u3,a,2025-01-01,like,9\n"     # 8 rating out of range
            "u3,a,2025-01-01,click,\n"     # 9 unknown type
            "u 4,yy,2025-01-01,,\n")       # 10 bad user id and unknown item
    with pytest.raises(DataValidationError) as ei:
        import_events(csv(text), items={"a"}, source="ev.csv")
    assert lines(ei.value) == [(3, "item_id"), (4, "timestamp"), (5, "value"), (6, "value"), (7, "value"),
                               (8, "value"), (9, "event_type"), (10, "user_id"), (10, "item_id")]
    msg = str(ei.value)
    assert "ev.csv:3: item_id: unknown item 'zz'" in msg and "ev.csv:10: item_id: unknown item 'yy'" in msg
    assert "9 error(s) in 8 row(s)" in msg


def test_import_world_derives_mentees_from_events():
    w = import_world(csv("item_id,skills\na,python:1\nb,\n"),
                     csv("user_id,item_id,timestamp\nzed,a,2025-01-01\namy,b,2025-01-02\namy,a,2025-01-03\n"))
    assert sorted(w.world.mentees) == ["amy", "zed"]
    assert all(m.goals == () for m in w.world.mentees.values())
    assert w.world.catalog.n_items == 2 and set(w.world.catalog.skills) == {"python", FALLBACK_SKILL}
    assert w.info["events"] == 3 and w.info["event_ids_generated"] == 3 and w.info["general_only_resources"] == 1
    with pytest.raises(UnknownSkillError, match="nope"):
        import_world(csv("item_id\na\n"), None, skills=csv("skill_id,prerequisites\nx,nope:2\n"))


def test_large_event_tables_validate_vectorised():
    n = 50_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"user_id": [f"u{i}" for i in rng.integers(0, 500, n)],
                       "item_id": [f"i{i}" for i in rng.integers(0, 100, n)],
                       "timestamp": pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**6, n), "s")})
    ev = import_events(df, items={f"i{i}" for i in range(100)})
    assert len(ev) == n and ev.event_id.is_unique


def test_active_is_read_like_every_other_boolean_column():
    """One boolean parser (catalog.tables.parse_bool) for every file: a frame built in code with 1.0/0.0
    (pandas' floats for a column with blanks) is read, and a bad value names its column."""
    _, (a, b) = import_catalog(pd.DataFrame({"item_id": ["a", "b"], "active": [1.0, 0.0]}))
    assert a.active and not b.active
    with pytest.raises(DataValidationError) as ei:
        import_catalog(csv("item_id,active\na,maybe\n"))
    assert lines(ei.value) == [(2, "active")] and "'maybe' is not a boolean" in str(ei.value)
