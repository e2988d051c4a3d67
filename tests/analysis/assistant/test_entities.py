"""Each entity kind on hand-checked messages (``now`` = Sunday 2026-11-15)."""

from __future__ import annotations

from datetime import date

import pytest

from analysis.assistant import SHORT_MINUTES, Entities
from analysis.assistant.dates import find_deadlines
from catalog.errors import InvalidValueError
from catalog.schema import RESOURCE_TYPES


@pytest.mark.parametrize(("message", "skills"), [
    ("who can help me with k8s and Terraform", ["kubernetes", "terraform"]),
    ("short videos on LLM apps", ["llm-apis"]),
    ("tutorials on kuberentes", ["kubernetes"]),                 # a typo
    ("any videos on react?", ["react"]),                         # an everyday word, lower case
    ("i want to learn go by friday", ["go"]),                    # "go" needs a cue...
    ("where do I go from here", []),                             # ...and has none here
    ("goal: advanced python", ["python-advanced"]),              # the level word belongs to the skill
    ("why is r04020 recommended", []),                           # "recommended" is no typo of a skill
])
def test_skills(ask, message: str, skills: list[str]) -> None:
    assert list(ask(message).entities.skills) == skills


@pytest.mark.parametrize(("message", "types"), [
    ("videos or articles on RAG", ["video", "article"]),
    ("reccomend a turorial on pytorch", ["tutorial"]),            # a typo of a type
    ("I'd like to watch something about docker", ["video"]),
    ("who can review my fastapi project", []),                    # "my project" is not a request
    ("anything on kubernetes that isn't a video", [t for t in RESOURCE_TYPES if t != "video"]),
])
def test_types(ask, message: str, types: list[str]) -> None:
    assert list(ask(message).entities.types) == types


@pytest.mark.parametrize(("message", "minutes"), [
    ("a video under half an hour", 30),
    ("something short on git", SHORT_MINUTES),
    ("docker videos < 20 min", 20),
    ("an hour or less", 60),
    ("a course of at most 1h30", 90),
    ("I study 2 hours a week, what next?", None),                 # study time, not a resource's length
    ("courses that take more than an hour", None),                # a lower bound: no filter for it
    ("quick question: what is RAG?", None),
])
def test_max_minutes(ask, message: str, minutes: int | None) -> None:
    assert ask(message).entities.max_minutes == minutes


@pytest.mark.parametrize(("message", "level"), [
    ("beginner python exercises", (1, 2)),
    ("level 3 material on pandas", (3, 3)),
    ("advanced courses on sql", (4, 5)),
    ("content on airflow at level 4 or above", (4, 5)),
    ("how to go from beginner to expert in SQL", (5, 5)),         # the last level said wins
    ("set my target for SQL to 4", (4, 4)),
    ("advanced python tutorials", None),                          # "Advanced Python" is a skill
])
def test_level(ask, message: str, level: tuple[int, int] | None) -> None:
    assert ask(message).entities.level == level


@pytest.mark.parametrize(("message", "deadline"), [
    ("how do I get to MLOps by March", date(2027, 3, 31)),
    ("learn rust by November", date(2026, 11, 30)),              # the current month is this year
    ("learn rust by October", date(2027, 10, 31)),               # a month past means next year
    ("a plan for spark in 6 weeks", date(2026, 12, 27)),
    ("reach my goals before 2027-02-01", date(2027, 1, 31)),
    ("by the end of the year", date(2026, 12, 31)),
    ("by 15 April", date(2027, 4, 15)),
    ("set a goal for docker by friday", date(2026, 11, 20)),
    ("by summer", date(2027, 6, 1)),
    ("I may learn it someday", None),                            # "may" is a verb here
])
def test_deadline(ask, message: str, deadline: date | None) -> None:
    assert ask(message).entities.deadline == deadline


def test_this_year_is_a_deadline_only_for_goals_and_plans(ask) -> None:
    assert ask("I want to pick up terraform this year").entities.deadline == date(2026, 12, 31)
    assert ask("how much have I learned this year").entities.deadline is None


def test_deadlines_use_now_never_the_clock() -> None:
    assert find_deadlines("by March", date(2030, 5, 2))[0].value == date(2031, 3, 31)


@pytest.mark.parametrize(("message", "item_id"), [
    ("why did you recommend r04024?", "r04024"),
    ("is R04003 still up to date", "r04003"),                    # ids are matched case-insensitively
    ("why r99999", None),                                        # not in the catalog
])
def test_item_ids(ask, message: str, item_id: str | None) -> None:
    assert ask(message).entities.item_id == item_id


def test_language(ask) -> None:
    assert ask("tutorials on kubernetes in Spanish").entities.language == "es"
    assert ask("mentors who speak french").entities.language == "fr"


def test_entities_round_trip_and_reject_bad_values() -> None:
    e = Entities(("python",), ("video",), 20, (1, 2), date(2027, 3, 31), "r04003", "es")
    assert Entities.from_dict(e.to_dict()) == e
    with pytest.raises(InvalidValueError, match="entities.types"):
        Entities.from_dict({"types": ["hologram"]})
    with pytest.raises(InvalidValueError, match="entities.colour"):
        Entities.from_dict({"colour": "red"})
    with pytest.raises(InvalidValueError, match="entities"):
        Entities.from_dict({"deadline": "next tuesday"})
