"""The two-half hybrid list (prepared once per context, selected per filter) equals the reference path."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from catalog.freshness import catalog_freshness
from catalog.synth import SynthConfig, generate
from recommender.hybrid import DEFAULT_WEIGHTS, HybridWeights, blend, hybrid_next_up, hybrid_reasons
from recommender.hybrid import prepared as prepared_mod
from recommender.hybrid.prepared import prepare_next_up
from recommender.mastery import MasteryModel

WEIGHTS = [DEFAULT_WEIGHTS, HybridWeights(), HybridWeights(cf=0.0, goal=1.0, gap=0.5, plan=1.0, diversity=0.2),
           HybridWeights(explore=0.3, diversity=0.1)]


@pytest.fixture(scope="module")
def small_world():
    return generate(SynthConfig(seed=5, n_mentees=80, n_items=600, n_mentors=5, days=60, sessions=False))


def _setup(world, events, user_id, now):
    cat = world.catalog
    mentee = world.mentee(user_id)
    ev = events[events["user_id"] == user_id]
    mm = MasteryModel()
    state = mm.update(mm.initial_state(cat, user_id=user_id, self_levels=mentee.self_levels), ev, cat, now=now)
    cf = np.random.default_rng(len(user_id)).normal(size=cat.n_items)
    cf[::37] = np.nan  # items the model never recommends
    seen = cat.items.indices(list(ev["item_id"].unique()), missing="-1")
    allowed = cat.available_at(now).copy()
    allowed[seen[seen >= 0]] = False
    return dict(catalog=cat, mentee=mentee, events=ev, now=now, state=state, cf_scores=cf,
                freshness=catalog_freshness(cat, now), mastery_model=mm), allowed


def _filters(cat, ref_path, rng):
    """No filter, the catalog filters a request can send, random cuts, and cuts that remove planned steps."""
    out = [None, cat.types == "video", np.isin(cat.types, ["article", "course"]), cat.duration_minutes <= 30,
           rng.random(cat.n_items) < 0.5]
    for st in ref_path.steps[:3]:
        keep = np.ones(cat.n_items, dtype=bool)
        keep[st.item_index] = False
        out.append(keep)
    return out


def _same(a, b, cat, goals):
    assert a.chosen.items.tolist() == b.chosen.items.tolist()
    assert np.array_equal(a.chosen.relevance, b.chosen.relevance)  # bit for bit, not approximately
    assert np.array_equal(a.chosen.parts, b.chosen.parts)
    assert a.chosen.chosen_by == b.chosen.chosen_by
    assert a.path == b.path
    assert np.array_equal(a.levels, b.levels)
    assert hybrid_reasons(cat, a, goals) == hybrid_reasons(cat, b, goals)


@pytest.mark.parametrize("cut", [False, True], ids=["catalog-wide", "top-cf-cut"])
def test_filtered_select_equals_the_reference_path_with_that_filter(small_world, monkeypatch, cut):
    """prepare(allowed).select(F) == hybrid_next_up(allowed & F) for every filter, weight and mentee, including
    filters that remove a planned step (a re-plan) and, with a small TOP_CF, the CF part's top-score cut."""
    if cut:  # candidates outnumber TOP_CF here, so the cut and the pool bound are exercised
        monkeypatch.setattr(blend, "TOP_CF", 40)
        monkeypatch.setattr(prepared_mod, "TOP_CF", 40)
        monkeypatch.setattr(blend, "CANDIDATES", 25)
    world, events, now = small_world.world, small_world.events, small_world.config.end
    users = [u for u in sorted(world.mentees) if world.mentees[u].goals][:12]
    assert len(users) >= 8
    rng = np.random.default_rng(1)
    checked = replanned = 0
    for uid in users:
        args, allowed = _setup(world, events, uid, now)
        goals = args["mentee"].goals
        for w in WEIGHTS:
            prep = prepare_next_up(**args, allowed=allowed, explore=w.explore > 0)
            base = hybrid_next_up(**args, allowed=allowed, k=10, weights=w)
            for keep in _filters(world.catalog, base.path, rng):
                ref = hybrid_next_up(**args, allowed=allowed if keep is None else allowed & keep, k=10, weights=w)
                got = prep.select(keep, 10, w)
                _same(got, ref, world.catalog, goals)
                checked += 1
                replanned += ref.path != base.path
    assert checked >= 8 * len(WEIGHTS) * 5
    assert replanned > 0  # some filters changed the plan, and the prepared half followed


def test_prepared_holds_only_the_items_a_list_can_use(small_world):
    """The remembered half is compact: its items are the ready candidates and the plannable items only."""
    world, events, now = small_world.world, small_world.events, small_world.config.end
    uid = next(u for u in sorted(world.mentees) if world.mentees[u].goals)
    args, allowed = _setup(world, events, uid, now)
    prep = prepare_next_up(**args, allowed=allowed)
    assert len(prep.u) < world.catalog.n_items
    assert np.all(prep.ready | prep.plannable)
    assert prep.goal.dtype == np.float16 and prep.nbytes < world.catalog.n_items * 20
    no_goals = prepare_next_up(**{**args, "mentee": dataclasses.replace(args["mentee"], goals=())}, allowed=allowed)
    assert no_goals.plan is None and not no_goals.plannable.any()
