"""OULAD loader against the real files: every raw row accounted for, right calendar, no demographics.

The dataset lives at ``../shared/datasets/oulad`` relative to the repository root (for a
git worktree, further up). A missing dataset FAILS these tests: it is part of the setup.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from catalog.errors import ConfigError
from catalog.oulad import ACTIVITY_TYPES, OULAD_ATTRIBUTION, load_oulad, presentation_start, stage_level
from catalog.schema import EVENT_COLUMNS, RESOURCE_TYPES
from catalog.writers import mentees_frame, resources_frame, skills_frame

REPO = Path(__file__).resolve().parents[2]
DEMOGRAPHICS = ("gender", "region", "highest_education", "imd_band", "age_band", "disability",
                "num_of_prev_attempts", "studied_credits", "final_result")
# AAA-2014J has clicks; CCC-2014B has none in this copy (sites, assessments, learners only).
PRESENTATIONS = ["AAA-2014J", "CCC-2014B"]


def _dataset_dir() -> Path:
    for parent in REPO.parents:
        d = parent / "shared" / "datasets" / "oulad"
        if (d / "vle.csv").is_file():
            return d
    pytest.fail(f"OULAD dataset not found at {REPO.parent / 'shared/datasets/oulad'} (required)")


@pytest.fixture(scope="module")
def src() -> Path:
    return _dataset_dir()


@pytest.fixture(scope="module")
def raw(src):
    clicks = pd.read_csv(src / "studentVle_complete.csv.gz")
    clicks = clicks[clicks.code_module + "-" + clicks.code_presentation == "AAA-2014J"]
    assessments = pd.read_csv(src / "assessments.csv", na_values="?")
    assessments = assessments[(assessments.code_module + "-" + assessments.code_presentation).isin(PRESENTATIONS)]
    scores = pd.read_csv(src / "studentAssessment.csv.gz", na_values="?")
    scores = scores[scores.id_assessment.isin(assessments.id_assessment)]
    vle = pd.read_csv(src / "vle.csv", na_values="?")
    vle = vle[(vle.code_module + "-" + vle.code_presentation).isin(PRESENTATIONS)]
    regs = pd.read_csv(src / "studentRegistration.csv.gz", na_values="?")
    regs = regs[(regs.code_module + "-" + regs.code_presentation).isin(PRESENTATIONS)]
    return {"clicks": clicks, "assessments": assessments, "scores": scores, "vle": vle, "regs": regs}


@pytest.fixture(scope="module")
def loaded(src):
    calls: list[tuple[str, int, int]] = []
    out = load_oulad(src, presentations=PRESENTATIONS, progress=lambda s, d, t: calls.append((s, d, t)))
    out.info["_progress"] = calls
    return out


def test_every_click_row_becomes_one_view(loaded, raw):
    views = loaded.events[loaded.events.event_type == "view"]
    assert len(views) == len(raw["clicks"]) == loaded.info["views"]
    assert views.value.isna().all()
    assert loaded.events.event_id.is_unique
    # Same multiset of (learner, site, day) rows.
    start = pd.Timestamp("2014-10-01", tz="UTC")
    days = (views.timestamp - start).dt.days.astype(str)
    got = (views.user_id + "|" + views.item_id + "|" + days).value_counts()
    c = raw["clicks"]
    want = ("s" + c.id_student.astype(str) + "|vle-" + c.id_site.astype(str) + "|" + c.date.astype(str)).value_counts()
    assert got.to_dict() == want.to_dict()
    assert int(loaded.clicks[views.index].sum()) == int(raw["clicks"].sum_click.sum())
    assert (loaded.clicks[loaded.events.event_type == "assess"] == 0).all()
    assert loaded.info["skipped"]["clicks_below_min_clicks"] == 0


def test_every_scored_submission_becomes_one_assess_event(loaded, raw):
    scores = raw["scores"]
    assess = loaded.events[loaded.events.event_type == "assess"]
    n_missing = int(scores.score.isna().sum())
    assert len(assess) + n_missing == len(scores)
    assert loaded.info["skipped"]["scores_missing"] == n_missing
    assert assess.value.between(0, 100).all()
    by_id = assess.set_index("event_id").value
    sample = scores.dropna(subset=["score"]).head(200)
    for r in sample.itertuples():
        assert by_id[f"oulad:a:{r.id_assessment}:{r.id_student}"] == r.score
    banked = assess.source.str.endswith(":banked").sum()
    assert banked == int(scores.dropna(subset=["score"]).is_banked.sum())


def test_timestamps_are_on_each_presentations_calendar(loaded, raw):
    ev = loaded.events
    assert str(ev.timestamp.dtype) == "datetime64[us, UTC]"
    assert ev.timestamp.is_monotonic_increasing
    assert (ev.timestamp.dt.normalize() == ev.timestamp).all()  # day resolution, 00:00 UTC
    start = pd.Timestamp("2014-10-01", tz="UTC")
    r = raw["clicks"].iloc[0]
    eid = f"oulad:v:{r.id_site}:{r.id_student}:{r.date}:0"
    row = ev[ev.event_id == eid].iloc[0]
    assert row.timestamp == start + pd.Timedelta(days=int(r.date))
    assert row.user_id == f"s{r.id_student}" and row.item_id == f"vle-{r.id_site}"
    views = ev[ev.event_type == "view"]
    lo, hi = raw["clicks"].date.min(), raw["clicks"].date.max()
    assert views.timestamp.min() == start + pd.Timedelta(days=int(lo))
    assert views.timestamp.max() == start + pd.Timedelta(days=int(hi))
    ccc = ev[ev.source.str.startswith("oulad:CCC-2014B")]
    assert len(ccc) > 0 and (ccc.event_type == "assess").all()
    assert ccc.timestamp.min() >= pd.Timestamp("2014-02-01", tz="UTC") - pd.Timedelta(days=1)


def test_calendar_and_levels():
    assert presentation_start("2013J") == datetime(2013, 10, 1, tzinfo=timezone.utc)
    assert presentation_start("2014B") == datetime(2014, 2, 1, tzinfo=timezone.utc)
    with pytest.raises(ConfigError):
        presentation_start("2013X")
    assert stage_level(np.array([-5, 0, 53, 54, 107, 200, 268, 400]), 268).tolist() == [1, 1, 1, 2, 2, 4, 5, 5]


def test_catalog_items_skills_and_mentees(loaded, raw):
    cat = loaded.world.catalog
    assert sorted(cat.skills) == ["AAA", "CCC"]
    assert all(s.half_life_days is None and not s.prerequisites for s in cat.skills.values())
    want = {f"vle-{i}" for i in raw["vle"].id_site} | {f"assess-{i}" for i in raw["assessments"].id_assessment}
    assert set(cat.items) == want
    assert set(loaded.events.item_id) <= want
    for r in cat.resources:
        assert r.type in RESOURCE_TYPES and len(r.skills) == 1 and 1 <= r.skills[0].level <= 5
    vle = raw["vle"].set_index("id_site")
    sample = cat.resource(f"vle-{vle.index[0]}")
    assert vle.activity_type.iloc[0] in sample.title
    assert sample.type == ACTIVITY_TYPES[vle.activity_type.iloc[0]]
    assert cat.resource(f"assess-{raw['assessments'].id_assessment.iloc[0]}").type == "quiz"
    # Mentees: one per registered student, goal = the module at level 5 by the presentation's end.
    assert set(loaded.world.mentees) == {f"s{i}" for i in raw["regs"].id_student}
    assert set(loaded.events.user_id) <= set(loaded.world.mentees)
    m = loaded.world.mentee(f"s{raw['regs'][raw['regs'].code_module == 'AAA'].id_student.iloc[0]}")
    assert any(g.skill_id == "AAA" and g.level == 5 and str(g.deadline) == "2015-06-27" for g in m.goals)


def test_no_item_is_published_after_its_first_event(loaded):
    first = loaded.events.groupby("item_id").timestamp.min()
    pub = pd.Series({r.item_id: pd.Timestamp(r.published_at) for r in loaded.world.catalog.resources})
    assert (pub[first.index] <= first).all()


def test_no_demographic_data_anywhere(loaded, src, monkeypatch):
    cat = loaded.world.catalog
    frames = [loaded.events, loaded.sites, skills_frame(cat.skills.values()), resources_frame(cat.resources),
              mentees_frame(loaded.world.mentees.values())]
    for f in frames:
        assert not set(map(str.lower, f.columns)) & set(DEMOGRAPHICS)
    fields = {f.name for f in dataclasses.fields(next(iter(loaded.world.mentees.values())))}
    assert not fields & set(DEMOGRAPHICS)
    # The file that holds demographics is never opened.
    opened: list[str] = []
    real = pd.read_csv
    monkeypatch.setattr(pd, "read_csv", lambda p, *a, **k: (opened.append(str(p)), real(p, *a, **k))[1])
    plan = load_oulad(src, presentations=["AAA-2013J"], level_from="plan")
    assert opened and not any("studentInfo" in p for p in opened)
    # level_from="plan" takes nothing from the click log: planned week, due date, else level 3.
    assert set(plan.sites.level_source) <= {"plan", "due", "default"}
    sites = plan.sites[plan.sites.item_id.str.startswith("vle-")]
    assert (sites.level[sites.level_source == "default"] == 3).all()
    assert (sites.level_source == "plan").sum() == sites.week_from.notna().sum() > 0


def test_info_progress_and_attribution(loaded):
    info = loaded.info
    assert info["attribution"] == OULAD_ATTRIBUTION and "CC-BY 4.0" in OULAD_ATTRIBUTION
    assert info["presentations"] == PRESENTATIONS
    assert info["events"] == len(loaded.events) == info["views"] + info["assess_events"]
    assert list(loaded.events.columns) == list(EVENT_COLUMNS)
    clicks = [c for c in info["_progress"] if c[0] == "clicks"]
    assert clicks and clicks[-1][1] == clicks[-1][2] == info["rows_in"]["clicks"] == 753_564


def test_bad_arguments_are_config_errors(src, tmp_path):
    with pytest.raises(ConfigError, match="unknown OULAD presentation"):
        load_oulad(src, presentations=["ZZZ-2013J"])
    with pytest.raises(ConfigError, match="not found"):
        load_oulad(tmp_path)
    with pytest.raises(ConfigError, match="min_clicks"):
        load_oulad(src, min_clicks=0)
