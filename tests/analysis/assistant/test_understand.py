"""Each intent on hand-checked messages, "not understood", and messages rejected with a clear error."""

from __future__ import annotations

import pytest

from analysis.assistant import INTENTS, MAX_MESSAGE_CHARS, check_message
from catalog.errors import InvalidValueError, SkillPathError


@pytest.mark.parametrize(("message", "intent"), [
    ("what should I do next?", "next_step"),
    ("I have 20 minutes, anything for me to do now?", "next_step"),
    ("how do I get to Kubernetes level 4 by March?", "path"),
    ("show me my learning roadmap", "path"),
    ("why did you suggest r04024?", "explain"),
    ("what is RAG?", "explain"),
    ("what are the prerequisites of airflow", "explain"),
    ("is there a short video on embeddings?", "search"),
    ("tutorials on docker", "search"),
    ("how am I doing?", "progress"),
    ("am I on track for my goals", "progress"),
    ("who can help me with Kubernetes?", "mentor"),
    ("I need a mentor for rust", "mentor"),
    ("set my goal to SQL level 3", "set_goal"),
    ("add terraform to my goals", "set_goal"),
    ("is r04003 outdated?", "stale"),
    ("which resources are stale", "stale"),
    ("help", "help"),
    ("what can you do?", "help"),
])
def test_each_intent(ask, message: str, intent: str) -> None:
    u = ask(message)
    assert u.intent == intent, (message, u.intent, u.masked)
    assert u.intent in INTENTS
    assert 0.0 <= u.confidence <= 1.0


@pytest.mark.parametrize("message", ["what's for lunch", "asdfgh qwerty", "who won the game last night"])
def test_unrelated_messages_are_not_understood_and_get_help(ask, message: str) -> None:
    u = ask(message)
    assert (u.intent, u.understood) == ("help", False)


def test_a_clear_help_request_is_understood(ask) -> None:
    assert ask("help").understood is True


def test_earliest_request_wins_in_a_mixed_message(ask) -> None:
    assert ask("how am I doing and what should I do next").intent == "progress"
    assert ask("what should I do next, and how am I doing").intent == "next_step"


@pytest.mark.parametrize(("message", "reason"), [
    ("", "must not be empty"),
    ("   \n\t ", "must not be empty"),
    ("x" * (MAX_MESSAGE_CHARS + 1), "the limit is 2,000"),
    (None, "must be a string"),
])
def test_bad_messages_raise_an_error_naming_the_field(ask, message, reason: str) -> None:
    with pytest.raises(InvalidValueError) as e:
        ask(message)
    assert isinstance(e.value, SkillPathError) and isinstance(e.value, ValueError)
    assert e.value.field == "message"
    assert reason in str(e.value) and str(e.value).startswith("message: ")


def test_the_longest_allowed_message_is_accepted(ask) -> None:
    assert check_message("a" * MAX_MESSAGE_CHARS) == "a" * MAX_MESSAGE_CHARS
    assert ask(("what should I do next? " * 200)[:MAX_MESSAGE_CHARS]).intent == "next_step"


def test_to_dict_holds_no_message_words(ask) -> None:
    d = ask("is there a short video on embeddings about cosine similarity?").to_dict()
    assert set(d) == {"intent", "entities", "confidence", "understood", "follow_up", "confirm"}
    assert "cosine" not in repr(d)
