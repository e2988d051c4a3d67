"""The conversation so far, as a small JSON-safe value: last intent, entities, cards shown.

The state is the only memory between two messages: a follow-up ("and shorter ones?")
merges into the previous entities, "why the second one?" indexes the previous cards,
and a proposed goal waits in ``pending_goal`` until the mentee confirms it. It holds
ids and filters only, never message text, so storing it logs nothing the mentee wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.assistant.entities import SHORT_MINUTES, Entities, level_range
from analysis.assistant.intents import INTENTS
from catalog.errors import InvalidValueError
from catalog.schema import ID_PATTERN

__all__ = ["ConversationState", "merge_entities", "MAX_CARDS"]

MAX_CARDS = 50


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What the next message may refer to. ``turn`` counts answered messages."""

    turn: int = 0
    intent: str | None = None
    entities: Entities = Entities()
    card_ids: tuple[str, ...] = ()
    pending_goal: Entities | None = None

    def advance(self, understanding: Any, card_ids: Sequence[str] = ()) -> "ConversationState":
        """The state after answering ``understanding`` with ``card_ids`` shown, in order.

        A help answer (or a message not understood) keeps the previous context, so the
        mentee can go on refining the last list after asking what the assistant can do.
        A ``set_goal`` proposal waits for confirmation; the answer to it clears it.
        """
        if understanding.intent == "help":
            return ConversationState(self.turn + 1, self.intent, self.entities, self.card_ids, self.pending_goal)
        pending = None
        if understanding.intent == "set_goal" and understanding.confirm is None and understanding.entities.skills:
            pending = understanding.entities
        return ConversationState(self.turn + 1, understanding.intent, understanding.entities,
                                 tuple(card_ids)[:MAX_CARDS], pending)

    def to_dict(self) -> dict[str, Any]:
        return {"turn": self.turn, "intent": self.intent, "entities": self.entities.to_dict(),
                "card_ids": list(self.card_ids),
                "pending_goal": None if self.pending_goal is None else self.pending_goal.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "ConversationState":
        """The inverse of :meth:`to_dict`; a bad value raises naming ``state.<key>``."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise InvalidValueError("state", "must be an object")
        intent = d.get("intent")
        if intent is not None and intent not in INTENTS:
            raise InvalidValueError("state.intent", f"unknown intent {intent!r}")
        cards = d.get("card_ids") or []
        if not isinstance(cards, list) or len(cards) > MAX_CARDS or \
                not all(isinstance(c, str) and ID_PATTERN.match(c) for c in cards):
            raise InvalidValueError("state.card_ids", f"must be at most {MAX_CARDS} item ids")
        turn = d.get("turn", 0)
        if not isinstance(turn, int) or turn < 0:
            raise InvalidValueError("state.turn", "must be a non-negative integer")
        pending = d.get("pending_goal")
        return cls(turn, intent, Entities.from_dict(d.get("entities") or {}, field_name="state.entities"),
                   tuple(cards),
                   None if pending is None else Entities.from_dict(pending, field_name="state.pending_goal"))


def merge_entities(prev: Entities, new: Entities, relative: frozenset[str]) -> Entities:
    """A follow-up's entities: what it says replaces, what it leaves out is kept.

    "shorter" halves the previous time limit (:data:`SHORT_MINUTES` if there was none),
    "longer" drops it; "easier"/"harder" move the level range below/above the previous
    one (beginner/advanced if there was none); "videos too" adds a type.
    """
    types = prev.types
    if new.types:
        types = tuple(dict.fromkeys(prev.types + new.types)) if "add_types" in relative else new.types
    minutes = new.max_minutes
    if minutes is None:
        if "shorter" in relative:
            minutes = max(5, prev.max_minutes // 2) if prev.max_minutes else SHORT_MINUTES
        elif "longer" not in relative:
            minutes = prev.max_minutes
    level = new.level
    if level is None:
        if "easier" in relative:
            level = level_range(1, max(1, prev.level[0] - 1)) if prev.level else (1, 2)
        elif "harder" in relative:
            level = level_range(min(5, prev.level[1] + 1), 5) if prev.level else (4, 5)
        else:
            level = prev.level
    return Entities(
        skills=new.skills or prev.skills,
        types=types,
        max_minutes=minutes,
        level=level,
        deadline=new.deadline or prev.deadline,
        item_id=new.item_id or prev.item_id,
        language=new.language or prev.language,
    )
