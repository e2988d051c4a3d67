"""The hybrid's validation case mirrors TEST's (issue #17): the tuner must see mentees the way TEST
does (the same goals, the same history up to the cut, the same filters), so a weight tuned on
validation means on TEST what it meant there."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from catalog.freshness import catalog_freshness
from recommender.hybrid import hybrid_inputs
from recommender.mastery import MasteryModel
from training.defaults import model_params
from training.evaluate import fit_resolved
from training.hybrid_eval import eval_case, hybrid_inputs_for
from training.splits import SPLITS, split_for, validation_for


@pytest.mark.parametrize("split", SPLITS)
def test_the_validation_case_is_the_test_protocol_applied_to_train(block, split):
    """Cut from TRAIN, validation is what TEST's protocol (same cut rule, same builder) makes of TRAIN."""
    train, _, _ = split_for(block.events, split)
    vtrain, vtest, vnow = validation_for(train, split)
    ttrain, ttest, tnow = split_for(train, split, seed=1)  # validation's seed for the random split
    assert vnow == tnow
    pd.testing.assert_frame_equal(vtrain, ttrain)
    pd.testing.assert_frame_equal(vtest, ttest)
    v = eval_case(block.world, vtrain, vtest, now=vnow, id_events=[train])
    assert v.truth.nnz > 0
    assert not (v.truth.multiply(v.prepared.train.seen)).nnz  # TRAIN-seen items are never truth, as on TEST


def test_validation_mentees_get_the_inputs_test_mentees_get(block):
    """Each validation mentee's blend inputs are built from the world's goals for them, their own
    events before the validation cut and their seen/dismissed items: exactly the recipe of a TEST
    mentee (recomputed here by hand from those three), not a goal-less or history-less variant."""
    world = block.world
    train, _, _ = split_for(block.events, "temporal")
    vtrain, vtest, vnow = validation_for(train, "temporal")
    case = eval_case(world, vtrain, vtest, now=vnow, id_events=[train])
    p = case.prepared
    model = fit_resolved("popularity", p, model_params("popularity"), split="temporal")[0]
    users = np.flatnonzero(np.diff(case.truth.indptr) > 0)[:6]
    assert len(users)
    got = hybrid_inputs_for(model, p, world, users, now=case.now)
    mm = MasteryModel()
    fresh = catalog_freshness(world.catalog, vnow)
    for u, x in zip(users, got):
        uid = p.users.ids[int(u)]
        mentee = world.mentees[uid]
        assert mentee.goals  # the block world gives every mentee a goal: validation must see it
        mine = vtrain[vtrain.user_id == uid]
        assert (pd.to_datetime(mine.timestamp, utc=True) < pd.Timestamp(vnow)).all()
        state = mm.update(mm.initial_state(world.catalog, user_id=uid, self_levels=mentee.self_levels), mine,
                          world.catalog, now=vnow)
        allowed = np.ones(world.catalog.n_items, dtype=bool)
        seen = p.train.seen[int(u)].toarray().ravel() > 0
        allowed[seen | (p.train.dismissed[int(u)].toarray().ravel() > 0)] = False
        cf = np.asarray(model.score([int(u)], p.train.matrix[[int(u)]])[0], dtype=np.float64)
        want = hybrid_inputs(catalog=world.catalog, mentee=mentee, events=mine, now=vnow, state=state, cf_scores=cf,
                             allowed=allowed, freshness=fresh, mastery_model=mm)
        np.testing.assert_array_equal(x.parts, want.parts)
        np.testing.assert_array_equal(x.candidates, want.candidates)
        assert not x.candidates[seen].any()
        # and the goals matter to them: without the goal, the goal parts vanish
        bare = hybrid_inputs(catalog=world.catalog, mentee=replace(mentee, goals=()), events=mine, now=vnow,
                             state=state, cf_scores=cf, allowed=allowed, freshness=fresh, mastery_model=mm)
        assert x.parts[:, 1].any() and not bare.parts[:, 1].any()


@pytest.mark.parametrize("family", ["bpr", "popularity"])
def test_cf_alone_is_the_ride_s_own_list(block, family):
    """With every weight but cf at 0 the hybrid ranks exactly as the model it rides on (where no
    prerequisite bars an item, as in the block world and OULAD): the extra coverage of the OULAD
    default (0.096 vs bpr's 0.062) came from its goal weight, not from the blend's selection."""
    from recommender.hybrid import HybridWeights
    from training.evaluate import rank_users
    from training.hybrid_eval import rank_hybrid

    world = block.world
    assert not world.catalog.prereq_edges.shape[0]
    train, test, now = split_for(block.events, "temporal")
    case = eval_case(world, train, test, now=now, id_events=[block.events])
    p = case.prepared
    model = fit_resolved(family, p, model_params(family), split="temporal")[0]
    users, ranked, _ = rank_users(model, p.train, case.truth, 5)
    got = rank_hybrid(world, hybrid_inputs_for(model, p, world, users, now=case.now),
                      HybridWeights(cf=1.0, goal=0.0, gap=0.0, plan=0.0, explore=0.0, diversity=0.0), 5)
    np.testing.assert_array_equal(got, ranked)
