"""Mentor matching: needs, scores and their reasons, ranking, re-matching, unknown ids."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from catalog.catalog import World
from catalog.errors import UnknownMentorError, UnknownSkillError, UnknownUserError
from catalog.schema import Goal, Mentee, Mentor, SkillLevel
from recommender.matching import (
    COMPONENTS,
    MatchWeights,
    MentorMatcher,
    Need,
    needs_from_goals,
    needs_from_steps,
    rank_mentors,
    rematch_suggestions,
    score_matrix,
    score_pair,
)
from tests.recommender.matching_world import ID_OF_NAME, SKILL_NAMES, random_people


def _pairs(needs):
    return [(n.skill_id, n.level) for n in needs]


# ---------------------------------------------------------------- needs


def test_needs_from_goals_prerequisites_first_with_decaying_urgency(tiny_world):
    u1 = tiny_world.mentee("u1")  # goal llm-apps:3, knows python:3
    needs = needs_from_goals(u1, tiny_world.catalog.graph)
    assert _pairs(needs) == [("prompting", 2), ("sql", 2), ("pandas", 3), ("ml", 3), ("llm-apps", 3)]
    assert [n.urgency for n in needs] == pytest.approx([0.5 ** (i / 3) for i in range(5)])


def test_needs_from_goals_uses_mastery_and_skips_met_goals(tiny_world):
    g = tiny_world.catalog.graph
    u1 = tiny_world.mentee("u1")
    known = {"python": 3, "sql": 2, "pandas": 3, "ml": 3, "prompting": 1}
    assert _pairs(needs_from_goals(u1, g, known)) == [("prompting", 2), ("llm-apps", 3)]
    # a goal already reached needs nothing below it, even if its prerequisites are unknown
    done = Mentee("x", (Goal("pandas", 3),), (SkillLevel("pandas", 4),))
    assert needs_from_goals(done, g) == []


def test_needs_from_goals_deadline_first_and_highest_required_level(tiny_world):
    g = tiny_world.catalog.graph
    m = Mentee("x", (Goal("prompting", 3), Goal("pandas", 2, date(2027, 1, 1)), Goal("sql", 3)))
    # pandas (deadline) first: python:3 and sql (needed at 3 because of the sql goal) come before it
    assert _pairs(needs_from_goals(m, g)) == [("python", 3), ("sql", 3), ("pandas", 2), ("prompting", 3)]
    with pytest.raises(UnknownSkillError, match="'nope'"):
        needs_from_goals(Mentee("x", (Goal("nope", 3),)), g)


def test_needs_from_steps_keeps_first_position_and_highest_level():
    steps = [SimpleNamespace(skill_id="a", level=2), SimpleNamespace(skill_id="b", level=3),
             SimpleNamespace(skill_id="a", level=4)]
    needs = needs_from_steps(steps, half_life=1.0)
    assert needs == [Need("a", 4, 1.0), Need("b", 3, 0.5)]
    with pytest.raises(ValueError):
        Need("a", 6)
    with pytest.raises(ValueError):
        Need("a", 3, 0.0)


# ---------------------------------------------------------------- scores


def test_score_matrix_equals_score_pair_elementwise():
    w = MatchWeights(partial_credit=0.4, timezone=0.2)
    for seed in range(4):
        needs, mentees, mentors, loads = random_people(seed, 25, 9)
        mat = score_matrix(needs, mentees, mentors, loads=loads, weights=w)
        assert mat.score.shape == (25, 9)
        for u in range(25):
            for m in range(9):
                ps = score_pair(needs[u], mentees[u], mentors[m], load=int(loads[m]), weights=w)
                assert mat.score[u, m] == pytest.approx(ps.score, abs=1e-12)
                for c in COMPONENTS:
                    assert mat.part(c)[u, m] == pytest.approx(ps.parts[c], abs=1e-12), c
        assert mat.n_needs.tolist() == [len(n) for n in needs]


def test_coverage_full_partial_and_weights():
    needs = [Need("a", 3, 1.0), Need("b", 3, 0.5), Need("c", 2, 0.25)]
    mentor = Mentor("m", skills=(SkillLevel("a", 5), SkillLevel("b", 2), SkillLevel("c", 0 + 1)))
    ps = score_pair(needs, Mentee("u"), mentor, weights=MatchWeights(partial_credit=0.5))
    assert ps.covered_skills == ("a",) and set(ps.partial_skills) == {"b", "c"}
    assert ps.coverage == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert ps.parts["urgency"] == pytest.approx((1.0 + 0.25 + 0.125) / 1.75)
    only = MatchWeights(coverage=1, urgency=0, goal_alignment=0, capacity=0, language=0, timezone=0, format=0)
    assert score_pair(needs, Mentee("u"), mentor, weights=only).score == pytest.approx(ps.coverage)


def test_weights_are_validated():
    with pytest.raises(ValidationError):
        MatchWeights(colour=1.0)
    with pytest.raises(ValidationError):
        MatchWeights(coverage=0, urgency=0, goal_alignment=0, capacity=0, language=0, timezone=0, format=0)
    with pytest.raises(ValidationError):
        MatchWeights(partial_credit=1.5)


def _names(text: str) -> list[str]:
    text = re.sub(r" and \d+ more$", "", text)
    return [s.strip() for s in text.split(",")]


def test_reasons_are_true():
    checked = 0
    for seed in range(6):
        needs, mentees, mentors, loads = random_people(100 + seed, 20, 8)
        for u, mentee in enumerate(mentees):
            for m, mentor in enumerate(mentors):
                lv = {s.skill_id: s.level for s in mentor.skills}
                ps = score_pair(needs[u], mentee, mentor, load=int(loads[m]), skill_names=SKILL_NAMES)
                truly = [n.skill_id for n in needs[u] if lv.get(n.skill_id, 0) >= n.level]
                assert list(ps.covered_skills) == truly
                for r in ps.reasons:
                    if mt := re.fullmatch(r"covers (\d+) of your (\d+) next skills: (.*)", r):
                        assert (int(mt[1]), int(mt[2])) == (len(truly), len(needs[u]))
                        listed = [ID_OF_NAME[n] for n in _names(mt[3])]
                        assert listed == truly[:5]
                        checked += 1
                    elif mt := re.fullmatch(r"covers all (\d+) of your next skills: (.*)", r):
                        assert int(mt[1]) == len(needs[u]) == len(truly)
                    elif r.startswith("covers none of your"):
                        assert truly == [] and len(needs[u]) > 1
                    elif r == "does not cover your next skill":
                        assert truly == [] and len(needs[u]) == 1
                    elif mt := re.fullmatch(r"one level short of what you need in (.*)", r):
                        target = {n.skill_id: n.level for n in needs[u]}
                        for s in map(ID_OF_NAME.get, _names(mt[1])):
                            assert lv[s] == target[s] - 1
                    elif mt := re.fullmatch(r"also mentors (\w+) at level (\d)", r):
                        s = ID_OF_NAME[mt[1]]
                        assert lv[s] == int(mt[2]) and s in {g.skill_id for g in mentee.goals}
                    elif mt := re.fullmatch(r"speaks your language \((\w+)\)", r):
                        assert mentee.language[:2] == mentor.language[:2] == mt[1]
                    elif mt := re.fullmatch(r"(\d+) free places?", r):
                        assert int(mt[1]) == mentor.capacity - loads[m] > 0
                    elif r == "no free places":
                        assert mentor.capacity <= loads[m]
    assert checked > 20  # the interesting reason was exercised


def test_reasons_use_skill_names(tiny_world):
    matcher = MentorMatcher(tiny_world)
    best = matcher.rank("u1", k=1)[0]
    assert best.mentor_id == "m2"
    assert best.match.reasons[0] == "covers 2 of your 5 next skills: Prompt engineering, LLM applications"
    assert best.match.reasons[-1] == "1 free place"
    ada = matcher.score("u1", "m1", needs=[Need("python", 4), Need("prompting", 2)])
    assert ada.reasons[0] == "covers 1 of your 2 next skills: Python"
    m = Mentee("x", (Goal("prompting", 2),), (SkillLevel("prompting", 3),), ("project",), None, "en", 1)
    g = Mentor("g", "Grace", (SkillLevel("prompting", 5),), 3, language="EN", timezone=-2, formats=("code-review",))
    r = score_pair([Need("sql", 2)], m, g, load=1, skill_names=matcher.skill_names).reasons
    assert r == ("does not cover your next skill", "also mentors Prompt engineering at level 5",
                 "speaks your language (en)", "3 h apart", "offers code-review, suits your preference for project",
                 "2 free places")


# ---------------------------------------------------------------- ranking


def test_rank_skips_full_mentors_and_breaks_ties_by_id():
    twin = (SkillLevel("a", 4),)
    mentors = [Mentor("b", "B", twin, 1), Mentor("a", "A", twin, 1), Mentor("c", "C", (), 2)]
    mentee, needs = Mentee("u"), [Need("a", 3)]
    ranked = rank_mentors(needs, mentee, mentors, k=5)
    assert [r.mentor_id for r in ranked] == ["a", "b", "c"] and [r.rank for r in ranked] == [1, 2, 3]
    ranked = rank_mentors(needs, mentee, mentors, k=5, loads={"a": 1})
    assert [r.mentor_id for r in ranked] == ["b", "c"]
    ranked = rank_mentors(needs, mentee, mentors, k=2, loads={"a": 1}, include_full=True)
    assert [r.mentor_id for r in ranked] == ["b", "a"] and ranked[1].match.reasons[-1] == "no free places"
    with pytest.raises(UnknownMentorError, match="'zz'"):
        rank_mentors(needs, mentee, mentors, loads={"zz": 1})


# ---------------------------------------------------------------- re-matching


def test_rematch_flags_outgrown_mentor_and_proposes_free_ones(tiny_world):
    matcher = MentorMatcher(tiny_world)
    (s,) = matcher.rematch({"u1": "m2", "u2": "m2"})  # Grace covers nothing u2 needs
    assert (s.user_id, s.mentor_id, s.coverage) == ("u2", "m2", 0.0)
    assert s.reason.startswith("Grace covers none of your 3 next skills; your next skills: Python, SQL, pandas")
    assert [a.mentor_id for a in s.alternatives] == ["m1"]
    assert s.alternatives[0].match.covered_skills == ("python", "pandas")

    # u1 has since learned what Ada teaches: only Prompt engineering and LLM apps remain
    grown = MentorMatcher(tiny_world, mastery={"u1": {"python": 3, "sql": 2, "pandas": 3, "ml": 3}})
    (s,) = grown.rematch({"u1": "m1", "u2": "m1"})
    assert s.user_id == "u1" and "you already have what your goals need in Ada's Python, pandas, Machine learning" in s.reason
    assert [a.mentor_id for a in s.alternatives] == ["m2"]
    assert grown.rematch({"u1": "m2", "u2": "m1"}) == []
    (s,) = matcher.rematch({"u1": "m1", "u2": "m2"}, min_gain=0.9)
    assert s.alternatives == () and "no mentor with a free place covers clearly more" in s.reason
    # a full mentor is never proposed: Ada with one place, taken by u1
    ada = replace(tiny_world.mentor("m1"), capacity=1)
    small = World(tiny_world.catalog, tiny_world.mentees, {**tiny_world.mentors, "m1": ada})
    (s,) = MentorMatcher(small).rematch({"u1": "m1", "u2": "m2"})
    assert s.user_id == "u2" and s.alternatives == ()


def test_rematch_looks_at_the_next_horizon_needs_only():
    needs = {"u": [Need(f"s{i}", 3) for i in range(8)]}
    late = Mentor("late", "Late", tuple(SkillLevel(f"s{i}", 4) for i in (5, 6, 7)), 1)  # covers 3 of 8
    soon = Mentor("soon", "Soon", tuple(SkillLevel(f"s{i}", 4) for i in (0, 1)), 1)
    mentees, mentors = {"u": Mentee("u")}, {"late": late, "soon": soon}
    assert rematch_suggestions({"u": "late"}, needs, mentees, mentors, horizon=8) == []
    (s,) = rematch_suggestions({"u": "late"}, needs, mentees, mentors, horizon=5, skill_names=SKILL_NAMES)
    assert s.coverage == 0.0 and s.reason.startswith(
        "Late covers none of your 5 next skills; your next skills: Alpha, Bravo, Charlie, Delta, Echo; "
        "Late's Foxtrot, Golf, Hotel come later on your path; ")
    assert [a.mentor_id for a in s.alternatives] == ["soon"]
    assert s.alternatives[0].match.reasons[0] == "covers 2 of your 5 next skills: Alpha, Bravo"
    with pytest.raises(ValueError):
        rematch_suggestions({"u": "late"}, needs, mentees, mentors, horizon=0)


# ---------------------------------------------------------------- unknown ids


def test_unknown_ids_raise_clear_errors(tiny_world):
    matcher = MentorMatcher(tiny_world)
    with pytest.raises(UnknownUserError, match="unknown mentee: 'nope'"):
        matcher.rank("nope")
    with pytest.raises(KeyError):
        matcher.needs("nope")
    with pytest.raises(UnknownMentorError, match="unknown mentor: 'zz'"):
        matcher.score("u1", "zz")
    with pytest.raises(UnknownUserError, match="'x', 'y'"):
        matcher.matrix(["u1", "x", "y"])
    with pytest.raises(UnknownUserError, match="'ghost'"):
        matcher.rematch({"ghost": "m1"})
    with pytest.raises(UnknownMentorError, match="'m9'"):
        matcher.rematch({"u1": "m9"})
