"""The virtual mentor's pure core: understand a mentee's message, search the catalog, compose a grounded answer.

No I/O, no clock, no model download: ``now`` is a parameter, the intent classifier is
trained from utterances shipped with the package, the search index is built from a
:class:`catalog.catalog.Catalog`. The service and the CLI call, per message::

    u = understand(message, state=state, vocabulary=vocab, lexicon=lexicon, now=now)
    facts = <fetch what u.intent needs: docs/assistant.md, "Wiring">
    answer = compose(u, facts)
    state = state.advance(u, answer.card_ids)

See docs/assistant.md.
"""

from analysis.assistant.cards import (
    Facts, GoalCard, GoalProgress, MentorCard, ProgressCard, ResourceCard, SkillCard, SkillRef, StepCard,
    resource_card,
)
from analysis.assistant.classifier import IntentClassifier, default_classifier
from analysis.assistant.compose import HELP_TEXT, Answer, compose, help_answer
from analysis.assistant.entities import ENTITY_KINDS, SHORT_MINUTES, Entities
from analysis.assistant.intents import INTENTS
from analysis.assistant.lexicon import Lexicon
from analysis.assistant.respond import search_facts, skill_names
from analysis.assistant.search import ResourceIndex, SearchHit
from analysis.assistant.state import ConversationState
from analysis.assistant.understand import MAX_MESSAGE_CHARS, Understanding, check_message, understand

__all__ = [
    "INTENTS", "ENTITY_KINDS", "SHORT_MINUTES", "MAX_MESSAGE_CHARS",
    "Entities", "Understanding", "ConversationState", "Lexicon", "IntentClassifier", "ResourceIndex", "SearchHit",
    "understand", "check_message", "default_classifier",
    "Facts", "ResourceCard", "StepCard", "MentorCard", "SkillCard", "SkillRef", "ProgressCard", "GoalProgress",
    "GoalCard", "Answer", "compose", "help_answer", "HELP_TEXT", "search_facts", "skill_names", "resource_card",
]
