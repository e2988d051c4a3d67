from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from catalog.catalog import Catalog
from catalog.errors import ConfigError, DataValidationError
from catalog.schema import Resource, Skill, SkillLevel
from recommender.mastery import (
    BKTParams,
    MasteryModel,
    assess_update,
    level_of,
    mastered,
    prior_for_level,
)
from recommender.mastery.fit import _grid_points, skill_log_likelihood

UTC = timezone.utc
T0 = datetime(2026, 1, 1, tzinfo=UTC)
P = BKTParams(prior=0.3, learn=0.1, slip=0.1, guess=0.2)


def _catalog() -> Catalog:
    skills = [Skill("a", "A"), Skill("b", "B", prerequisites=(SkillLevel("a", 2),))]
    res = [Resource(f"a{L}", f"A level {L}", "quiz", (SkillLevel("a", L),), T0) for L in range(1, 6)]
    res.append(Resource("ab", "A and B", "course", (SkillLevel("a", 5), SkillLevel("b", 2)), T0))
    return Catalog(skills, res)


def _events(rows: list[tuple]) -> pd.DataFrame:
    """rows: (item_id, event_type, value, days after T0[, user_id])."""
    return pd.DataFrame({
        "event_id": [f"e{k}" for k in range(len(rows))],
        "user_id": [r[4] if len(r) > 4 else "u" for r in rows],
        "item_id": [r[0] for r in rows],
        "event_type": [r[1] for r in rows],
        "value": [np.nan if r[2] is None else float(r[2]) for r in rows],
        "timestamp": pd.to_datetime([T0 + timedelta(days=r[3]) for r in rows], utc=True).astype("datetime64[us, UTC]"),
        "source": "test",
    })


@pytest.fixture
def model() -> MasteryModel:
    return MasteryModel(P)


def _run(model: MasteryModel, rows: list[tuple], *, days: float = 30, **kw) -> float:
    cat = _catalog()
    st = model.update(model.initial_state(cat, user_id="u", **kw), _events(rows), cat, now=T0 + timedelta(days=days))
    return st.mastery("a")


def test_correct_assessment_is_exact_bayes_then_learn(model):
    # score 100 on a level-5 item: full evidence, plain BKT.
    post = 0.3 * 0.9 / (0.3 * 0.9 + 0.7 * 0.2)
    assert post == pytest.approx(0.658536585, abs=1e-8)
    assert _run(model, [("a5", "assess", 100, 1)]) == pytest.approx(post + (1 - post) * 0.1, abs=1e-12)


def test_incorrect_assessment_on_easy_item_is_exact_bayes_then_learn(model):
    # score 0 on a level-1 item: failing an easy test is full evidence.
    post = 0.3 * 0.1 / (0.3 * 0.1 + 0.7 * 0.8)
    assert _run(model, [("a1", "assess", 0, 1)]) == pytest.approx(post + (1 - post) * 0.1, abs=1e-12)


def test_graded_score_uses_jeffrey_rule_and_level_weight(model):
    post1 = 0.27 / 0.41
    post0 = 0.03 / 0.59
    pj = 0.7 * post1 + 0.3 * post0  # 0.4762 > 0.3: good news
    w = 3 / 5  # level 3, good news -> L/5
    pw = 0.3 + w * (pj - 0.3)
    assert _run(model, [("a3", "assess", 70, 1)]) == pytest.approx(pw + (1 - pw) * 0.1, abs=1e-12)
    # bad news on a level-3 item: weight (6-3)/5, the same here by symmetry of level 3
    pj_bad = 0.2 * post1 + 0.8 * post0
    pw_bad = 0.3 + 0.6 * (pj_bad - 0.3)
    assert _run(model, [("a3", "assess", 20, 1)]) == pytest.approx(pw_bad + (1 - pw_bad) * 0.1, abs=1e-12)


def test_level_weighting_direction(model):
    easy_pass, hard_pass = _run(model, [("a1", "assess", 100, 1)]), _run(model, [("a5", "assess", 100, 1)])
    easy_fail, hard_fail = _run(model, [("a1", "assess", 0, 1)]), _run(model, [("a5", "assess", 0, 1)])
    assert hard_pass > easy_pass > 0.3 + 0.7 * 0.1  # passing a hard test says more
    assert easy_fail < hard_fail  # failing an easy test says more


def test_completion_is_weaker_than_a_passed_assessment(model):
    # prior 0.3 is level 1 (0.3 >= 0.19, < 0.38): the next level up is 2 -> fit 1 on a2.
    assert level_of(0.3) == 1
    done = _run(model, [("a2", "complete", None, 1)])
    assert done == pytest.approx(0.3 + 0.7 * 0.1 * 1.0, abs=1e-12)
    assert _run(model, [("a2", "assess", 100, 1)]) > done
    # a level-5 resource is 3 levels too hard: fit 2**-3
    assert _run(model, [("a5", "complete", None, 1)]) == pytest.approx(0.3 + 0.7 * 0.1 / 8, abs=1e-12)


@pytest.mark.parametrize("kind", ["dismiss", "view", "start", "like", "bookmark", "impression"])
def test_non_evidence_events_change_nothing(model, kind):
    cat = _catalog()
    st0 = model.initial_state(cat, user_id="u")
    st = model.update(st0, _events([("a3", kind, None, 1)]), cat, now=T0 + timedelta(days=5))
    np.testing.assert_array_equal(st.p, st0.p)
    assert st.last_update("a") is None and st.n_evidence.sum() == 0


def test_forgetting_halves_excess_over_prior_per_half_life():
    m = MasteryModel(P, forgetting_half_life_days=100.0)
    p1 = 0.27 / 0.41 + (1 - 0.27 / 0.41) * 0.1
    assert _run(m, [("a5", "assess", 100, 0)], days=100) == pytest.approx(0.3 + (p1 - 0.3) / 2, abs=1e-12)
    assert _run(m, [("a5", "assess", 100, 0)], days=0) == pytest.approx(p1, abs=1e-12)
    # below the prior nothing is forgotten
    low = _run(MasteryModel(P), [("a1", "assess", 0, 0)], days=0)
    assert _run(m, [("a1", "assess", 0, 0)], days=300) == pytest.approx(low, abs=1e-12)


def test_forgetting_in_stages_equals_once_and_applies_between_events():
    m = MasteryModel(P, forgetting_half_life_days=50.0)
    cat = _catalog()
    ev = _events([("a5", "assess", 100, 0), ("a5", "assess", 100, 40)])
    st0 = m.initial_state(cat, user_id="u")
    once = m.update(st0, ev, cat, now=T0 + timedelta(days=90))
    mid = m.update(st0, ev.iloc[:1], cat, now=T0 + timedelta(days=20))
    staged = m.update(mid, ev.iloc[1:], cat, now=T0 + timedelta(days=90))
    np.testing.assert_allclose(staged.p, once.p, atol=1e-12)
    no_forget = MasteryModel(P).update(st0, ev, cat, now=T0 + timedelta(days=90))
    assert once.mastery("a") < no_forget.mastery("a")
    assert once.last_update("a") == T0 + timedelta(days=40)


def test_events_are_applied_in_time_order(model):
    cat = _catalog()
    rows = [("a5", "assess", 100, 3), ("a2", "complete", None, 1), ("a1", "assess", 10, 2)]
    st0 = model.initial_state(cat, user_id="u")
    shuffled = model.update(st0, _events(rows), cat, now=T0 + timedelta(days=9))
    ordered = model.update(st0, _events(sorted(rows, key=lambda r: r[3])), cat, now=T0 + timedelta(days=9))
    assert shuffled.mastery("a") == ordered.mastery("a")
    # order matters: fail then pass differs from pass then fail
    swapped = [("a5", "assess", 100, 2), ("a2", "complete", None, 1), ("a1", "assess", 10, 3)]
    other = model.update(st0, _events(swapped), cat, now=T0 + timedelta(days=9))
    assert other.mastery("a") != pytest.approx(ordered.mastery("a"))


def test_future_events_and_other_users_are_ignored(model):
    base = _run(model, [("a5", "assess", 100, 1)], days=10)
    assert _run(model, [("a5", "assess", 100, 1), ("a1", "assess", 0, 20)], days=10) == base
    assert _run(model, [("a5", "assess", 100, 1), ("a1", "assess", 0, 2, "someone-else")], days=10) == base


def test_multi_skill_item_updates_each_skill_at_its_level(model):
    cat = _catalog()
    st = model.update(model.initial_state(cat, user_id="u"), _events([("ab", "assess", 100, 1)]), cat,
                      now=T0 + timedelta(days=2))
    assert st.mastery("a") == pytest.approx(_run(model, [("a5", "assess", 100, 1)]))
    assert st.mastery("b") == pytest.approx(_run(model, [("a2", "assess", 100, 1)]))
    assert st.n_evidence.tolist() == [1, 1]


def test_self_levels_seed_the_prior_and_read_back():
    for L in range(1, 6):
        assert level_of(prior_for_level(L)) == L
        assert mastered(prior_for_level(L), L) and not mastered(prior_for_level(L), L + 1) or L == 5
    cat = _catalog()
    st = MasteryModel(P).initial_state(cat, user_id="u", self_levels=[SkillLevel("a", 4)])
    assert st.mastery("a") == pytest.approx(0.8) and st.level("a") == 4 and st.mastery("b") == 0.3
    assert st.seeded == {"a": 4}


def test_level_mapping_boundaries():
    # level L held when p >= L/5 * 0.95
    assert level_of(0.0) == 0 and level_of(0.18) == 0 and level_of(0.19) == 1
    assert level_of(0.569) == 2 and level_of(0.57) == 3 and level_of(0.95) == 5 and level_of(1.0) == 5
    np.testing.assert_array_equal(level_of(np.array([0.1, 0.4, 0.99])), [0, 2, 5])
    assert mastered(0.57, 3) and not mastered(0.56, 3) and mastered(0.0, 0)


def test_state_exports(model):
    cat = _catalog()
    st = model.update(model.initial_state(cat, user_id="u"), _events([("a2", "complete", None, 1)]), cat,
                      now=T0 + timedelta(days=3))
    d = st.to_dict()
    assert set(d) == {"a", "b"} and d["a"][1] == T0 + timedelta(days=1) and d["b"] == (0.3, None)
    df = st.to_frame()
    assert list(df.columns) == ["skill_id", "p", "level", "last_update", "n_evidence"]
    assert df.loc[df.skill_id == "a", "n_evidence"].item() == 1 and pd.isna(df.loc[df.skill_id == "b", "last_update"].item())


def test_bad_inputs_raise_skillpath_errors(model):
    with pytest.raises(DataValidationError, match="assess score"):
        _run(model, [("a5", "assess", 140, 1)])
    with pytest.raises(DataValidationError, match="nan"):
        _run(model, [("a5", "assess", None, 1)])
    with pytest.raises(ConfigError, match="slip \\+ guess"):
        BKTParams(slip=0.6, guess=0.5)
    with pytest.raises(ConfigError, match="prior"):
        BKTParams(prior=0.0)
    with pytest.raises(ConfigError, match="timezone"):
        model.update(model.initial_state(_catalog()), _events([]), _catalog(), now=datetime(2026, 1, 1))


def test_unknown_items_are_skipped(model):
    assert _run(model, [("gone", "assess", 100, 1)]) == 0.3


# ------------------------------------------------------------------ fitting


def _synthetic(prob_correct: dict[str, float], n_users: int = 60, n_tests: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for k in range(n_tests):
            for item, pc in prob_correct.items():
                rows.append((item, "assess", 100.0 * (rng.random() < pc), k, f"u{u}"))
    return _events(rows)


def test_fit_only_skills_with_enough_assessments():
    cat = _catalog()
    ev = _synthetic({"a5": 0.9}, n_users=5, n_tests=2)  # 10 assessments of a
    m = MasteryModel(P, min_assess_events=11).fit(ev, cat)
    assert m.params_ == {} and m.n_assess_ == {"a": 10}
    assert m.params_for("a") is P
    m2 = MasteryModel(P, min_assess_events=10).fit(ev, cat)
    assert set(m2.params_) == {"a"} and m2.params_for("b") is P


def test_fit_tells_a_known_skill_from_an_unknown_one():
    skills = [Skill("easy", "Easy"), Skill("hard", "Hard")]
    res = [Resource("e", "E", "quiz", (SkillLevel("easy", 5),), T0),
           Resource("h", "H", "quiz", (SkillLevel("hard", 5),), T0)]
    cat = Catalog(skills, res)
    m = MasteryModel(min_assess_events=50).fit(_synthetic({"e": 0.92, "h": 0.12}), cat)
    easy, hard = m.params_["easy"], m.params_["hard"]
    assert easy.expected_score(easy.prior) > 0.7 > 0.3 > hard.expected_score(hard.prior)


def test_grid_likelihood_matches_a_sequential_replay():
    # two users, one skill: the vectorised simulator must agree with step-by-step updates
    kind = np.array([[1, 2], [2, 1], [1, 0]], dtype=np.int8)  # steps x users (0 = padding)
    x = np.array([[1.0, 0.0], [0.0, 0.4], [0.3, 0.0]])
    lvl = np.array([[3.0, 2.0], [2.0, 4.0], [5.0, 1.0]])
    seed = np.array([np.nan, 0.6])
    pts = _grid_points({"prior": (0.2,), "learn": (0.1, 0.3), "slip": (0.1,), "guess": (0.25,)})
    ll = skill_log_likelihood(kind, x, lvl, seed, pts, threshold=0.95)
    for g, (pr, le, sl, gu) in enumerate(pts):
        want = 0.0
        m = MasteryModel(BKTParams(pr, le, sl, gu))
        for u in range(2):
            p = pr if np.isnan(seed[u]) else seed[u]
            for t in range(3):
                if kind[t, u] == 1:
                    pred = p * (1 - sl) + (1 - p) * gu
                    want += x[t, u] * np.log(pred) + (1 - x[t, u]) * np.log(1 - pred)
                    p = float(assess_update(p, x[t, u], lvl[t, u], slip=sl, guess=gu, learn=le))
                elif kind[t, u] == 2:
                    from recommender.mastery import complete_update
                    p = float(complete_update(p, lvl[t, u], learn=le, threshold=m.threshold))
        assert ll[g] == pytest.approx(want, abs=1e-10)
