from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.catalog import Catalog
from catalog.errors import ConfigError, UnknownSkillError
from catalog.freshness import catalog_freshness
from catalog.schema import Goal, Mentee, Resource, Skill, SkillLevel
from recommender.mastery import BKTParams, MasteryModel, MasteryState, level_of
from recommender.paths.credit import FULL_CREDIT
from recommender.paths.planner import LearningPath, format_age, next_up, plan_path
from recommender.paths.replan import failed_assessments, mentee_history, progress_levels, replan

UTC = timezone.utc
NOW = datetime(2026, 11, 1, tzinfo=UTC)
MODEL = MasteryModel(BKTParams(prior=0.1, learn=0.1, slip=0.1, guess=0.2))


def _state(cat: Catalog, levels: dict[str, int] | None = None) -> MasteryState:
    return MODEL.initial_state(cat, user_id="u", self_levels=[SkillLevel(s, L) for s, L in (levels or {}).items()])


def _plan(cat: Catalog, goals, *, state=None, scores=None, fresh=None, **kw) -> LearningPath:
    args = dict(mentee_state=state or _state(cat), goals=goals, catalog=cat,
                scores=np.zeros(cat.n_items) if scores is None else scores,
                freshness=np.ones(cat.n_items) if fresh is None else fresh,
                minutes_per_week=120, horizon_weeks=52, now=NOW, max_steps=50)
    args.update(kw)
    return plan_path(**args)


def _simulated_levels(path: LearningPath, cat: Catalog, start: dict[str, int], stretch: int) -> list[dict[str, int]]:
    """Expected level of every skill before each step (and after the last), by the planner's rule."""
    cur, out = dict(start), [dict(start)]
    m = cat.item_skill_levels.tocsr()
    for step in path.steps:
        i = step.item_index
        for j, L in zip(m.indices[m.indptr[i]:m.indptr[i + 1]], m.data[m.indptr[i]:m.indptr[i + 1]]):
            s = cat.skill_ids.to_ids([j])[0]
            if cur[s] < int(L) <= cur[s] + 1 + stretch:
                cur[s] = int(L)
        out.append(dict(cur))
    return out


# ------------------------------------------------------------------ property-based


@st.composite
def worlds(draw):
    """A random prerequisite DAG (edges only to earlier skills), a catalog with a (partial)
    level ladder per skill plus some multi-skill items, a mastery state and planning options.

    Hypothesis favours small draws, so each draw is arranged for its simplest value to give a
    rich case (many skills, edges, full ladders, room in the budget)."""
    n_sk = 7 - draw(st.integers(0, 6))
    skills = []
    for k in range(n_sk):
        pre = tuple(SkillLevel(f"s{q}", draw(st.integers(1, 4))) for q in range(k) if draw(st.integers(0, 2)) != 2)
        skills.append(Skill(f"s{k}", f"Skill {k}", prerequisites=pre))
    tagged: list[tuple[SkillLevel, ...]] = []
    for k in range(n_sk):
        levels = [1, 2, 3, 4, 5] if draw(st.integers(0, 4)) < 4 else draw(st.lists(st.integers(1, 5), max_size=5))
        tagged += [(SkillLevel(f"s{k}", L),) for L in levels]
    for _ in range(draw(st.integers(0, 4))):
        ks = draw(st.lists(st.integers(0, n_sk - 1), min_size=1, max_size=2, unique=True))
        tagged.append(tuple(SkillLevel(f"s{t}", draw(st.integers(1, 5))) for t in ks))
    res = [Resource(f"i{i}", f"Item {i}", draw(st.sampled_from(["video", "article", "course"])), tags,
                    NOW - timedelta(days=draw(st.integers(0, 2000))), duration_minutes=draw(st.integers(1, 240)),
                    active=draw(st.integers(0, 9)) < 9)
           for i, tags in enumerate(tagged)]
    cat = Catalog(skills, res)
    n = cat.n_items
    p = np.array([draw(st.sampled_from([0.1, 0.02, 0.2, 0.3, 0.45, 0.6, 0.97])) for _ in range(n_sk)])
    goal_skills = draw(st.lists(st.integers(n_sk // 2, n_sk - 1), min_size=1, max_size=3, unique=True))
    goals = [Goal(f"s{g}", draw(st.sampled_from([3, 5, 1, 2, 4]))) for g in goal_skills]
    subset = st.lists(st.integers(0, n - 1), max_size=3, unique=True) if n else st.just([])
    kw = dict(
        scores=np.array(draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n))),
        fresh=np.array(draw(st.lists(st.sampled_from([0.1, 0.3, 0.6, 1.0]), min_size=n, max_size=n))),
        completed=draw(subset), dismissed=draw(subset),
        minutes_per_week=600 - draw(st.integers(0, 570)), horizon_weeks=30 - draw(st.integers(0, 29)),
        max_steps=30 - draw(st.integers(0, 30)), prerequisites=draw(st.sampled_from([True, False])),
        max_stretch=draw(st.integers(0, 2)), preferred_types=draw(st.sampled_from([(), ("video",)])),
    )
    return cat, p, goals, kw


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_plans_are_valid_on_random_graphs_and_catalogs(world):
    cat, p, goals, kw = world
    base = _state(cat)
    state = MasteryState(base.skill_ids, p, base.last_update_us, base.n_evidence, None, "u")
    path = _plan(cat, goals, state=state, **kw)
    steps = path.steps
    idx = [s.item_index for s in steps]
    # never completed, dismissed, inactive or repeated items
    assert len(set(idx)) == len(idx)
    assert not set(idx) & (set(kw["completed"]) | set(kw["dismissed"]))
    assert all(cat.active[i] for i in idx)
    # each step teaches its skill at the stated level
    for s in steps:
        assert cat.item_skill_levels[s.item_index, cat.skill_ids.index(s.skill_id)] == s.level
        assert s.item_id == cat.items.to_ids([s.item_index])[0]
    # budget, step limit and ETAs
    mpw = kw["minutes_per_week"]
    assert len(steps) <= kw["max_steps"]
    assert sum(s.minutes for s in steps) <= mpw * kw["horizon_weeks"]
    cum = np.cumsum([s.minutes for s in steps])
    assert [s.eta for s in steps] == [(NOW + timedelta(days=7 * c / mpw)).date() for c in cum]
    assert all(a.eta <= b.eta for a, b in zip(steps, steps[1:]))
    assert all(s.eta <= (NOW + timedelta(weeks=kw["horizon_weeks"])).date() for s in steps)
    # a skill's steps are consecutive
    firsts = path.skills()
    assert [s.skill_id for s in steps] == [sk for sk in firsts for s in steps if s.skill_id == sk]
    start = {sk: int(level_of(p[j])) for j, sk in enumerate(cat.skill_ids)}
    before = _simulated_levels(path, cat, start, kw["max_stretch"])
    goal_ids = {g.skill_id for g in goals}
    unreachable = {s for s, _ in path.unreachable}
    if kw["prerequisites"]:
        # never a step on a skill before its prerequisites reach the required level
        for k, s in enumerate(steps):
            for q in cat.graph.prereqs[s.skill_id]:
                assert before[k][q.skill_id] >= q.level, (s, q, before[k])
        # a skill is blocked only by a prerequisite the plan itself reports as unreachable
        by_name = {sk.name: sk.skill_id for sk in cat.skills.values()}
        for s, why in path.unreachable:
            if why.startswith("needs "):
                assert by_name[why[len("needs "):].split(" at level")[0]] in unreachable, (s, why)
    else:
        assert {s.skill_id for s in steps} <= goal_ids
    # every goal is met already, reached by the plan, or reported unreachable
    for g in goals:
        assert start[g.skill_id] >= g.level or before[-1][g.skill_id] >= g.level or g.skill_id in unreachable
        assert (g.skill_id in path.already_met) == (start[g.skill_id] >= g.level)


# ------------------------------------------------------------------ targeted cases


def _ladder() -> Catalog:
    """python -> pandas (python:2) -> ml (pandas:2); resources at each level."""
    t = datetime(2026, 6, 1, tzinfo=UTC)
    skills = [Skill("python", "Python"), Skill("pandas", "pandas", prerequisites=(SkillLevel("python", 2),)),
              Skill("ml", "Machine learning", prerequisites=(SkillLevel("pandas", 2),)),
              Skill("stats", "Statistics")]
    r = lambda i, s, L, typ="article", mins=60, **kw: Resource(i, i, typ, (SkillLevel(s, L),), t,  # noqa: E731
                                                               duration_minutes=mins, **kw)
    return Catalog(skills, [
        r("py1", "python", 1), r("py2", "python", 2), r("py2v", "python", 2, "video"), r("py3", "python", 3),
        r("pd1", "pandas", 1), r("pd2", "pandas", 2), r("pd2q", "pandas", 2, "quiz", 20), r("pd3", "pandas", 3),
        r("ml1", "ml", 1), r("ml2", "ml", 2), r("st1", "stats", 1), r("st2", "stats", 2), r("pd1v", "pandas", 1, "video"),
    ])


def test_plan_orders_prerequisites_and_explains(tiny_world, as_of):
    cat = tiny_world.catalog
    u1 = tiny_world.mentee("u1")
    path = _plan(cat, u1.goals, state=_state(cat, {"python": 3}), fresh=catalog_freshness(cat, as_of),
                 preferred_types=u1.preferred_types)
    order = path.skills()
    assert order.index("sql") < order.index("pandas") and "python" not in order
    pd_step = next(s for s in path.steps if s.skill_id == "pandas")
    assert "you mastered Python (level 3)" in pd_step.reasons
    assert "prerequisite of Machine learning" in pd_step.reasons
    assert "builds on SQL, planned earlier in this path" in pd_step.reasons
    assert any(r.startswith("only material available at this level is 2 years old") for r in pd_step.reasons)
    assert pd_step.goal_skill_id == "llm-apps"
    # the tiny catalog has no pandas at level 3, so ml and llm-apps cannot be planned
    why = dict(path.unreachable)
    assert why["pandas"].startswith("no available pandas resource at level 3")
    assert why["ml"] == "needs pandas at level 3 first, which this plan cannot reach"
    assert "llm-apps" in why and "docs-x" not in {s.item_id for s in path.steps}


def test_next_level_up_and_goal_reasons():
    cat = _ladder()
    path = _plan(cat, [Goal("ml", 2)])
    assert [(s.skill_id, s.level) for s in path.steps] == [
        ("python", 1), ("python", 2), ("pandas", 1), ("pandas", 2), ("ml", 1), ("ml", 2)]
    assert path.unreachable == [] and path.steps[4].reasons[0] == "fits your goal: Machine learning (level 2)"
    assert path.steps[5].reasons == ["next level up: Machine learning level 2 (you are at level 1)"]
    assert "next level up: Python level 2 (you are at level 1)" in path.steps[1].reasons
    assert [s.item_id for s in next_up(path, 2)] == ["py1", "py2"]
    with pytest.raises(ConfigError):
        next_up(path, 0)


def test_scores_pick_among_equals_and_order_independent_skills():
    cat = _ladder()
    scores = np.zeros(cat.n_items)
    scores[cat.items.index("py2v")] = 2.0
    scores[cat.items.index("st1")] = 5.0  # stats scores best: it goes first
    path = _plan(cat, [Goal("python", 2), Goal("stats", 1)], scores=scores)
    assert [s.item_id for s in path.steps] == ["st1", "py1", "py2v"]
    assert "your best-scored Python resource at this level" in path.steps[2].reasons
    # a stated preference outranks the model score
    pref = _plan(cat, [Goal("python", 2)], scores=-scores, preferred_types=("video",))
    assert pref.steps[1].item_id == "py2v" and "a video, as you prefer" in pref.steps[1].reasons


def test_stale_only_when_nothing_fresh_and_said_so():
    cat = _ladder()
    fresh = np.ones(cat.n_items)
    fresh[cat.items.index("py1")] = 0.2
    scores = np.zeros(cat.n_items)
    scores[cat.items.index("py2")] = 9.0
    # with a stretch allowed, fresh level-2 material beats the stale level-1 item
    assert [s.item_id for s in _plan(cat, [Goal("python", 2)], fresh=fresh, scores=scores).steps] == ["py2"]
    path = _plan(cat, [Goal("python", 2)], fresh=fresh, scores=scores, max_stretch=0)
    assert path.steps[0].item_id == "py1"  # the only level-1 item, stale
    assert any(r.startswith("only material available at this level is 5 months old") for r in path.steps[0].reasons)
    fresh[cat.items.index("py2")] = 0.2  # a fresh level-2 alternative exists: the stale top-scored one is skipped
    path = _plan(cat, [Goal("python", 2)], fresh=fresh, scores=scores, state=_state(cat, {"python": 1}))
    assert [s.item_id for s in path.steps] == ["py2v"]
    assert format_age(800) == "2 years" and format_age(40) == "40 days" and format_age(70) == "2 months"


def test_completed_dismissed_and_budget():
    cat = _ladder()
    done = [cat.items.index("py1"), cat.items.index("py2")]
    path = _plan(cat, [Goal("python", 2)], completed=done, dismissed=[cat.items.index("py2v")])
    assert path.steps == [] and dict(path.unreachable)["python"].startswith("no available Python resource at level 1")
    tight = _plan(cat, [Goal("ml", 2)], minutes_per_week=60, horizon_weeks=3)
    assert [s.eta for s in tight.steps] == [date(2026, 11, 8), date(2026, 11, 15), date(2026, 11, 22)]
    assert dict(tight.unreachable)["pandas"].startswith("does not fit your time budget (60 min/week for 3 weeks)")
    assert dict(tight.unreachable)["ml"].startswith("needs pandas at level 2 first")
    capped = _plan(cat, [Goal("ml", 2)], max_steps=2)
    assert len(capped.steps) == 2 and dict(capped.unreachable)["pandas"] == "beyond the 2-step limit of this plan"


def test_without_prerequisites_only_goals_are_planned():
    cat = _ladder()
    path = _plan(cat, [Goal("ml", 2)], prerequisites=False)
    assert [s.item_id for s in path.steps] == ["ml1", "ml2"]


def test_mastered_goal_and_prerequisite_are_skipped():
    cat = _ladder()
    path = _plan(cat, [Goal("ml", 2), Goal("python", 2)], state=_state(cat, {"python": 3}))
    assert "python" not in path.skills() and path.already_met == ["python"]
    assert "you mastered Python (level 3)" in path.steps[0].reasons


def test_unknown_goal_skill_raises_naming_it():
    cat = _ladder()
    with pytest.raises(UnknownSkillError, match="'quantum'") as ei:
        _plan(cat, [Goal("ml", 2), Goal("quantum", 3)])
    assert ei.value.ids == ["quantum"] and isinstance(ei.value, KeyError)


def test_bad_arguments():
    cat = _ladder()
    with pytest.raises(ConfigError, match="one value per item"):
        _plan(cat, [Goal("ml", 1)], scores=np.zeros(3))
    with pytest.raises(ConfigError):
        _plan(cat, [Goal("ml", 1)], minutes_per_week=0)
    with pytest.raises(ConfigError, match="timezone"):
        _plan(cat, [Goal("ml", 1)], now=datetime(2026, 1, 1))


# ------------------------------------------------------------------ re-planning


def _ev(rows: list[tuple]) -> pd.DataFrame:
    """rows: (item_id, event_type, value, days before NOW)."""
    return pd.DataFrame({
        "event_id": [f"e{k}" for k in range(len(rows))], "user_id": "u",
        "item_id": [r[0] for r in rows], "event_type": [r[1] for r in rows],
        "value": [np.nan if r[2] is None else float(r[2]) for r in rows],
        "timestamp": pd.to_datetime([NOW - timedelta(days=r[3]) for r in rows], utc=True).astype("datetime64[us, UTC]"),
        "source": "test",
    })


def _replan(cat: Catalog, rows, mentee: Mentee):
    return replan(model=MODEL, mentee=mentee, events=_ev(rows), catalog=cat, scores=np.zeros(cat.n_items),
                  freshness=np.ones(cat.n_items), now=NOW, horizon_weeks=52, max_steps=50)


def test_replan_after_assessment_skips_what_is_now_mastered():
    cat = _ladder()
    me = Mentee("u", goals=(Goal("pandas", 2),), self_levels=(SkillLevel("python", 1),), minutes_per_week=120)
    _, before = _replan(cat, [], me)
    assert before.skills() == ["python", "pandas"]
    # a perfect score on the level-3 python item: 0.2 -> posterior 0.36/0.52... level 2 or more
    state, after = _replan(cat, [("py3", "assess", 100, 2)], me)
    assert state.level("python") >= 2 and after.skills() == ["pandas"]
    assert f"you mastered Python (level {state.level('python')})" in after.steps[0].reasons


def test_replan_after_completion_moves_on_and_never_repeats():
    cat = _ladder()
    me = Mentee("u", goals=(Goal("python", 3),), minutes_per_week=120)
    _, before = _replan(cat, [], me)
    assert [s.item_id for s in before.steps] == ["py1", "py2", "py3"]
    _, after = _replan(cat, [("py1", "complete", None, 3), ("py2", "view", None, 1)], me)
    assert [s.item_id for s in after.steps] == ["py2", "py3"]
    assert progress_levels(mentee_history(_ev([("py1", "complete", None, 3)]), cat, user_id="u", now=NOW),
                           cat, MODEL.initial_state(cat), credit=FULL_CREDIT) == {"python": 1}
    _, dismissed = _replan(cat, [("py2", "dismiss", None, 1)], me)
    assert [s.item_id for s in dismissed.steps] == ["py1", "py2v", "py3"]


def test_failed_assessment_inserts_remediation():
    cat = _ladder()
    me = Mentee("u", goals=(Goal("pandas", 3),), self_levels=(SkillLevel("python", 3), SkillLevel("pandas", 1)),
                minutes_per_week=120)
    _, before = _replan(cat, [("pd1", "complete", None, 5)], me)
    assert [s.item_id for s in before.steps] == ["pd2q", "pd3"]  # the shorter of two level-2 items
    assert not any(s.remediation for s in before.steps)
    rows = [("pd1", "complete", None, 5), ("pd2q", "assess", 30, 1)]
    hist = mentee_history(_ev(rows), cat, user_id="u", now=NOW)
    assert failed_assessments(hist, cat) == {"pandas": 2}
    _, after = _replan(cat, rows, me)
    first = after.steps[0]
    assert [(s.item_id, s.remediation) for s in after.steps] == [("pd1v", True), ("pd2", False), ("pd3", False)]
    assert "review: easier pandas material (level 1) after your failed level-2 assessment" in first.reasons
    # a completion after the failure clears the remediation
    hist2 = mentee_history(_ev([*rows, ("pd2", "complete", None, 0)]), cat, user_id="u", now=NOW)
    assert failed_assessments(hist2, cat) == {}


def test_a_resource_not_yet_published_is_never_planned():
    cat = _ladder()
    scores = np.zeros(cat.n_items)
    scores[cat.items.index("py2v")] = 9.0  # the best python:2 resource ...
    before = _plan(cat, [Goal("python", 2)], scores=scores)
    assert "py2v" in [s.item_id for s in before.steps]
    late = Catalog(list(cat.skills.values()), [
        dataclasses.replace(r, published_at=NOW + timedelta(days=30)) if r.item_id == "py2v" else r
        for r in cat.resources])
    after = _plan(late, [Goal("python", 2)], scores=scores)  # ... published a month after NOW
    assert "py2v" not in [s.item_id for s in after.steps]
    assert [s.item_id for s in after.steps] == ["py1", "py2"]
