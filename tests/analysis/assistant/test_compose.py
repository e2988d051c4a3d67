"""Grounded answers: every card comes from the facts given, the text names nothing else."""

from __future__ import annotations

import itertools
import re
from datetime import date

import pytest

from analysis.assistant import (
    HELP_TEXT, INTENTS, Answer, Entities, Facts, GoalCard, GoalProgress, MentorCard, ProgressCard, ResourceCard,
    SkillCard, SkillRef, StepCard, Understanding, compose, resource_card, search_facts,
)
from analysis.assistant.lexicon import Lexicon
from analysis.assistant.search import ResourceIndex
from analysis.assistant.state import ConversationState
from analysis.assistant.understand import understand
from analysis.vocabulary import SkillVocabulary
from catalog.catalog import Catalog

from tests.analysis.assistant.conftest import NOW

RES = [ResourceCard(f"r{i}", f"Title number {i}", t, 10 * i, skills=(f"Skill {i} (level 2)",), level=2,
                    provider="Kaggle", reasons=(f"reason {i}a", f"reason {i}b"), updated=date(2026, i, 1),
                    freshness=i / 10, stale=i > 3)
       for i, t in zip(range(1, 7), ("video", "article", "course", "video", "book", "quiz"))]
STEPS = [StepCard(i, f"s{i}", f"Step title {i}", "tutorial", 30, "python", "Python", i, date(2026, 12, i),
                  (f"step reason {i}",), "m1" if i == 1 else None, "Ada Mentor" if i == 1 else None)
         for i in range(1, 4)]
MENTORS = [MentorCard(f"m{i}", f"Mentor Name{i}", ("Python", "SQL"), i, i == 1, (f"mentor reason {i}",))
           for i in range(1, 4)]
SKILLS = [SkillCard("pandas", "pandas", "data", (SkillRef("python", "Python", 3),),
                    (SkillRef("ml", "Machine learning", 3),), 12)]
PROGRESS = ProgressCard((GoalProgress("python", "Python", 4, 2.5, 0.61, False, date(2027, 3, 31), date(2027, 2, 1)),
                         GoalProgress("sql", "SQL", 3, None, None, True)), completed=7, started=9)
GOAL = GoalCard("kubernetes", "Kubernetes", 4, date(2027, 3, 31))
ALL_NAMES = [c.title for c in RES + STEPS] + [m.name for m in MENTORS] + ["Ada Mentor"]


def u(intent: str, **entities) -> Understanding:
    return Understanding(intent, Entities(**entities), 0.9)


def facts_subsets():
    for r, s, m in itertools.product((0, 2, 6), (0, 3), (0, 3)):
        yield Facts(resources=tuple(RES[:r]), steps=tuple(STEPS[:s]), mentors=tuple(MENTORS[:m]),
                    skills=tuple(SKILLS), progress=PROGRESS, goal=GOAL, unreachable=(("Rust", "no resource"),))


@pytest.mark.parametrize("intent", INTENTS)
@pytest.mark.parametrize("item_id", [None, "r2", "s2", "nope"])
def test_every_card_and_name_in_an_answer_comes_from_the_facts(intent: str, item_id: str | None) -> None:
    for facts in facts_subsets():
        a = compose(u(intent, item_id=item_id), facts, limit=4)
        given = [*facts.resources, *facts.steps, *facts.mentors, *facts.skills, facts.progress, facts.goal]
        assert all(any(c is g for g in given) for c in a.cards), (intent, a.cards)
        assert len([c for c in a.cards if not isinstance(c, (ProgressCard, GoalCard, SkillCard))]) <= 4
        shown = {getattr(c, "title", None) for c in a.cards} | {getattr(c, "name", None) for c in a.cards} | \
                {getattr(c, "mentor_name", None) for c in a.cards}
        for name in ALL_NAMES:
            if re.search(re.escape(name) + r"\b", a.text):
                assert name in shown, (intent, name, a.text)
        assert set(a.card_ids) <= {c.item_id for c in [*facts.resources, *facts.steps]}


def test_next_step_lists_titles_and_the_recommenders_reasons() -> None:
    a = compose(u("next_step", types=("video",)), Facts(resources=tuple(RES[:2])))
    assert a.text.splitlines()[0] == "Next for you among videos:"
    assert "1. Title number 1 (video, 10 min, Kaggle): reason 1a; reason 1b" in a.text
    assert a.card_ids == ("r1", "r2")


def test_nothing_found_says_what_was_asked() -> None:
    a = compose(u("search", skills=("kubernetes",), types=("video",), max_minutes=10, language="es"),
                Facts(names={"kubernetes": "Kubernetes"}))
    assert a.text == "I found no videos on Kubernetes of at most 10 minutes in Spanish in the catalog."
    assert a.cards == ()
    assert compose(u("mentor", skills=("rust",)), Facts(names={"rust": "Rust"})).text == \
        "No mentor with a free place can help with Rust right now."


def test_path_states_totals_steps_and_the_deadline_check() -> None:
    facts = Facts(steps=tuple(STEPS), total_steps=3, total_minutes=90, unreachable=(("Rust", "no resource"),))
    text = compose(u("path", deadline=date(2026, 12, 2)), facts).text
    assert text.startswith("Your path: 3 steps, about 1.5 hours in all. Steps:")
    assert "1. Step title 1 (tutorial, 30 min): Python to level 1, done by 2026-12-01; Ada Mentor can help" in text
    assert "after your deadline of 2026-12-02" in text and "Rust cannot be reached: no resource." in text
    partly = compose(u("path", deadline=date(2027, 1, 1)), facts).text  # in time, but Rust is out of reach
    assert "These steps end by 2026-12-03, before your deadline of 2027-01-01, but they do not reach every goal:" \
        in partly and "That fits your deadline" not in partly
    whole = Facts(steps=tuple(STEPS), total_steps=3, total_minutes=90)
    assert "That fits your deadline of 2027-01-01." in compose(u("path", deadline=date(2027, 1, 1)), whole).text


def test_explain_an_item_uses_its_reasons_or_its_facts_and_never_guesses() -> None:
    assert compose(u("explain", item_id="r1"), Facts(resources=tuple(RES))).text == \
        "Why “Title number 1”: reason 1a; reason 1b."
    bare = ResourceCard("x", "Plain", "video", 12, skills=("Python (level 2)",), level=2)
    assert compose(u("explain", item_id="x"), Facts(resources=(bare,))).text == \
        "“Plain” is a video of 12 minutes on Python (level 2) at level 2."
    missing = compose(u("explain", item_id="zzz"), Facts(resources=tuple(RES)))
    assert missing.text == "I have nothing on that resource." and missing.cards == ()


def test_explain_a_skill() -> None:
    a = compose(u("explain", skills=("pandas",)), Facts(skills=tuple(SKILLS)))
    assert a.text == ("pandas (data): needs Python at level 3 first; leads to Machine learning; "
                      "12 active resources teach it.")


def test_progress_and_stale_report_the_numbers_given() -> None:
    text = compose(u("progress"), Facts(progress=PROGRESS)).text
    assert "Python: about level 2.5 of 4 (mastery 61%), deadline 2027-03-31: on track." in text
    assert "SQL: level 3 reached." in text and "You have completed 7 resources and started 9." in text
    stale = compose(u("stale", item_id="r5"), Facts(resources=tuple(RES))).text
    assert stale == "Title number 5 (last updated 2026-05-01, freshness 50%): outdated."


def test_set_goal_asks_first_then_reports_what_the_platform_did() -> None:
    ask = compose(u("set_goal", skills=("kubernetes",)), Facts(goal=GOAL))
    assert ask.needs_confirmation and ask.text == "Shall I set your goal to Kubernetes at level 4 by 2027-03-31? " \
                                                  "Answer yes or no."
    yes = Understanding("set_goal", Entities(skills=("kubernetes",)), 1.0, confirm=True)
    saved = GoalCard("kubernetes", "Kubernetes", 4, date(2027, 3, 31), saved=True)
    assert compose(yes, Facts(goal=saved)).text == "Done: your goal is now Kubernetes at level 4 by 2027-03-31."
    assert compose(yes, Facts(goal=GOAL)).text.startswith("I could not save")
    no = Understanding("set_goal", Entities(), 1.0, confirm=False)
    assert compose(no, Facts(goal=GOAL)).text == "OK, your goals stay as they are."


def test_help_and_not_understood() -> None:
    assert compose(u("help")).text == HELP_TEXT
    lost = compose(Understanding("help", Entities(), 0.1, understood=False))
    assert lost.text.startswith("I did not understand that") and lost.text.endswith(HELP_TEXT)
    assert isinstance(lost, Answer) and lost.to_dict()["cards"] == []


def test_answer_to_dict_is_json_safe() -> None:
    d = compose(u("next_step"), Facts(resources=tuple(RES[:1]))).to_dict()
    assert d["cards"][0]["kind"] == "resource" and d["cards"][0]["updated"] == "2026-01-01"


def test_search_end_to_end_is_grounded_in_the_catalog(tiny_catalog: Catalog) -> None:
    vocab = SkillVocabulary(tiny_catalog.skills.values())
    lexicon = Lexicon.from_catalog(tiny_catalog)
    index = ResourceIndex(tiny_catalog)
    und = understand("any videos on pandas?", state=ConversationState(), vocabulary=vocab, lexicon=lexicon, now=NOW)
    facts = search_facts(und, index)
    a = compose(und, facts)
    assert a.card_ids == ("pd-101",)
    assert a.text == "I found 1 video on pandas:\n1. pandas intro (video, 45 min)"
    assert facts.resources[0] == resource_card(tiny_catalog, "pd-101")
    assert facts.resources[0].skills == ("pandas (level 2)", "Python (level 2)")
    titles = {r.title for r in tiny_catalog.resources} - {"pandas intro"}
    assert not any(t in a.text for t in titles)
