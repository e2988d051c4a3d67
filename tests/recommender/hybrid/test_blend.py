"""The hybrid blend: goals lift their items, prerequisites are never violated, lists are diverse."""

from __future__ import annotations

import dataclasses


import numpy as np

import pytest

from catalog.errors import ConfigError
from catalog.freshness import catalog_freshness
from catalog.schema import Goal
from catalog.synth import SynthConfig, generate
from recommender.hybrid import HybridWeights, hybrid_next_up, hybrid_reasons, mmr_select, ready_items
from recommender.hybrid.blend import blend_parts
from recommender.mastery import MasteryModel


@pytest.fixture(scope="module")
def small_world():
    sw = generate(SynthConfig(seed=3, n_mentees=120, n_items=400, n_mentors=5, days=60, sessions=False))
    return sw


def _run(world, events, user_id, now, *, goals=None, k=10, weights=HybridWeights(), cf=None):
    cat = world.catalog
    mentee = world.mentee(user_id)
    if goals is not None:
        mentee = dataclasses.replace(mentee, goals=tuple(goals))
    ev = events[events["user_id"] == user_id]
    mm = MasteryModel()
    state = mm.update(mm.initial_state(cat, user_id=user_id, self_levels=mentee.self_levels), ev, cat, now=now)
    rng = np.random.default_rng(0)
    scores = rng.normal(size=cat.n_items) if cf is None else cf
    seen = cat.items.indices(list(ev["item_id"].unique()), missing="-1")
    allowed = cat.available_at(now).copy()
    allowed[seen[seen >= 0]] = False
    res = hybrid_next_up(catalog=cat, mentee=mentee, events=ev, now=now, state=state, cf_scores=scores,
                         allowed=allowed, freshness=catalog_freshness(cat, now), k=k, weights=weights)
    return res, mentee


def test_goal_items_rise_when_a_goal_is_set(small_world):
    world, events, now = small_world.world, small_world.events, small_world.config.end
    cat = world.catalog
    uid = sorted(world.mentees)[0]
    # a goal skill the mentee can start now (no prerequisites)
    roots = [s for s in cat.graph.order if not cat.graph.prereqs[s]]
    goal = roots[-1]
    teaches = np.asarray(cat.item_skill_levels[:, cat.skill_ids.index(goal)].todense()).ravel() > 0
    without, _ = _run(world, events, uid, now, goals=[])
    with_goal, mentee = _run(world, events, uid, now, goals=[Goal(goal, 5)])
    n_without = int(teaches[without.chosen.items].sum())
    n_with = int(teaches[with_goal.chosen.items].sum())
    assert n_with > n_without
    assert n_with >= 3
    reasons = hybrid_reasons(cat, with_goal, mentee.goals)
    assert all(r[0].startswith("chosen ") for r in reasons)
    assert any("learning path" in r[0] or "goal" in r[0] or "gap" in r[0] for r in reasons)


def test_prerequisites_never_violated(small_world):
    world, events, now = small_world.world, small_world.events, small_world.config.end
    cat = world.catalog
    g = cat.graph
    checked = 0
    for uid in sorted(world.mentees)[:25]:
        res, _ = _run(world, events, uid, now)
        lv = res.levels
        planned = {st.item_index: st.skill_id for st in res.path.steps}
        for i in res.chosen.items.tolist():
            skill = planned.get(i, cat.resources[i].skills[0].skill_id)  # the step's skill, else the main one
            for q in g.prereqs[skill]:
                assert lv[cat.skill_ids.index(q.skill_id)] >= q.level, (uid, cat.resources[i].item_id, q)
            checked += 1
    assert checked >= 200


def test_prerequisites_block_even_the_best_model_score(small_world):
    cat = small_world.world.catalog
    levels = np.zeros(cat.n_skills, dtype=np.int64)
    ready = ready_items(cat, levels)
    assert ready.any() and not ready.all()
    cf = np.where(ready, 0.0, 100.0)  # the model loves every item the mentee is not ready for
    parts = blend_parts(cat, cf_scores=cf, candidates=ready, levels=levels, goals=(), plan_items=[])
    out = mmr_select(cat, parts, ready, 10, HybridWeights())
    assert ready[out.items].all()


def test_diversity_spreads_the_list_over_skills(small_world):
    cat = small_world.world.catalog
    # a model that loves one skill: every item of that skill scores above everything else
    per_skill = np.diff(cat.item_skill_levels.tocsc().indptr)
    first = int(np.argmax(per_skill))
    on = np.asarray(cat.item_skill_levels[:, first].todense()).ravel() > 0
    assert on.sum() >= 10
    cf = np.where(on, 10.0, 0.0) + np.random.default_rng(1).random(cat.n_items)
    everything = np.ones(cat.n_items, dtype=bool)
    levels = np.full(cat.n_skills, 5, dtype=np.int64)
    parts = blend_parts(cat, cf_scores=cf, candidates=everything, levels=levels, goals=(), plan_items=[])
    plain = mmr_select(cat, parts, everything, 10, HybridWeights(diversity=0.0))
    mixed = mmr_select(cat, parts, everything, 10, HybridWeights(diversity=1.0))
    skills = lambda r: {s.skill_id for i in r.items for s in cat.resources[int(i)].skills}  # noqa: E731
    assert on[plain.items].all()
    assert len(skills(mixed)) >= len(skills(plain)) + 3
    assert "diversity" in mixed.chosen_by and "diversity" not in plain.chosen_by


def test_planner_first_step_leads_with_default_weights(small_world):
    world, events, now = small_world.world, small_world.events, small_world.config.end
    hits = 0
    n = 0
    for uid in sorted(world.mentees)[:15]:
        res, _ = _run(world, events, uid, now)
        if res.path.steps and len(res.chosen.items):
            n += 1
            hits += int(res.chosen.items[0] == res.path.steps[0].item_index)
    assert n >= 5 and hits >= n - 1


def test_constant_model_scores_do_not_decide(small_world):
    world, events, now = small_world.world, small_world.events, small_world.config.end
    cat = world.catalog
    res, _ = _run(world, events, sorted(world.mentees)[2], now, cf=np.zeros(cat.n_items))
    assert len(set(np.round(res.chosen.parts[:, 0], 9))) == 1  # one percentile for every tie


def test_weights_are_validated():
    with pytest.raises(ConfigError):
        HybridWeights(cf=-1)
    with pytest.raises(ConfigError):
        HybridWeights(cf=0, goal=0, gap=0, plan=0)


def test_empty_candidates(tiny_catalog):
    parts = np.zeros((tiny_catalog.n_items, 4))
    out = mmr_select(tiny_catalog, parts, np.zeros(tiny_catalog.n_items, bool), 5, HybridWeights())
    assert len(out.items) == 0



def test_mmr_pool_matches_sorting_every_candidate(small_world):
    """The pool taken from the items at or above the CANDIDATES-th relevance equals sorting them all
    (relevance, then the CF part, then the index), ties at the boundary included."""
    from recommender.hybrid.blend import CANDIDATES, PARTS

    cat = small_world.world.catalog
    rng = np.random.default_rng(5)
    w = HybridWeights(cf=1.0, goal=1.0, gap=0.5, plan=1.0, diversity=0.0)  # no diversity: the pool order shows
    for trial in range(20):
        parts = np.round(rng.random((cat.n_items, len(PARTS))), 1)  # coarse values: many ties
        parts[rng.random(cat.n_items) < 0.5, 1:] = 0.0
        cand = rng.random(cat.n_items) < 0.9
        k = int(rng.integers(1, CANDIDATES + 50))
        got = mmr_select(cat, parts, cand, k, w)
        idx = np.flatnonzero(cand)
        rel = parts @ w.as_array()
        expected = idx[np.lexsort((idx, -parts[idx, 0], -rel[idx]))][:k]
        assert got.items.tolist() == expected.tolist(), trial


def _full_percentile(scores, ok):
    """The reference: every candidate's rank percentile (ties share the lower rank)."""
    out = np.zeros(len(scores))
    idx = np.flatnonzero(ok)
    _, inv, counts = np.unique(scores[idx], return_inverse=True, return_counts=True)
    out[idx] = (np.cumsum(counts) - counts + 1)[inv] / len(idx)
    return out


def test_cf_part_where_it_decides_gives_the_lists_of_every_percentile(small_world, monkeypatch):
    """blend_parts computes the CF percentile only for marked items and the best TOP_CF by score;
    the lists equal those from every candidate's percentile, for any weights (CF off included)."""
    import recommender.hybrid.blend as blend

    monkeypatch.setattr(blend, "TOP_CF", 250)  # the small world has 400 items: make the cut bite
    cat = small_world.world.catalog
    rng = np.random.default_rng(11)
    levels = np.zeros(cat.n_skills, dtype=np.int64)
    goals = (Goal(cat.skill_ids.ids[-1], 3),)
    for trial in range(10):
        cf = np.round(rng.normal(size=cat.n_items), 1)  # ties
        cf[rng.random(cat.n_items) < 0.05] = np.nan
        cand = rng.random(cat.n_items) < 0.9
        parts = blend_parts(cat, cf_scores=cf, candidates=cand, levels=levels, goals=goals, plan_items=[3, 7])
        ok = cand & np.isfinite(cf)
        ref = parts.copy()
        ref[:, 0] = _full_percentile(cf, ok)
        marked = parts[:, 0] > 0
        assert np.array_equal(parts[marked, 0], ref[marked, 0])
        for w in (HybridWeights(), HybridWeights(cf=0.0, goal=1.0, diversity=0.0), HybridWeights(cf=3.0, plan=0.0)):
            for k in (1, 10, 240):
                assert mmr_select(cat, parts, ok, k, w).items.tolist() == mmr_select(cat, ref, ok, k, w).items.tolist()
