"""The filter-free hybrid half advanced past events (recommender.hybrid.advance) equals one rebuilt from scratch."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
import pytest

from catalog.freshness import catalog_freshness
from catalog.synth import SynthConfig, generate
from recommender.context import event_rows, mentee_context
from recommender.hybrid import DEFAULT_WEIGHTS, HybridWeights, hybrid_reasons
from recommender.hybrid.advance import advance_next_up
from recommender.hybrid.prepared import prepare_next_up
from recommender.mastery import MasteryModel

KINDS = ["view"] * 12 + ["like", "start", "impression", "complete", "assess", "dismiss"]


@pytest.fixture(scope="module", params=[600, 2500], ids=["600-items", "2500-items"])
def world(request):
    return generate(SynthConfig(seed=11, n_mentees=40, n_items=request.param, n_mentors=3, days=60, sessions=False))


def _fields(p):
    return (p.u.tolist(), p.cf.tolist(), p.ready.tolist(), p.plannable.tolist(), p.marked.tolist(),
            p.goal.astype(float).tolist(), p.gap.astype(float).tolist(), p.levels.tolist(), p.skill_ok.tolist(),
            p.plan, p.now, p.mentee, p.user_key, p.all_scored)


def _same_lists(a, b, cat, goals):
    assert a.chosen.items.tolist() == b.chosen.items.tolist()
    assert np.array_equal(a.chosen.relevance, b.chosen.relevance)
    assert np.array_equal(a.chosen.parts, b.chosen.parts)
    assert a.chosen.chosen_by == b.chosen.chosen_by
    assert a.path == b.path
    assert hybrid_reasons(cat, a, goals) == hybrid_reasons(cat, b, goals)


def _plan_equal(a, b):
    if a is None or b is None:
        return a is b
    return (np.array_equal(a.plan_state.p, b.plan_state.p) and a.plan_state.threshold == b.plan_state.threshold
            and a.progress == b.progress and a.failed == b.failed and a.completed.tolist() == b.completed.tolist()
            and a.dismissed.tolist() == b.dismissed.tolist() and a.minutes_per_week == b.minutes_per_week)


@pytest.mark.parametrize("weights", [DEFAULT_WEIGHTS, HybridWeights(explore=0.3, diversity=0.1)],
                         ids=["default", "explore"])
def test_advanced_half_equals_a_rebuild_after_random_events(world, weights):
    """Random events (mostly views, some evidence), a clock moving by minutes to days and new scores each
    time: whenever the last half is advanced it equals the rebuilt one field for field and in every answer;
    evidence (or a clock that crosses a publication or a practice due date) makes it decline."""
    w, cat = world.world, world.world.catalog
    mm = MasteryModel()
    end = world.config.end
    users = [u for u in sorted(w.mentees) if w.mentees[u].goals][:6]
    rng = np.random.default_rng(7)
    filters = [None, cat.types == "video", cat.duration_minutes <= 30, rng.random(cat.n_items) < 0.5]
    advanced = declined = reused = 0
    for uid in users:
        now = end - timedelta(days=20)
        rows = [r for r in event_rows(world.events, uid) if r[3] <= int(now.timestamp() * 1e6)]
        fresh_view = catalog_freshness(cat, now)
        base = cat.available_at(now)  # the view's availability, fixed between its refreshes
        prev = prev_ctx = prev_cf = None
        for step in range(14):
            same_scores = step % 3 == 2  # the model folded the event in to the same vector (an impression)
            if same_scores:
                cf = prev_cf
            else:
                cf = rng.normal(size=cat.n_items)
                if step % 5 == 4:
                    cf[::41] = np.nan  # a model that cannot score some items
            ctx = mentee_context(w, uid, now=now, events=tuple(rows))
            mentee = dataclasses.replace(ctx.mentee, goals=ctx.goals)
            allowed = base.copy()
            allowed[ctx.exclude] = False
            fresh = prepare_next_up(catalog=cat, mentee=mentee, events=ctx.events, now=now, state=ctx.mastery(mm),
                                    cf_scores=cf, allowed=allowed, freshness=fresh_view, mastery_model=mm,
                                    explore=weights.explore > 0)
            got = None
            if prev is not None:
                got = advance_next_up(prev, mentee=mentee, rows_before=prev_ctx.rows, read_before=prev_ctx.n_upto_now,
                                      rows=ctx.rows, read=ctx.n_upto_now, now=now,
                                      cf_scores=None if same_scores else cf, allowed=allowed,
                                      excluded_before=prev_ctx.exclude, excluded=ctx.exclude, mastery_model=mm)
                declined += got is None
            if got is not None:
                advanced += 1
                reused += same_scores
                a, b = _fields(got), _fields(fresh)
                assert a[:9] == b[:9] and a[10:] == b[10:]
                assert _plan_equal(got.plan, fresh.plan)
                for keep in filters:
                    for k in (1, 10):
                        _same_lists(got.select(keep, k, weights), fresh.select(keep, k, weights), cat, mentee.goals)
            prev, prev_ctx, prev_cf = (got if got is not None else fresh), ctx, cf
            # the next event: a random item and kind, at or a little before the new clock
            now = now + timedelta(minutes=int(rng.choice([1, 30, 90, 60 * 24 * 3])))
            kind = str(rng.choice(KINDS))
            item = str(cat.items.ids[int(rng.integers(cat.n_items))])
            value = float(rng.integers(30, 100)) if kind == "assess" else None
            ts = int((now - timedelta(seconds=int(rng.integers(0, 30)))).timestamp() * 1e6)
            rows.append((item, kind, value, ts))
            rows.sort(key=lambda r: r[3])
    assert advanced >= 20 and declined >= 5 and reused >= 5  # every path ran



def _half(world, w):
    """A mentee with goals five days before the world's end, their context and filter-free half over ``w``."""
    cat, mm = w.catalog, MasteryModel()
    now = world.config.end - timedelta(days=5)
    uid = next(u for u in sorted(w.mentees) if w.mentees[u].goals)
    rows = tuple(r for r in event_rows(world.events, uid) if r[3] <= int(now.timestamp() * 1e6))
    ctx = mentee_context(w, uid, now=now, events=rows)
    mentee = dataclasses.replace(ctx.mentee, goals=ctx.goals)
    allowed = cat.available_at(now).copy()
    allowed[ctx.exclude] = False
    cf = np.random.default_rng(0).normal(size=cat.n_items)
    prep = prepare_next_up(catalog=cat, mentee=mentee, events=ctx.events, now=now, state=ctx.mastery(mm), cf_scores=cf,
                           allowed=allowed, freshness=catalog_freshness(cat, now), mastery_model=mm)
    return mm, now, uid, rows, ctx, mentee, allowed, cf, prep

def test_declines_what_it_cannot_carry(world):
    """An assessment, a forgetting model, a changed profile and an exclusion that disappears each decline."""
    w, cat = world.world, world.world.catalog
    mm, now, uid, rows, ctx, mentee, allowed, cf, prep = _half(world, w)
    later = now + timedelta(minutes=1)
    t = int(later.timestamp() * 1e6)
    item = str(cat.items.ids[0])

    def adv(new_rows, *, model=mm, m=mentee, excluded=None, excluded_before=ctx.exclude):
        c = mentee_context(w, uid, now=later, events=new_rows)
        return advance_next_up(prep, mentee=m, rows_before=rows, read_before=ctx.n_upto_now, rows=c.rows,
                               read=c.n_upto_now, now=later, cf_scores=cf, allowed=allowed,
                               excluded_before=excluded_before, excluded=c.exclude if excluded is None else excluded,
                               mastery_model=model)

    assert adv((*rows, (item, "view", None, t))) is not None
    assert adv((*rows, (item, "assess", 90.0, t))) is None
    assert adv((*rows, (item, "view", None, t)), model=MasteryModel(forgetting_half_life_days=30.0)) is None
    assert adv((*rows, (item, "view", None, t)), m=dataclasses.replace(mentee, minutes_per_week=999)) is None
    assert adv(rows[1:] + ((item, "view", None, t),)) is None  # the old rows are not the first of the new
    assert adv((*rows, (item, "view", None, t)), excluded_before=np.array([cat.n_items - 1]),
               excluded=np.zeros(0, np.int64)) is None


def test_declines_when_a_resource_is_published_between_the_clocks(world):
    """A resource published after the half was built may be planned now: the half is rebuilt, not advanced."""
    w, cat0 = world.world, world.world.catalog
    now = world.config.end - timedelta(days=5)
    cat = cat0.with_resources({0: dataclasses.replace(cat0.resources[0], published_at=now + timedelta(minutes=5))})
    w = dataclasses.replace(w, catalog=cat)
    mm, now, uid, rows, ctx, mentee, allowed, cf, prep = _half(world, w)
    for minutes, carried in ((4, True), (6, False)):
        later = now + timedelta(minutes=minutes)
        got = advance_next_up(prep, mentee=mentee, rows_before=rows, read_before=ctx.n_upto_now, rows=rows,
                              read=ctx.n_upto_now, now=later, cf_scores=cf, allowed=allowed, excluded_before=ctx.exclude,
                              excluded=ctx.exclude, mastery_model=mm)
        assert (got is not None) is carried
