"""Request and response bodies of the entity routes (``/resources``, ``/skills``, ``/mentees``, ``/mentors``).

The schema checks shapes; the entity store checks meaning (levels, dates from year
1000, known skills, cycles) with the same rules as the data dir's files, so a value is
accepted or refused alike over HTTP, from the CLI and in a CSV import. Skill levels may
be objects (``{"skill": "python", "level": 3}``) or strings (``"python:3"``); goals also
take ``"python:3@2027-01-31"``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, create_model

from serving.schemas_base import TEXT_REGEX, Id, ResponseModel, StrictModel

__all__ = [
    "LevelIn", "GoalEntryIn", "SkillIn", "ResourceIn", "MenteeIn", "MentorIn", "PATCH_MODELS",
    "EntityResponse", "EntityListResponse", "BatchResponse", "BatchItem", "BATCH_MODELS", "ForgetResponse",
    "ChangeOut", "ChangesResponse", "MAX_BATCH",
]

MAX_BATCH = 1000
_LEVEL_EX = [{"skill": "python", "level": 3}]
#: Free text in an entity: anything but NUL (refused by the JSON reader; the document says so).
Text = Annotated[str, Field(pattern=TEXT_REGEX)]


class LevelIn(StrictModel):
    skill: Id = Field(description="A skill id.", examples=["python"])
    level: int = Field(ge=1, le=5, description="Level 1-5.", examples=[3])


class GoalEntryIn(StrictModel):
    skill: Id = Field(description="A skill id.", examples=["rag"])
    level: int = Field(ge=1, le=5, description="Target level 1-5.", examples=[4])
    deadline: Text | None = Field(None, description="Target date (YYYY-MM-DD).", examples=["2027-01-31"])


Levels = list[LevelIn | Text]
Goals = list[GoalEntryIn | Text]


class SkillIn(StrictModel):
    """A skill of the graph (PUT /skills/{skill_id})."""

    skill_id: Id | None = Field(None, description="The skill id (defaults to the one in the path).", examples=["rag"])
    name: Text = Field(min_length=1, max_length=200, description="Its name.", examples=["Retrieval-augmented generation"])
    domain: Text = Field("", max_length=100, description="Its domain.", examples=["llm"])
    half_life_days: float | None = Field(None, gt=0, description="How fast its material goes stale (null: evergreen).",
                                         examples=[365.0])
    prerequisites: Levels = Field([], max_length=50, description="Skills needed first and at which level "
                                  "(a cycle is a 409 naming it).", examples=[[{"skill": "python", "level": 3}]])
    aliases: list[Text] = Field([], max_length=20, description="Other names of the skill.", examples=[["RAG"]])


class ResourceIn(StrictModel):
    """A learning resource (PUT /resources/{item_id})."""

    item_id: Id | None = Field(None, description="The resource id (defaults to the one in the path).",
                               examples=["r01800"])
    title: Text = Field(min_length=1, max_length=500, description="Its title.",
                       examples=["Structure and Interpretation of Computer Programs"])
    url: Text = Field("", max_length=2000, description="Where it is.", examples=["https://example.org/sicp"])
    type: Text = Field(description="article, video, course, exercise, project, book, tutorial, podcast, quiz, "
                                  "documentation, forum or other.", examples=["book"])
    skills: Levels = Field(min_length=1, max_length=50, description="Skills it teaches, at which level "
                           "(unknown skills are a 400 naming them).", examples=[_LEVEL_EX])
    difficulty: int = Field(3, ge=1, le=5, description="Difficulty 1-5.", examples=[3])
    duration_minutes: int = Field(30, ge=1, description="Time it takes.", examples=[600])
    published_at: Text = Field(description="Publication date or time, ISO-8601, any year from 1000 to 2200.",
                              examples=["1985-07-01"])
    updated_at: Text | None = Field(None, description="Last update (ISO-8601), not before publication.",
                                   examples=["1996-07-01"])
    half_life_days: float | None = Field(None, gt=0, description="Own staleness half-life (default: its skills').",
                                         examples=[None])
    provider: Text = Field("", max_length=200, description="Publisher or platform.", examples=["MIT Press"])
    language: Text = Field("en", max_length=20, description="Language code.", examples=["en"])
    active: bool = Field(True, description="False: retired (never recommended, history kept).", examples=[True])


class MenteeIn(StrictModel):
    """A mentee's profile (PUT /mentees/{user_id})."""

    user_id: Id | None = Field(None, description="The mentee id (defaults to the one in the path).",
                               examples=["u00042"])
    goals: Goals = Field([], max_length=20, description="Goals: skill, target level, optional deadline, as objects "
                         "or \"skill:level@YYYY-MM-DD\" (unknown skills are a 400 naming them).",
                         examples=[[{"skill": "rag", "level": 4, "deadline": "2027-01-31"}, "python:3"]])
    self_levels: Levels = Field([], max_length=100, description="Levels the mentee says they have.",
                                examples=[_LEVEL_EX])
    preferred_types: list[Text] = Field([], max_length=12, description="Resource types they prefer.",
                                       examples=[["video", "article"]])
    minutes_per_week: int | None = Field(None, ge=1, le=7 * 24 * 60, description="Study time per week.",
                                         examples=[180])
    language: Text = Field("", max_length=20, description="Language code.", examples=["en"])
    timezone: int | None = Field(None, ge=-12, le=14, description="UTC offset in hours.", examples=[1])


class MentorIn(StrictModel):
    """A mentor (PUT /mentors/{mentor_id})."""

    mentor_id: Id | None = Field(None, description="The mentor id (defaults to the one in the path).",
                                 examples=["m007"])
    name: Text = Field("", max_length=200, description="Their name.", examples=["Ada"])
    skills: Levels = Field([], max_length=100, description="Skills they mentor and at which level.",
                           examples=[[{"skill": "python", "level": 5}]])
    capacity: int = Field(1, ge=0, le=1000, description="How many mentees they take.", examples=[3])
    availability_hours: float = Field(2.0, ge=0, description="Hours per week.", examples=[4.0])
    language: Text = Field("", max_length=20, description="Language code.", examples=["en"])
    timezone: int | None = Field(None, ge=-12, le=14, description="UTC offset in hours.", examples=[1])
    formats: list[Text] = Field([], max_length=10, description="Formats they offer.", examples=[["video", "chat"]])


def _patch_model(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` with every field optional: a PATCH sets only the fields it sends."""
    fields: dict[str, Any] = {}
    for name, f in model.model_fields.items():
        if name.endswith("_id") and name != "skill_id" or name in ("item_id", "user_id", "mentor_id", "skill_id"):
            continue
        fields[name] = (f.annotation | None, Field(None, description=f.description, examples=f.examples))
    out = create_model(model.__name__.replace("In", "Patch"), __base__=StrictModel, **fields)
    out.__doc__ = f"Some fields of {model.__doc__.split('(')[0].strip().lower() if model.__doc__ else 'an entity'}; " \
                  "the others keep their value."
    return out


PATCH_MODELS: dict[str, type[BaseModel]] = {k: _patch_model(m) for k, m in
                                            (("skills", SkillIn), ("resources", ResourceIn), ("mentees", MenteeIn),
                                             ("mentors", MentorIn))}


def _batch_model(kind: str, model: type[BaseModel]) -> type[BaseModel]:
    out = create_model(f"{model.__name__.replace('In', '')}Batch", __base__=StrictModel,
                       items=(list[model], Field(min_length=1, max_length=MAX_BATCH,  # type: ignore[valid-type]
                                                 description=f"Up to {MAX_BATCH} {kind}, each with its id; all are "
                                                             "stored or none (errors name each bad item by index "
                                                             "and field).")))
    out.__doc__ = f"Create or replace up to {MAX_BATCH} {kind} in one all-or-nothing write."
    return out


BATCH_MODELS: dict[str, type[BaseModel]] = {k: _batch_model(k, m) for k, m in
                                            (("skills", SkillIn), ("resources", ResourceIn), ("mentees", MenteeIn),
                                             ("mentors", MentorIn))}


class EntityResponse(ResponseModel):
    """One stored entity; ``version`` is also the ``ETag`` to send as ``If-Match``."""

    kind: str = Field(description="skills, resources, mentees or mentors.", examples=["resources"])
    id: str = Field(description="The entity id.", examples=["r01800"])
    version: int = Field(description="1 on creation, +1 per change.", examples=[2])
    entity: dict[str, Any] = Field(description="The entity as stored.",
                                   examples=[{"item_id": "r01800", "title": "SICP", "type": "book",
                                              "skills": [{"skill": "python", "level": 3}], "active": True}])


class EntityListResponse(ResponseModel):
    """A page of entities in creation order."""

    items: list[EntityResponse] = Field(description="This page.")
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page (null: last page).",
                                    examples=["r00050"])


class BatchItem(ResponseModel):
    id: str = Field(description="The entity id.", examples=["r01800"])
    version: int = Field(description="Its version after the write.", examples=[1])


class BatchResponse(ResponseModel):
    """What a batch stored (a replay of identical entities keeps their versions)."""

    stored: int = Field(description="Entities in the batch.", examples=[2])
    items: list[BatchItem] = Field(description="Each entity's id and version.")


class ForgetResponse(ResponseModel):
    """What forgetting a mentee removed."""

    user_id: str = Field(description="The mentee forgotten.", examples=["u00042"])
    removed: dict[str, int] = Field(
        description="Rows removed per store: events, profile, mentor_assignment, conversations, offline_tables, "
                    "sessions, monitoring, and online_store (the mentee's entity keys in the Feast online store: "
                    "SQLite, and Redis when configured).",
        examples=[{"events": 1000, "profile": 1, "mentor_assignment": 1, "offline_tables": 1000, "online_store": 4}])
    note: str = Field(description="What still holds a trace until the next training.",
                      examples=["the served model keeps this mentee's trained vector until the next training"])


class ChangeOut(ResponseModel):
    seq: int = Field(description="Change number.", examples=[12])
    at: str = Field(description="When (UTC).", examples=["2026-12-07T16:00:00Z"])
    actor: str = Field(description="Which key (its role and a digest, never the key) or CLI user.",
                       examples=["curator (key 3f9a1c2b)"])
    op: str = Field(description="put, patch, retire, delete, forget or import.", examples=["put"])
    kind: str = Field(description="Entity kind.", examples=["resources"])
    id: str = Field(description="Entity id.", examples=["r01800"])
    version: int = Field(description="Version written.", examples=[2])
    summary: str = Field(description="Which fields changed.", examples=["set skills, title"])


class ChangesResponse(ResponseModel):
    """The admin change log, oldest first."""

    changes: list[ChangeOut] = Field(description="Changes after ``since``.")
