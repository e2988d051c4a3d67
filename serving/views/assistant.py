"""``POST /assistant`` and ``skillpath ask``: one mentee message in, a grounded answer out.

Per message: load the conversation (:class:`~serving.conversations.ConversationStore`),
understand the message (:func:`analysis.assistant.understand`, with the service's clock),
fetch what the intent needs through the endpoints' own code
(:class:`~serving.views.assistant_facts.FactFetcher`), compose the answer
(:func:`analysis.assistant.compose`), store the next state, and optionally let a
language model rephrase the text (:class:`~serving.phrasing.Phraser`; the grounded text
stays the fallback). ``set_goal`` proposes first and writes only on the mentee's "yes",
through :func:`serving.mentee_goals.save_goal`, and only for a caller allowed to write.
Messages are not logged unless ``assistant.log_messages``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from analysis.assistant import (
    Answer, ConversationState, Facts, GoalCard, Lexicon, MentorCard, ProgressCard, ResourceCard, ResourceIndex,
    SkillCard, StepCard, Understanding, compose, default_classifier, understand,
)
from analysis.assistant.cards import Card, card_dict
from analysis.vocabulary import SkillVocabulary
from catalog.catalog import World
from catalog.errors import UnknownUserError
from catalog.schema import DEFAULT_PREREQ_LEVEL, Goal
from catalog.settings import AssistantSettings
from serving.bundle import CatalogView
from serving.conversations import ConversationStore, new_conversation_id
from serving.phrasing import Phraser
from serving.schemas_assistant import AssistantRequest, AssistantResponse
from serving.userstate import MenteeContexts
from serving.views.assistant_facts import Endpoints, FactFetcher, Fetched, needs_profile
from serving.views.mentors import MentorsView

__all__ = ["AssistantView", "NO_PROFILE_TEXT", "NOT_SAVED_TEXT"]

log = logging.getLogger("skillpath.assistant")

NO_PROFILE_TEXT = ("I have no profile for you yet, so I do not know your goals. Name a skill instead (\"how do I "
                   "get to Python level 3?\", \"who can help me with SQL?\"), or ask for your profile to be added.")
NOT_SAVED_TEXT = "Saving goals needs an API key with write access; your goals stay as they are."
GoalSaver = Callable[[str, Goal], object]


class AssistantView:
    """The virtual mentor over one world; built once per service (index, vocabulary, classifier), thread-safe.

    ``save_goal(user_id, goal)`` records a confirmed goal (:func:`serving.mentee_goals.save_goal`).
    """

    def __init__(self, world: World, endpoints: Endpoints, *, mentors: MentorsView, contexts: MenteeContexts,
                 catalog_view: Callable[[], CatalogView], clock: Callable[[], datetime], store: ConversationStore,
                 save_goal: GoalSaver, settings: AssistantSettings, phraser: Phraser | None = None) -> None:
        cat = world.catalog
        self.world, self.clock, self.store, self.save_goal = world, clock, store, save_goal
        self.settings, self.phraser = settings, phraser
        self.vocabulary = SkillVocabulary(cat.skills.values())
        self.lexicon = Lexicon.from_catalog(cat)
        self.index = ResourceIndex(cat)
        self.classifier = default_classifier()
        self.fetcher = FactFetcher(world, endpoints, index=self.index, mentors=mentors, contexts=contexts,
                                   catalog_view=catalog_view)

    # ------------------------------------------------------------ the message
    def ask(self, req: AssistantRequest, *, can_write: bool) -> AssistantResponse:
        """:meth:`answer`, then :meth:`phrase`: what the CLI and the benchmarks call."""
        return self.phrase(self.answer(req, can_write=can_write))

    def answer(self, req: AssistantRequest, *, can_write: bool) -> AssistantResponse:
        """The grounded answer to ``req``; the conversation's next state is stored before it returns.

        ``can_write``: the caller may change the mentee's profile (a confirmed goal is saved).
        Raises :class:`~catalog.errors.InvalidValueError` for an empty or too long message
        (``message``) and an unknown, expired or another mentee's ``conversation_id``.
        """
        now = self.clock()
        cid = req.conversation_id
        state = self.store.load(cid, req.user_id, now=now) if cid else ConversationState()
        u = understand(req.message, state=state, vocabulary=self.vocabulary, lexicon=self.lexicon, now=now,
                       classifier=self.classifier)
        if self.settings.log_messages:
            log.info("assistant %s: %r -> %s %s", req.user_id, req.message, u.intent, u.entities.to_dict())
        has_profile = req.user_id in self.world.mentees
        if u.understood and needs_profile(u) and not has_profile and u.confirm is not False:
            fetched, answer = Fetched(), Answer(u.intent, NO_PROFILE_TEXT)
        elif u.intent == "set_goal":
            fetched, answer = self._set_goal(u, req.user_id, can_write)
        else:
            fetched = self.fetcher.fetch(u, state, req.user_id, now)
            answer = compose(u, fetched.facts)
        nxt = state.advance(u, answer.card_ids)
        if not answer.needs_confirmation and nxt.pending_goal is not None:
            nxt = dataclasses.replace(nxt, pending_goal=None)  # nothing was proposed: a later "yes" confirms nothing
        cid = cid or new_conversation_id()
        self.store.save(cid, req.user_id, nxt, now=now)
        return AssistantResponse.model_validate({
            "conversation_id": cid, "intent": answer.intent, "understood": u.understood,
            "entities": u.entities.to_dict(), "text": answer.text, "text_source": "grounded",
            "needs_confirmation": answer.needs_confirmation,
            "cards": [self._card_out(c, fetched) for c in answer.cards]})

    def phrase(self, resp: AssistantResponse) -> AssistantResponse:
        """``resp`` with the language model's wording when one is configured and it stayed grounded."""
        if self.phraser is None:
            return resp
        text = self.phraser.rephrase(resp.text, [c.model_dump(mode="json") for c in resp.cards])
        return resp if text is None else resp.model_copy(update={"text": text, "text_source": "llm"})

    def close(self) -> None:
        self.store.close()
        if self.phraser is not None:
            self.phraser.close()

    # ------------------------------------------------------------ set_goal
    def _set_goal(self, u: Understanding, user_id: str, can_write: bool) -> tuple[Fetched, Answer]:
        """Propose the goal (first turn), or save it on "yes" (second turn); "no" changes nothing."""
        e, cat = u.entities, self.world.catalog
        if u.confirm is False or not e.skills:
            return Fetched(), compose(u, Facts())
        skill = e.skills[0]
        stored = next((g.level for g in self.world.mentees[user_id].goals if g.skill_id == skill), None)
        level = e.level[1] if e.level else (stored or DEFAULT_PREREQ_LEVEL)
        card = GoalCard(skill, cat.skills[skill].name, level, e.deadline)
        if u.confirm is True:
            if not can_write:
                return Fetched(), Answer(u.intent, NOT_SAVED_TEXT, (card,))
            try:
                self.save_goal(user_id, Goal(skill, level, e.deadline))
            except UnknownUserError:  # the profile went away between the two turns
                return Fetched(), Answer(u.intent, NO_PROFILE_TEXT)
            card = dataclasses.replace(card, saved=True)
        return Fetched(), compose(u, Facts(goal=card, names={skill: card.name}))

    # ------------------------------------------------------------ cards for the API
    def _card_out(self, card: Card, fetched: Fetched) -> dict[str, Any]:
        """A card as the API shows it: ``skills`` as ids (see :mod:`serving.schemas_assistant`)."""
        d = card_dict(card)
        if isinstance(card, ResourceCard):
            r = self.world.catalog.resource(card.item_id)
            d["skill_names"], d["skills"] = d["skills"], [f"{x.skill_id}:{x.level}" for x in r.skills]
        elif isinstance(card, MentorCard):
            d["skill_names"], d["skills"] = d["skills"], list(fetched.mentor_skills.get(card.mentor_id, ()))
        elif not isinstance(card, (StepCard, SkillCard, ProgressCard, GoalCard)):
            raise TypeError(f"unknown card {type(card).__name__}")
        return d
