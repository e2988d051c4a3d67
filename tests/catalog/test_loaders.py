from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from catalog.datadir import DataDir
from catalog.errors import CycleError, DataValidationError, NotReadyError, RowError
from catalog.loaders import (
    load_mentees,
    load_mentors,
    load_resources,
    load_skills,
    load_world,
)
from catalog.schema import Goal, SkillLevel
from catalog.writers import save_world

SKILLS = {"python", "sql", "pandas", "ml"}
RES_HEADER = "item_id,title,url,type,skills,difficulty,duration_minutes,published_at,updated_at,half_life_days,provider,language,active"
GOOD_RES = "r1,Intro,,video,python:2,2,30,2024-01-01,,,acme,en,true"


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def errors_of(excinfo: pytest.ExceptionInfo[DataValidationError]) -> list[tuple[int, str]]:
    return [(e.line, e.column) for e in excinfo.value.errors]


def only_error(excinfo: pytest.ExceptionInfo[DataValidationError]) -> RowError:
    assert len(excinfo.value.errors) == 1, excinfo.value.errors
    return excinfo.value.errors[0]


# ---------------------------------------------------------------- skills


def test_skills_parse_defaults_and_prerequisite_levels(tmp_path):
    p = write(tmp_path, "skills.csv", "skill_id,name,domain,half_life_days,prerequisites,extra",
              "python,Python,software,1460,,ignored", "sql,SQL,data,,,", "pandas,pandas,data,730.5,python;sql:2,")
    skills = {s.skill_id: s for s in load_skills(p)}
    assert skills["sql"].half_life_days is None and skills["python"].half_life_days == 1460.0
    # a prerequisite without a level requires DEFAULT_PREREQ_LEVEL (3)
    assert skills["pandas"].prerequisites == (SkillLevel("python", 3), SkillLevel("sql", 2))
    assert skills["pandas"].half_life_days == 730.5


def test_skills_only_required_columns(tmp_path):
    p = write(tmp_path, "skills.csv", "name,skill_id", "Python,python")
    (s,) = load_skills(p)
    assert (s.skill_id, s.name, s.domain, s.half_life_days, s.prerequisites) == ("python", "Python", "", None, ())


def test_missing_required_column_is_a_whole_file_error(tmp_path):
    p = write(tmp_path, "skills.csv", "skill_id,domain", "python,software")
    with pytest.raises(DataValidationError) as ei:
        load_skills(p)
    err = only_error(ei)
    assert (err.line, err.column) == (1, "name")
    assert "required column missing" in err.reason


def test_every_bad_skill_row_is_reported_with_its_line(tmp_path):
    p = write(tmp_path, "skills.csv", "skill_id,name,domain,half_life_days,prerequisites",
              "python,Python,,,",            # line 2 ok
              "bad id!,X,,,",                # 3 bad id
              "python,Again,,,",             # 4 duplicate
              "sql,,,,",                     # 5 missing name
              "ml,ML,,-3,",                  # 6 half-life not positive
              "dl,DL,,,ghost:2",             # 7 unknown prerequisite
              "ai,AI,,,python:9",            # 8 level out of range
              "a:b,AB,,,")                   # 9 ':' in a skill id
    with pytest.raises(DataValidationError) as ei:
        load_skills(p)
    assert errors_of(ei) == [(3, "skill_id"), (4, "skill_id"), (5, "name"), (6, "half_life_days"),
                             (7, "prerequisites"), (8, "prerequisites"), (9, "skill_id")]
    reasons = [e.reason for e in ei.value.errors]
    assert "must be 1-128 characters" in reasons[0]
    assert reasons[1] == "duplicate skill_id 'python' (first on line 2)"
    assert reasons[2] == "missing required value"
    assert "must be positive" in reasons[3]
    assert "unknown skill 'ghost'" in reasons[4]
    assert "out of range 1-5" in reasons[5]
    assert "may not contain ':'" in reasons[6]
    assert all(e.source == "skills.csv" for e in ei.value.errors)
    assert str(p) in str(ei.value) and "skills.csv:7: prerequisites: unknown skill" in str(ei.value)


def test_prerequisite_cycle_raises_cycle_error(tmp_path):
    p = write(tmp_path, "skills.csv", "skill_id,name,prerequisites", "a,A,c:2", "b,B,a", "c,C,b", "d,D,")
    with pytest.raises(CycleError) as ei:
        load_skills(p)
    assert set(ei.value.cycle) == {"a", "b", "c"}


def test_line_numbers_count_blank_lines_and_multiline_cells(tmp_path):
    p = write(tmp_path, "skills.csv", "skill_id,name", "a,\"A\nwith a second line\"", "", "b,", "c,C")
    with pytest.raises(DataValidationError) as ei:
        load_skills(p)
    assert errors_of(ei) == [(5, "name")]  # the header is 1, "a" spans 2-3, a blank line 4


# ---------------------------------------------------------------- resources


def test_resource_defaults_and_types(tmp_path):
    p = write(tmp_path, "resources.csv", "item_id,title,type,skills,published_at",
              "007,Bond basics,Video,python:2;sql:1,2024-01-02T03:04:05+02:00")
    (r,) = load_resources(p, skill_ids=SKILLS)
    assert r.item_id == "007"  # leading zeros survive: no dtype guessing
    assert r.type == "video"
    assert r.skills == (SkillLevel("python", 2), SkillLevel("sql", 1))
    assert r.published_at == datetime(2024, 1, 2, 1, 4, 5, tzinfo=timezone.utc)
    assert (r.difficulty, r.duration_minutes, r.active, r.language, r.updated_at, r.half_life_days) == (
        3, 30, True, "en", None, None)


@pytest.mark.parametrize("cells, column, reason", [
    ("r1,Intro,,video,python:2,2,30,2024-01-01,,,acme,en,maybe", "active", "is not a boolean"),
    ("r1,Intro,,vid,python:2,2,30,2024-01-01,,,acme,en,true", "type", "unknown resource type 'vid'"),
    ("r1,Intro,,video,python:2,6,30,2024-01-01,,,acme,en,true", "difficulty", "out of range 1-5"),
    ("r1,Intro,,video,python:2,2.5,30,2024-01-01,,,acme,en,true", "difficulty", "is not an integer"),
    ("r1,Intro,,video,python:2,2,0,2024-01-01,,,acme,en,true", "duration_minutes", "must be at least 1"),
    ("r1,Intro,,video,python:2,2,ten,2024-01-01,,,acme,en,true", "duration_minutes", "is not an integer"),
    ("r1,Intro,,video,python:2,2,30,2024-31-01,,,acme,en,true", "published_at", "bad date '2024-31-01'"),
    ("r1,Intro,,video,python:2,2,30,,,,acme,en,true", "published_at", "missing required value"),
    ("r1,Intro,,video,python:2,2,30,2024-01-01,2023-12-31,,acme,en,true", "updated_at",
     "updated_at 2023-12-31 is before published_at 2024-01-01"),
    ("r1,Intro,,video,python:2,2,30,2024-01-01,,0,acme,en,true", "half_life_days", "must be positive"),
    ("r1,Intro,,video,ghost:2;python:1,2,30,2024-01-01,,,acme,en,true", "skills", "unknown skill 'ghost'"),
    ("r1,Intro,,video,python,2,30,2024-01-01,,,acme,en,true", "skills", "needs a level"),
    ("r1,Intro,,video,,2,30,2024-01-01,,,acme,en,true", "skills", "missing required value"),
    ("r1,,,video,python:2,2,30,2024-01-01,,,acme,en,true", "title", "missing required value"),
    ("r 1,Intro,,video,python:2,2,30,2024-01-01,,,acme,en,true", "item_id", "must be 1-128 characters"),
])
def test_each_resource_error_class(tmp_path, cells, column, reason):
    p = write(tmp_path, "resources.csv", RES_HEADER, GOOD_RES.replace("r1", "r0"), cells)
    with pytest.raises(DataValidationError) as ei:
        load_resources(p, skill_ids=SKILLS)
    err = only_error(ei)
    assert (err.line, err.column) == (3, column)
    assert reason in err.reason


def test_resource_file_with_errors_loads_nothing_and_reports_all(tmp_path):
    p = write(tmp_path, "resources.csv", RES_HEADER, GOOD_RES,
              "r2,B,,video,python:2,9,30,2024-01-01,,,,en,yes",
              GOOD_RES,  # duplicate of line 2
              "r3,C,,podcast,sql:1,1,-5,nope,,,,en,0")
    with pytest.raises(DataValidationError) as ei:
        load_resources(p, skill_ids=SKILLS)
    assert errors_of(ei) == [(3, "difficulty"), (4, "item_id"), (5, "published_at"), (5, "duration_minutes")]
    assert "4 error(s) in 3 row(s), nothing loaded" in str(ei.value)


def test_too_many_cells_is_reported(tmp_path):
    p = write(tmp_path, "resources.csv", RES_HEADER, GOOD_RES + ",surplus")
    with pytest.raises(DataValidationError) as ei:
        load_resources(p, skill_ids=SKILLS)
    assert errors_of(ei) == [(2, "*")]


@pytest.mark.parametrize("cell, expected", [("true", True), ("FALSE", False), ("1", True), ("0", False),
                                            ("yes", True), ("n", False), ("", True)])
def test_active_booleans(tmp_path, cell, expected):
    p = write(tmp_path, "resources.csv", RES_HEADER, GOOD_RES.rsplit(",", 1)[0] + "," + cell)
    (r,) = load_resources(p, skill_ids=SKILLS)
    assert r.active is expected


# ---------------------------------------------------------------- mentees and mentors


def test_mentees_parse_and_validate(tmp_path):
    header = "user_id,goals,self_levels,preferred_types,minutes_per_week,language,timezone"
    p = write(tmp_path, "mentees.csv", header, "u1,ml:4@2027-01-31;sql:3,python:3,video;article,180,de,2")
    (m,) = load_mentees(p, skill_ids=SKILLS)
    assert m.goals == (Goal("ml", 4, date(2027, 1, 31)), Goal("sql", 3))
    assert (m.self_levels, m.preferred_types, m.minutes_per_week, m.language, m.timezone) == (
        (SkillLevel("python", 3),), ("video", "article"), 180, "de", 2)

    bad = write(tmp_path, "bad.csv", header,
                "u1,ghost:4,,,,,",            # 2 unknown goal skill
                "u2,ml:4@2027-02-30,,,,,",    # 3 bad deadline
                "u3,,nope:2,,,,",             # 4 unknown self-level skill
                "u4,,,vlog,,,",               # 5 unknown preferred type
                "u5,,,,0,,",                  # 6 minutes not positive
                "u6,,,,,,15",                 # 7 timezone out of range
                "u1,,,,,,")                   # 8 duplicate
    with pytest.raises(DataValidationError) as ei:
        load_mentees(bad, skill_ids=SKILLS)
    assert errors_of(ei) == [(2, "goals"), (3, "goals"), (4, "self_levels"), (5, "preferred_types"),
                             (6, "minutes_per_week"), (7, "timezone"), (8, "user_id")]
    assert "not a date" in ei.value.errors[1].reason
    assert "unknown resource type 'vlog'" in ei.value.errors[3].reason


def test_mentors_parse_and_validate(tmp_path):
    header = "mentor_id,name,skills,capacity,availability_hours,language,timezone,formats"
    p = write(tmp_path, "mentors.csv", header, "m1,Ada,python:5;sql:4,0,1.5,en,-5,call;chat")
    (m,) = load_mentors(p, skill_ids=SKILLS)
    assert (m.capacity, m.availability_hours, m.timezone, m.formats) == (0, 1.5, -5, ("call", "chat"))

    bad = write(tmp_path, "bad.csv", header, "m1,Ada,python:6,-1,,,,", "m2,Bob,ghost:3,1.5,-2,,,")
    with pytest.raises(DataValidationError) as ei:
        load_mentors(bad, skill_ids=SKILLS)
    assert errors_of(ei) == [(2, "skills"), (2, "capacity"), (3, "skills"), (3, "capacity"),
                             (3, "availability_hours")]
    assert "must be at least 0" in ei.value.errors[1].reason


# ---------------------------------------------------------------- formats


def test_jsonl_lists_real_types_and_line_numbers(tmp_path):
    recs = [
        {"item_id": "r1", "title": "A", "type": "video", "skills": ["python:2", {"skill_id": "sql", "level": 1}],
         "published_at": "2024-01-01", "difficulty": 2, "active": False},
        None,  # a blank line, still counted
        {"item_id": "r2", "title": "B", "type": "article", "skills": "sql:2", "published_at": "2024-02-01",
         "duration_minutes": 0},
    ]
    p = tmp_path / "resources.jsonl"
    p.write_text("\n".join("" if r is None else json.dumps(r) for r in recs) + "\n")
    with pytest.raises(DataValidationError) as ei:
        load_resources(p, skill_ids=SKILLS)
    assert errors_of(ei) == [(3, "duration_minutes")]
    recs[2]["duration_minutes"] = 15
    p.write_text("\n".join("" if r is None else json.dumps(r) for r in recs) + "\n")
    r1, r2 = load_resources(p, skill_ids=SKILLS)
    assert r1.skills == (SkillLevel("python", 2), SkillLevel("sql", 1)) and r1.active is False
    assert r2.duration_minutes == 15 and r2.difficulty == 3


def test_jsonl_bad_json_line(tmp_path):
    p = tmp_path / "skills.ndjson"
    p.write_text('{"skill_id": "a", "name": "A"}\n{"skill_id": \n[1, 2]\n')
    with pytest.raises(DataValidationError) as ei:
        load_skills(p)
    assert errors_of(ei) == [(2, "*"), (3, "*")]
    assert "not valid JSON" in ei.value.errors[0].reason


def test_parquet_rows_are_numbered_from_one(tmp_path):
    df = pd.DataFrame({"skill_id": ["a", "b", "b"], "name": ["A", "B", "B2"],
                       "half_life_days": [None, 30.0, None], "prerequisites": [[], ["a:2"], None]})
    p = tmp_path / "skills.parquet"
    df.to_parquet(p)
    with pytest.raises(DataValidationError) as ei:
        load_skills(p)
    assert errors_of(ei) == [(3, "skill_id")]
    df = df.iloc[:2]
    df.to_parquet(p)
    a, b = load_skills(p)
    assert a.half_life_days is None and b.prerequisites == (SkillLevel("a", 2),)


# ---------------------------------------------------------------- the world


def test_round_trip_through_writers(tmp_path, tiny_world):
    dd = DataDir(tmp_path / "data")
    save_world(tiny_world, dd)
    w = load_world(dd)
    cat, ref = w.catalog, tiny_world.catalog
    assert cat.resources == ref.resources
    assert {s: cat.skills[s] for s in cat.skill_ids} == {s: ref.skills[s] for s in ref.skill_ids}
    assert w.mentees == tiny_world.mentees and w.mentors == tiny_world.mentors


def test_world_mentees_and_mentors_are_optional(tmp_path, tiny_world):
    dd = DataDir(tmp_path)
    save_world(tiny_world, dd)
    dd.mentees.unlink()
    dd.mentors.unlink()
    w = load_world(dd)
    assert w.mentees == {} and w.mentors == {} and w.catalog.n_items == 10


def test_world_reports_errors_of_every_file(tmp_path, tiny_world):
    dd = DataDir(tmp_path)
    save_world(tiny_world, dd)
    dd.resources.write_text(dd.resources.read_text().replace("python:1", "pyton:1"))
    dd.mentors.write_text(dd.mentors.read_text().replace("m2,Grace", "m2,Grace").replace(",1,2.0", ",x,2.0"))
    with pytest.raises(DataValidationError) as ei:
        load_world(dd)
    where = [(e.source, e.line, e.column) for e in ei.value.errors]
    assert where == [("resources.csv", 2, "skills"), ("mentors.csv", 3, "capacity")]


def test_world_missing_files(tmp_path, tiny_world):
    with pytest.raises(NotReadyError, match="skillpath data synth"):
        load_world(tmp_path / "nowhere")
    dd = DataDir(tmp_path)
    save_world(tiny_world, dd)
    dd.resources.unlink()
    with pytest.raises(NotReadyError, match="no resources"):
        load_world(dd)


def test_world_reads_jsonl_when_there_is_no_csv(tmp_path, tiny_world):
    dd = DataDir(tmp_path)
    save_world(tiny_world, dd)
    df = pd.read_csv(dd.skills, dtype=str, keep_default_na=False)
    (tmp_path / "skills.jsonl").write_text(df.to_json(orient="records", lines=True))
    dd.skills.unlink()
    assert load_world(dd).catalog.n_skills == 6


def test_world_cycle_surfaces(tmp_path, tiny_world):
    dd = DataDir(tmp_path)
    save_world(tiny_world, dd)
    dd.skills.write_text(dd.skills.read_text().replace("python,Python,software,1460.0,",
                                                       "python,Python,software,1460.0,ml:2"))
    with pytest.raises(CycleError) as ei:
        load_world(dd)
    assert {"python", "pandas", "ml"} <= set(ei.value.cycle)
