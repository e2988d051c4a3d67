"""The synthetic world generator: structure, events, determinism, truth and the learning model."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from catalog.catalog import Catalog
from catalog.datadir import DataDir
from catalog.errors import ConfigError
from catalog.freshness import catalog_freshness
from catalog.schema import (EVENT_COLUMNS, EVENT_TYPES, RESOURCE_TYPES, Resource, Skill, SkillLevel, empty_events,
                            parse_goals, parse_levels)
from catalog.synth import SynthConfig, TrueLearningModel, assessment_score, generate
from catalog.synth.skills_data import HALF_LIFE_RANGES, skill_specs
from catalog.writers import save_world

UTC = timezone.utc
SMALL = dict(n_mentees=300, n_items=400, n_mentors=20, days=60)


@pytest.fixture(scope="module")
def small():
    return generate(SynthConfig(seed=3, **SMALL))


# ---------------------------------------------------------------- skills and catalog


def test_default_skill_list_is_large_varied_and_a_dag():
    specs = skill_specs()
    assert 150 <= len(specs) <= 250
    domains = {s.domain for s in specs}
    assert {"languages", "web", "cloud", "databases", "data-engineering", "analytics", "statistics", "ml",
            "deep-learning", "llm", "mlops"} <= domains
    pos = {s.skill_id: k for k, s in enumerate(specs)}
    for s in specs:
        for pid, lvl in s.prereqs:
            assert pos[pid] < pos[s.skill_id]
            assert lvl is None or 2 <= lvl <= 4


def test_forward_prerequisite_is_rejected():
    with pytest.raises(ValueError, match="listed earlier"):
        skill_specs("## x\na | A | T | b:3 | 1\nb | B | T | | 1\n")


def test_skills_have_realistic_half_lives_and_levels(small):
    cat = small.world.catalog
    kind = {s.skill_id: s.kind for s in skill_specs()}
    for sid, skill in cat.skills.items():
        rng_ = HALF_LIFE_RANGES[kind[sid]]
        if rng_ is None:
            assert skill.half_life_days is None
        else:
            assert rng_[0] <= skill.half_life_days <= rng_[1]
        assert all(2 <= p.level <= 4 for p in skill.prerequisites)
    assert cat.skills["rag"].half_life_days <= 240 and cat.skills["linear-algebra"].half_life_days is None
    assert len(cat.graph.order) == cat.n_skills  # Catalog built: the prerequisite graph is acyclic


def test_resources_are_plausible(small):
    cat, cfg = small.world.catalog, small.config
    assert cat.n_items == SMALL["n_items"]
    assert set(cat.types) <= set(RESOURCE_TYPES)
    assert all(1 <= len(r.skills) <= 3 for r in cat.resources)
    assert all(r.published_at < cfg.end and r.published_at >= cfg.end.replace(year=cfg.end.year - cfg.years)
               for r in cat.resources)
    assert all(r.updated_at is None or r.published_at < r.updated_at < cfg.end for r in cat.resources)
    assert 0.0 < (~cat.active).mean() < 0.1
    levels = np.array([r.skills[0].level for r in cat.resources])
    assert np.corrcoef(levels, cat.difficulty)[0, 1] > 0.6  # difficulty tracks level
    dur = pd.Series(cat.duration_minutes, index=cat.types)
    assert dur["course"].median() > 5 * dur["article"].median()
    assert all(r.title and not r.title.endswith(f"({r.type})") for r in cat.resources)  # no type pasted on


def test_mentees_and_mentors(small):
    w = small.world
    assert list(w.mentees)[:2] == ["u00001", "u00002"] and len(w.mentees) == SMALL["n_mentees"]
    for m in w.mentees.values():
        assert 1 <= len(m.goals) <= 3 and all(3 <= g.level <= 5 for g in m.goals)
        assert m.minutes_per_week and m.minutes_per_week >= 30 and m.preferred_types
    assert any(g.deadline for m in w.mentees.values() for g in m.goals)
    assert len(w.mentors) == SMALL["n_mentors"]
    for m in w.mentors.values():
        assert 2 <= len(m.skills) <= 6 and all(3 <= s.level <= 5 for s in m.skills) and 1 <= m.capacity <= 5


# ---------------------------------------------------------------- events


def test_events_follow_the_schema(small):
    ev = small.events
    assert tuple(ev.columns) == EVENT_COLUMNS
    assert str(ev["timestamp"].dtype) == "datetime64[us, UTC]" and ev["value"].dtype == np.float64
    assert set(ev["event_type"]) == set(EVENT_TYPES)
    assert ev["event_id"].is_unique and ev["event_id"].iloc[0] == "e000000001"
    assess = ev.loc[ev.event_type == "assess", "value"]
    assert assess.notna().all() and assess.between(0, 100).all()
    likes = ev.loc[ev.event_type == "like", "value"].dropna()
    assert likes.isin([1, 2, 3, 4, 5]).all() and len(likes) > 0
    assert ev.loc[~ev.event_type.isin(["assess", "like"]), "value"].isna().all()
    assert (ev["source"] == "synth").all()


def test_events_only_on_existing_items_and_users_within_time(small):
    ev, cat, cfg = small.events, small.world.catalog, small.config
    assert ev["item_id"].isin(set(cat.items)).all()
    assert ev["user_id"].isin(set(small.world.mentees)).all()
    assert ev["timestamp"].min() >= pd.Timestamp(cfg.start) and ev["timestamp"].max() < pd.Timestamp(cfg.end)
    assert ev["timestamp"].is_monotonic_increasing
    pub = pd.Series(cat.published_us, index=cat.items.ids)
    ts_us = ev["timestamp"].astype("int64").to_numpy()
    assert (ts_us >= pub[ev["item_id"]].to_numpy()).all()  # nothing is seen before it is published


def test_funnel_order_per_user_and_item(small):
    ev = small.events
    first = ev.groupby(["user_id", "item_id", "event_type"])["timestamp"].min().unstack()
    for a, b in [("impression", "view"), ("view", "start"), ("start", "complete"), ("complete", "assess")]:
        both = first[[a, b]].dropna()
        assert len(both) > 0 and (both[a] <= both[b]).all(), (a, b)
    starts = ev[ev.event_type == "start"]
    assert not starts.duplicated(["user_id", "item_id"]).any()  # started items are not offered again


def test_deterministic_for_a_seed(small):
    again = generate(SynthConfig(seed=3, **SMALL))
    pd.testing.assert_frame_equal(again.events, small.events)
    pd.testing.assert_frame_equal(again.truth, small.truth)
    assert again.world.catalog.resources == small.world.catalog.resources
    assert list(again.world.mentees.values()) == list(small.world.mentees.values())
    other = generate(SynthConfig(seed=4, **SMALL))
    assert not other.events.equals(small.events)
    assert other.world.catalog.resources != small.world.catalog.resources


def test_tiny_world_still_gives_canonical_frames():
    sw = generate(SynthConfig(n_mentees=1, n_items=1, n_mentors=0, days=1))
    assert sw.events.dtypes.equals(empty_events().dtypes)
    assert len(sw.truth) == sw.world.catalog.n_skills and sw.world.mentors == {}


def test_config_is_validated():
    with pytest.raises(ConfigError, match="n_items"):
        SynthConfig(n_items=0)
    with pytest.raises(ConfigError, match="end"):
        SynthConfig(end="not a date")
    assert SynthConfig(end="2025-01-01").end == datetime(2025, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- truth


def test_truth_is_bounded_and_learning_shows(small):
    t, w = small.truth, small.world
    assert list(t.columns) == ["user_id", "skill_id", "mastery_start", "mastery_end"]
    assert len(t) == len(w.mentees) * w.catalog.n_skills
    assert t[["mastery_start", "mastery_end"]].stack().between(0, 1).all()
    assert (t.mastery_end >= t.mastery_start).all()  # no forgetting
    gain = (t.mastery_end - t.mastery_start).groupby(t.user_id).sum()
    completes = small.events[small.events.event_type == "complete"].groupby("user_id").size()
    completes = completes.reindex(gain.index, fill_value=0)
    assert gain[completes == 0].max() == 0.0
    assert gain.rank().corr(completes.rank()) > 0.5  # Spearman, without importing scipy.stats


def test_self_levels_track_true_mastery(small):
    t = small.truth.set_index(["user_id", "skill_id"])["mastery_start"]
    pairs = [(sl.level, t[(m.user_id, sl.skill_id)]) for m in small.world.mentees.values() for sl in m.self_levels]
    lv, ms = np.array(pairs).T
    assert np.corrcoef(lv, ms)[0, 1] > 0.7


# ---------------------------------------------------------------- the true learning model


@pytest.fixture
def model(tiny_catalog):
    return TrueLearningModel.from_catalog(tiny_catalog)


def _levels(cat: Catalog, **taught: int) -> np.ndarray:
    v = np.zeros(cat.n_skills)
    for sid, lvl in taught.items():
        v[cat.skill_ids.index(sid.replace("_", "-"))] = lvl
    return v


def test_prerequisites_gate_learning(tiny_catalog, model):
    cat = tiny_catalog
    m = np.full(cat.n_skills, 0.05)
    ready = m.copy()
    ready[cat.skill_ids.index("python")] = 0.7
    ready[cat.skill_ids.index("sql")] = 0.5
    item = _levels(cat, pandas=1)
    j = cat.skill_ids.index("pandas")
    gated = model.expected_gain(m, item)[j]
    full = model.expected_gain(ready, item)[j]
    assert model.readiness(ready)[j] == pytest.approx(1.0)
    assert full > 10 * gated > 0


def test_content_at_the_right_level_teaches_most(tiny_catalog, model):
    cat = tiny_catalog
    j = cat.skill_ids.index("python")  # a root skill: no prerequisites in the way
    for mastery in (0.1, 0.3, 0.5, 0.7):
        m = np.full(cat.n_skills, mastery)
        gains = [model.expected_gain(m, _levels(cat, python=lvl))[j] for lvl in range(1, 6)]
        best = int(np.argmax(gains)) + 1
        assert best == min(lvl for lvl in range(1, 6) if lvl / 5 > mastery), (mastery, gains)
    m = np.full(cat.n_skills, 0.2)
    far_too_hard = model.expected_gain(m, _levels(cat, python=5))[j]
    assert far_too_hard < 0.2 * model.expected_gain(m, _levels(cat, python=2))[j]


def test_stale_content_in_fast_moving_skills_teaches_less():
    d = lambda y: datetime(y, 1, 1, tzinfo=UTC)  # noqa: E731
    skills = [Skill("maths", "Maths", half_life_days=None), Skill("prompting", "Prompting", half_life_days=120.0)]
    res = [Resource("m-old", "", "book", (SkillLevel("maths", 2),), d(2016)),
           Resource("m-new", "", "book", (SkillLevel("maths", 2),), d(2026)),
           Resource("p-old", "", "article", (SkillLevel("prompting", 2),), d(2023)),
           Resource("p-new", "", "article", (SkillLevel("prompting", 2),), d(2026))]
    cat = Catalog(skills, res)
    model = TrueLearningModel.from_catalog(cat)
    fresh = catalog_freshness(cat, datetime(2026, 6, 1, tzinfo=UTC))
    levels = TrueLearningModel.item_levels(cat, np.arange(4))
    m = np.full((4, cat.n_skills), 0.25)
    gain = model.expected_gain(m, levels, fresh).max(axis=1)
    assert gain[0] == pytest.approx(gain[1])          # evergreen: age does not matter
    assert gain[2] < 0.5 * gain[3]                    # fast-moving and stale: teaches less


def test_study_is_bounded_monotone_and_batch_consistent(tiny_catalog, model):
    cat = tiny_catalog
    rng = np.random.default_rng(0)
    m = rng.random((5, cat.n_skills))
    levels = TrueLearningModel.item_levels(cat, np.arange(5))
    after = model.study(m, levels, 0.8, duration_minutes=60)
    assert ((after >= m) & (after <= 1)).all()
    assert (after[levels == 0] == m[levels == 0]).all()  # untaught skills do not move
    one = model.study(m[2], levels[2], 0.8, duration_minutes=60)
    np.testing.assert_allclose(one, after[2])
    noisy_a = model.study(m, levels, 0.8, np.random.default_rng(1))
    noisy_b = model.study(m, levels, 0.8, np.random.default_rng(1))
    np.testing.assert_array_equal(noisy_a, noisy_b)
    short = model.expected_gain(m, levels, duration_minutes=10).sum()
    assert short < model.expected_gain(m, levels, duration_minutes=300).sum()
    with pytest.raises(ConfigError):
        model.study(np.zeros(3), np.zeros(3))


def test_assessment_score_rises_with_mastery():
    s = assessment_score(np.array([0.1, 0.4, 0.6, 0.9]), np.array([3, 3, 3, 3]))
    assert (np.diff(s) > 0).all() and 0 <= s.min() and s.max() <= 100
    assert 60 < s[2] < 85  # mastery at the level's target scores a pass, not full marks


# ---------------------------------------------------------------- files


def test_world_round_trips_through_csv(small, tmp_path):
    dd = DataDir(tmp_path)
    save_world(small.world, dd)
    cat = small.world.catalog
    skills = pd.read_csv(dd.skills, keep_default_na=False)
    assert skills.skill_id.tolist() == cat.skill_ids.to_list()
    for row in skills.itertuples():
        assert parse_levels(row.prerequisites) == cat.skills[row.skill_id].prerequisites
    res = pd.read_csv(dd.resources, keep_default_na=False, dtype=str)
    assert res.item_id.tolist() == cat.items.to_list()
    assert [parse_levels(s) for s in res.skills] == [r.skills for r in cat.resources]
    assert (res.active == "false").sum() == int((~cat.active).sum())
    mentees = pd.read_csv(dd.mentees, keep_default_na=False)
    assert [parse_goals(g) for g in mentees.goals] == [m.goals for m in small.world.mentees.values()]
    assert len(pd.read_csv(dd.mentors)) == len(small.world.mentors)
