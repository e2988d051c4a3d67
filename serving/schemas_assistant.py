"""Bodies of ``POST /assistant`` (the virtual mentor); see docs/serving.md and docs/assistant.md.

The cards mirror :mod:`analysis.assistant.cards` field for field, with one difference
that keeps the API consistent with ``/recommend``: ``skills`` always holds skill ids
(``skill:level`` on a resource, as ``RecommendedItem.skills``; covered skill ids on a
mentor), and the names the answer's text uses are in ``skill_names``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from analysis.assistant import INTENTS, MAX_MESSAGE_CHARS
from serving.schemas import ResourceType
from serving.schemas_base import TEXT_REGEX, Id, ResponseModel, StrictModel

__all__ = [
    "CONVERSATION_ID_REGEX", "Intent", "AssistantRequest", "AssistantEntities",
    "AssistantResourceCard", "AssistantStepCard", "AssistantMentorCard", "AssistantSkillRef", "AssistantSkillCard",
    "AssistantGoalProgress", "AssistantProgressCard", "AssistantGoalCard", "AssistantCard", "AssistantResponse",
]

#: What :func:`serving.conversations.new_conversation_id` makes: 22 URL-safe characters.
CONVERSATION_ID_REGEX = r"^[A-Za-z0-9_-]{16,64}$"
Intent = Literal[INTENTS]  # type: ignore[valid-type]
_CID_EXAMPLE = "c6Jq0x3bW1t2mZ4nA8rK9e"


class AssistantRequest(StrictModel):
    """One mentee message, optionally continuing a conversation."""

    user_id: Id = Field(description="The mentee asking (answers use their goals, history and language).",
                        examples=["u00042"])
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, pattern=TEXT_REGEX,
                         description=f"What the mentee wrote: 1-{MAX_MESSAGE_CHARS:,} characters, not only "
                                     "spaces. Never logged unless `assistant.log_messages` is on.",
                         examples=["is there a short video on embeddings?"])
    conversation_id: str | None = Field(
        None, pattern=CONVERSATION_ID_REGEX,
        description="Continue this conversation (the `conversation_id` of a previous answer to the same "
                    "mentee), so \"and shorter ones?\" or \"why the second one?\" refer to it; null starts a new "
                    "one. An unknown, expired or another mentee's id is a 400 naming this field.",
        examples=[_CID_EXAMPLE])


class AssistantEntities(ResponseModel):
    skills: list[str] = Field(description="Skill ids the message names (aliases, typos and plurals resolved).",
                              examples=[["kubernetes"]])
    types: list[ResourceType] = Field(description="Resource types asked for.",  # type: ignore[valid-type]
                                      examples=[["video"]])
    max_minutes: int | None = Field(description="Longest resource wanted, in minutes (\"short\" is 20).",
                                    examples=[20])
    level: list[int] | None = Field(min_length=2, max_length=2,
                                    description="Inclusive level range [low, high] (\"beginner\" is [1, 2]).",
                                    examples=[[1, 2]])
    deadline: str | None = Field(description="A date the message gave (\"by March\"), YYYY-MM-DD.",
                                 examples=["2027-03-31"])
    item_id: str | None = Field(description="The resource the message is about (named, or \"the second one\").",
                                examples=["r01800"])
    language: str | None = Field(description="A language asked for (ISO 639-1).", examples=["es"])


class AssistantResourceCard(ResponseModel):
    kind: Literal["resource"] = Field(description="A catalog resource.", examples=["resource"])
    item_id: str = Field(description="The resource id.", examples=["r01800"])
    title: str = Field(description="Its title.", examples=["A beginner's guide to Programming fundamentals"])
    type: str = Field(description="Its type.", examples=["article"])
    minutes: int = Field(description="How long it takes.", examples=[12])
    url: str = Field(description="Where it is.", examples=["https://real-python.example.org/articles/"
                                                       "a-beginner-s-guide-to-programming-fundamentals-r01800"])
    skills: list[str] = Field(description="Skills it teaches, as skill:level.", examples=[["programming-basics:1"]])
    skill_names: list[str] = Field(description="The same skills by name, as the text says them.",
                                   examples=[["Programming fundamentals (level 1)"]])
    level: int | None = Field(description="Its difficulty 1-5.", examples=[1])
    provider: str = Field(description="Who publishes it.", examples=["Real Python"])
    language: str = Field(description="Its language (ISO 639-1).", examples=["en"])
    reasons: list[str] = Field(description="Why the recommender suggests it (empty outside recommendations).",
                               examples=[["fits your goal: Programming fundamentals"]])
    updated: str | None = Field(description="Last update (else publication) date.", examples=["2024-05-04"])
    freshness: float | None = Field(description="Freshness 0-1 today (freshness questions only).", examples=[0.92])
    stale: bool | None = Field(description="Below the stale threshold (freshness questions only).",
                               examples=[False])


class AssistantStepCard(ResponseModel):
    kind: Literal["step"] = Field(description="A learning-path step (as `POST /path` plans it).", examples=["step"])
    step: int = Field(description="1 = do this first.", examples=[1])
    item_id: str = Field(description="The resource.", examples=["r01800"])
    title: str = Field(description="Its title.", examples=["A beginner's guide to Programming fundamentals"])
    type: str = Field(description="Its type.", examples=["article"])
    minutes: int = Field(description="How long it takes.", examples=[12])
    skill_id: str = Field(description="The skill this step works on.", examples=["pandas"])
    skill_name: str = Field(description="Its name.", examples=["pandas"])
    level: int = Field(description="The level of the skill this step reaches.", examples=[2])
    eta: str | None = Field(description="Expected completion date (YYYY-MM-DD).", examples=["2026-12-01"])
    reasons: list[str] = Field(description="Why this step, in skill terms.", examples=[["prerequisite of Machine "
                                                                                        "learning"]])
    mentor_id: str | None = Field(description="A mentor who can help with this step.", examples=["m026"])
    mentor_name: str | None = Field(description="Their name.", examples=["Donald Mwangi"])


class AssistantMentorCard(ResponseModel):
    kind: Literal["mentor"] = Field(description="A mentor with a free place.", examples=["mentor"])
    mentor_id: str = Field(description="The mentor.", examples=["m026"])
    name: str = Field(description="Their name.", examples=["Donald Mwangi"])
    skills: list[str] = Field(description="Skill ids of the question (or of the mentee's next skills) they cover.",
                              examples=[["python", "model-evaluation"]])
    skill_names: list[str] = Field(description="The same skills by name.", examples=[["Python", "Model evaluation"]])
    free_places: int | None = Field(description="Places left.", examples=[4])
    assigned: bool = Field(description="The mentee's own mentor (persisted assignment).", examples=[False])
    reasons: list[str] = Field(description="Why this mentor (mentor matching's reasons).",
                               examples=[["covers 2 of your 13 next skills: Python, Model evaluation"]])


class AssistantSkillRef(ResponseModel):
    skill_id: str = Field(description="A skill.", examples=["docker"])
    name: str = Field(description="Its name.", examples=["Docker"])
    level: int = Field(description="The level required.", examples=[3])


class AssistantSkillCard(ResponseModel):
    kind: Literal["skill"] = Field(description="A skill of the graph (as `GET /skills/{id}`).", examples=["skill"])
    skill_id: str = Field(description="The skill.", examples=["kubernetes"])
    name: str = Field(description="Its name.", examples=["Kubernetes"])
    domain: str = Field(description="Its domain.", examples=["cloud"])
    prerequisites: list[AssistantSkillRef] = Field(description="What it needs first, at which level.")
    dependents: list[AssistantSkillRef] = Field(description="What builds on it.")
    resources: int | None = Field(description="Active resources teaching it.", examples=[24])


class AssistantGoalProgress(ResponseModel):
    skill_id: str = Field(description="The goal skill.", examples=["pandas"])
    name: str = Field(description="Its name.", examples=["pandas"])
    target_level: int = Field(description="The goal's level.", examples=[4])
    level: float | None = Field(description="Estimated level now (0-5, from mastery).", examples=[2.0])
    mastery: float | None = Field(description="BKT mastery 0-1.", examples=[0.41])
    met: bool = Field(description="Already reached.", examples=[False])
    deadline: str | None = Field(description="The goal's deadline.", examples=["2027-03-07"])
    eta: str | None = Field(description="When the learning path reaches it at the weekly study time.",
                            examples=["2027-01-20"])


class AssistantProgressCard(ResponseModel):
    kind: Literal["progress"] = Field(description="Where the mentee stands.", examples=["progress"])
    goals: list[AssistantGoalProgress] = Field(description="Per goal.")
    completed: int | None = Field(description="Resources completed (event log).", examples=[14])
    started: int | None = Field(description="Resources started and not completed.", examples=[3])


class AssistantGoalCard(ResponseModel):
    kind: Literal["goal"] = Field(description="A goal proposed (awaiting yes/no) or saved.", examples=["goal"])
    skill_id: str = Field(description="The goal skill.", examples=["sql"])
    name: str = Field(description="Its name.", examples=["SQL"])
    level: int = Field(description="Target level 1-5.", examples=[3])
    deadline: str | None = Field(description="Target date.", examples=["2027-06-30"])
    saved: bool = Field(description="True once written to the mentee's profile.", examples=[False])


AssistantCard = Annotated[
    Union[AssistantResourceCard, AssistantStepCard, AssistantMentorCard, AssistantSkillCard, AssistantProgressCard,
          AssistantGoalCard],
    Field(discriminator="kind"),
]


class AssistantResponse(ResponseModel):
    conversation_id: str = Field(description="Send it back to continue the conversation.", examples=[_CID_EXAMPLE])
    intent: Intent = Field(description="What the message asked: next_step, path, explain, search, "  # type: ignore[valid-type]
                                       "progress, mentor, set_goal, stale or help.", examples=["search"])
    understood: bool = Field(description="False: nothing matched well enough; `text` lists what can be asked.",
                             examples=[True])
    entities: AssistantEntities = Field(description="What was understood (merged with the previous turn on a "
                                                    "follow-up).")
    text: str = Field(description="The answer. Every title, name, number and reason in it comes from `cards`.",
                      examples=["I found 2 videos on Embeddings and representation learning of at most 20 "
                                "minutes:\n1. Embeddings and representation learning crash course (video, 16 min, "
                                "Pluralsight)\n2. Embeddings and representation learning for absolute beginners "
                                "(video, 14 min, freeCodeCamp)"])
    text_source: Literal["grounded", "llm"] = Field(
        description="grounded: composed from the cards; llm: rephrased by `assistant.llm_url` and checked to "
                    "name no id or number outside the cards.", examples=["grounded"])
    needs_confirmation: bool = Field(description="True when the answer asks yes/no (a goal to set).",
                                     examples=[False])
    cards: list[AssistantCard] = Field(description="The structured results the text was built from, in the "
                                                   "order shown; each carries a `kind` and its ids.")
