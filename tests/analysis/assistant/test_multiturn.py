"""Follow-ups refine or point into the previous answer; the state is small, JSON-safe and validated."""

from __future__ import annotations

import json
from datetime import date

import pytest

from analysis.assistant import ConversationState, Entities
from catalog.errors import InvalidValueError


def after(ask, message: str, cards: tuple[str, ...] = (), state: ConversationState | None = None):
    u = ask(message, state)
    return u, (state or ConversationState()).advance(u, cards)


def test_shorter_halves_the_limit_and_keeps_intent_skills_and_types(ask) -> None:
    u1, st = after(ask, "is there a short video on embeddings?", ("r04011", "r04019"))
    assert (u1.intent, u1.entities.max_minutes) == ("search", 20)
    u2 = ask("and shorter ones?", st)
    assert u2.follow_up and u2.intent == "search"
    assert (u2.entities.skills, u2.entities.types, u2.entities.max_minutes) == (("embeddings",), ("video",), 10)


def test_what_about_videos_replaces_the_type_and_keeps_the_rest(ask) -> None:
    _, st = after(ask, "beginner articles about kafka", ("r04010",))
    u = ask("what about videos?", st)
    assert (u.intent, u.entities.skills, u.entities.types, u.entities.level) == \
        ("search", ("kafka",), ("video",), (1, 2))


def test_only_beginner_stuff_adds_a_level(ask) -> None:
    _, st = after(ask, "python exercises", ("r04020",))
    u = ask("only beginner stuff", st)
    assert (u.intent, u.entities.skills, u.entities.types, u.entities.level) == \
        ("search", ("python",), ("exercise",), (1, 2))


def test_a_follow_up_naming_a_new_skill_keeps_the_intent(ask) -> None:
    _, st = after(ask, "who can help me with kubernetes?")
    u = ask("what about kafka?", st)
    assert (u.intent, u.entities.skills) == ("mentor", ("kafka",))


def test_too_adds_a_type_and_not_removes_one(ask) -> None:
    _, st = after(ask, "react videos", ("r04019",))
    assert ask("tutorials too?", st).entities.types == ("video", "tutorial")
    assert ask("anything not a video?", st).entities.types[0] == "article"


def test_easier_and_harder_move_the_level(ask) -> None:
    _, st = after(ask, "level 3 pytorch material", ("r04020",))
    assert ask("easier please", st).entities.level == (1, 2)
    assert ask("harder ones?", st).entities.level == (4, 5)


@pytest.mark.parametrize(("message", "item"), [
    ("why the second one?", "r04003"),
    ("why the last one", "r04010"),
    ("why this course?", "r04003"),
    ("why that video?", "r04028"),
    ("explain step 3", "r04010"),
    ("is the first one up to date?", "r04028"),
])
def test_pointers_resolve_to_the_previous_cards(ask, message: str, item: str) -> None:
    _, st = after(ask, "what should I do next?", ("r04028", "r04003", "r04010"))
    u = ask(message, st)
    assert u.entities.item_id == item
    assert u.intent in ("explain", "stale")


def test_a_pointer_past_the_list_or_without_a_list_is_nothing(ask) -> None:
    _, st = after(ask, "what should I do next?", ("r04028",))
    assert ask("why the third one?", st).entities.item_id is None
    assert ask("why the second one?").entities.item_id is None


def test_why_alone_after_a_single_suggestion_means_that_one(ask) -> None:
    _, st = after(ask, "what should I do next?", ("r04024",))
    assert (ask("why?", st).intent, ask("why?", st).entities.item_id) == ("explain", "r04024")


def test_a_new_question_does_not_inherit_the_previous_filters(ask) -> None:
    _, st = after(ask, "short videos on docker", ("r04019",))
    u = ask("how am I doing?", st)
    assert u.intent == "progress" and not u.follow_up and u.entities == Entities()


def test_help_in_between_keeps_the_context(ask) -> None:
    u1, st = after(ask, "short videos on docker", ("r04019",))
    u2, st = after(ask, "what can you do?", (), st)
    assert u2.intent == "help" and st.intent == "search" and st.card_ids == ("r04019",)
    assert ask("and in spanish?", st).entities.language == "es"


def test_a_goal_waits_for_confirmation(ask) -> None:
    u, st = after(ask, "set my goal to kubernetes level 4 by March")
    assert u.intent == "set_goal" and st.pending_goal == u.entities
    yes = ask("yes please", st)
    assert (yes.intent, yes.confirm, yes.entities.skills, yes.entities.level, yes.entities.deadline) == \
        ("set_goal", True, ("kubernetes",), (4, 4), date(2027, 3, 31))
    no = ask("no, cancel", st)
    assert (no.intent, no.confirm) == ("set_goal", False)
    assert st.advance(yes).pending_goal is None
    assert ask("ok").intent == "help"  # "ok" with nothing pending is not a confirmation


def test_state_round_trips_through_json(ask) -> None:
    u, st = after(ask, "set my goal to SQL level 3 by June", ())
    u2, st = after(ask, "is there a short video on embeddings?", ("r04011", "r04019"), st)
    back = ConversationState.from_dict(json.loads(json.dumps(st.to_dict())))
    assert back == st and back.turn == 2
    assert ConversationState.from_dict(None) == ConversationState()


@pytest.mark.parametrize(("state", "field"), [
    ("not a dict", "state"),
    ({"intent": "dance"}, "state.intent"),
    ({"card_ids": ["ok", "bad id!"]}, "state.card_ids"),
    ({"card_ids": ["r1"] * 51}, "state.card_ids"),
    ({"turn": -1}, "state.turn"),
    ({"entities": {"types": ["hologram"]}}, "state.entities.types"),
])
def test_a_bad_state_is_rejected_naming_the_field(state, field: str) -> None:
    with pytest.raises(InvalidValueError) as e:
        ConversationState.from_dict(state)
    assert e.value.field == field
