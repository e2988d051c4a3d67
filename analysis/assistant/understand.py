"""``understand(message, state=...)``: the intent, the entities and how sure we are.

Order of decisions:

1. the message is checked (non-empty, at most :data:`MAX_MESSAGE_CHARS`);
2. a pending goal's "yes"/"no" is a ``set_goal`` confirmation;
3. the message is parsed on its own (:func:`~analysis.assistant.extract.parse`);
4. a clear phrasing decides the intent (:mod:`~analysis.assistant.intents`); otherwise a
   follow-up cue keeps the previous intent ("what about videos?"), otherwise the
   classifier decides, and below :data:`MIN_CONFIDENCE` the answer is "help" with
   ``understood=False``;
5. a follow-up merges its entities into the previous ones; pointers ("the second one",
   "this course") become the item ids of the previous cards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from analysis.assistant.classifier import IntentClassifier, default_classifier
from analysis.assistant.entities import Entities
from analysis.assistant.extract import Parsed, parse
from analysis.assistant.intents import is_confirmation, is_follow_up_cue, mentions_learning, rule_intent
from analysis.assistant.lexicon import Lexicon
from analysis.assistant.references import resolve_reference
from analysis.assistant.state import ConversationState, merge_entities
from analysis.vocabulary import SkillVocabulary
from catalog.errors import InvalidValueError

__all__ = ["Understanding", "understand", "check_message", "MAX_MESSAGE_CHARS", "MIN_CONFIDENCE"]

MAX_MESSAGE_CHARS = 2000
# Below this classifier probability (and with no rule) the message is not understood;
# chosen by cross-validation on the training set (benchmarks/assistant.md, "Tuning").
MIN_CONFIDENCE = 0.25
_RULE_CONFIDENCE = 0.95
_FOLLOW_UP_CONFIDENCE = 0.9
# Intents for which a bare "it"/"this" or a lone previous card is what the question is about.
_ABOUT_AN_ITEM = ("explain", "stale", "mentor")
_HORIZON_INTENTS = ("set_goal", "path")


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a message asks. ``intent`` is one of :data:`~analysis.assistant.intents.INTENTS`.

    ``understood`` is False when nothing matched well enough (the intent is then
    ``help``); ``follow_up`` when the message refined the previous answer; ``confirm``
    is the answer to a pending goal (True/False), else None; ``masked`` is the message
    with what was understood replaced by placeholders (what the classifier read);
    ``keywords`` the remaining topic words, for text search. Neither of the last two is
    in :meth:`to_dict` nor in the conversation state: they hold the mentee's own words.
    """

    intent: str
    entities: Entities
    confidence: float
    understood: bool = True
    follow_up: bool = False
    confirm: bool | None = None
    source: str = "classifier"
    masked: str = ""
    keywords: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"intent": self.intent, "entities": self.entities.to_dict(), "confidence": round(self.confidence, 4),
                "understood": self.understood, "follow_up": self.follow_up, "confirm": self.confirm}


def check_message(message: object) -> str:
    """``message`` stripped, or :class:`InvalidValueError` naming the field ``message``."""
    if not isinstance(message, str):
        raise InvalidValueError("message", "must be a string")
    if len(message) > MAX_MESSAGE_CHARS:
        raise InvalidValueError("message", f"is {len(message):,} characters long; the limit is {MAX_MESSAGE_CHARS:,}")
    text = message.strip()
    if not text:
        raise InvalidValueError("message", "must not be empty")
    return text


def understand(message: str, *, state: ConversationState | None = None, vocabulary: SkillVocabulary,
               lexicon: Lexicon, now: datetime | date, classifier: IntentClassifier | None = None,
               min_confidence: float = MIN_CONFIDENCE) -> Understanding:
    """Understand one mentee message in the context of ``state`` (None: a new conversation).

    Pure: ``now`` resolves relative dates ("by March"), nothing is read from the clock or
    written anywhere; the caller stores ``state.advance(result, card_ids)`` for the next turn.
    """
    text = check_message(message)
    state = state or ConversationState()
    today = now.date() if isinstance(now, datetime) else now
    if state.pending_goal is not None:
        answer = is_confirmation(text)
        if answer is not None:
            return Understanding("set_goal", state.pending_goal, 1.0, confirm=answer, source="confirmation")
    parsed = parse(text, vocabulary=vocabulary, lexicon=lexicon, today=today)
    intent, confidence, source, understood = _decide(parsed, state, classifier or default_classifier(), min_confidence)
    follow_up = source == "follow_up"
    entities = merge_entities(state.entities if follow_up else Entities(), parsed.entities, parsed.relative)
    if parsed.horizon and entities.deadline is None and intent in _HORIZON_INTENTS:
        entities = entities.with_(deadline=parsed.horizon)
    if not parsed.entities.item_id:
        item = _referenced_item(parsed, intent, entities, state, lexicon)
        if item is not None or not follow_up:
            entities = entities.with_(item_id=item)
    return Understanding(intent, entities, confidence, understood, follow_up, None, source, parsed.masked,
                         parsed.keywords)


def _decide(parsed: Parsed, state: ConversationState, classifier: IntentClassifier,
            min_confidence: float) -> tuple[str, float, str, bool]:
    rule = rule_intent(parsed.masked)
    if rule is not None:
        return rule[0], _RULE_CONFIDENCE, "rule", True
    if state.intent not in (None, "help") and is_follow_up_cue(parsed.masked, has_new_skills=bool(parsed.entities.skills)):
        return str(state.intent), _FOLLOW_UP_CONFIDENCE, "follow_up", True
    intent, p = classifier.predict(parsed.masked)
    if p < min_confidence or intent == "help" or not (parsed.pointers or mentions_learning(parsed.masked)):
        return "help", p, "classifier", False
    return intent, p, "classifier", True


def _referenced_item(parsed: Parsed, intent: str, entities: Entities, state: ConversationState,
                     lexicon: Lexicon) -> str | None:
    """The previous card a pointer designates ("the second one", "this course", "it")."""
    cards = state.card_ids
    if not cards:
        return None
    for p in parsed.pointers:
        named = p.kind == "ordinal" or (p.kind == "this" and p.value is not None)
        if named or (p.kind == "this" and intent in _ABOUT_AN_ITEM):
            return resolve_reference(p, cards, lexicon)
    if intent in ("explain", "stale") and len(cards) == 1 and not entities.skills and \
            not any(p.kind == "these" for p in parsed.pointers):
        return cards[0]  # "why?" right after a single suggestion
    return None
