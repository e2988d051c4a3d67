"""Request and response bodies of the HTTP API (pydantic, ``extra="forbid"``).

Every field carries a description and an example, so the OpenAPI page documents itself.
Requests are :class:`~serving.schemas_base.StrictModel` (JSON types as they are) and ids
follow the catalog rule ``[A-Za-z0-9_.:@-]{1,128}``; a request that breaks a rule is
answered 400 naming the field and the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from catalog.schema import EVENT_TYPES, RESOURCE_TYPES
from serving.schemas_base import ID_REGEX, TEXT_REGEX, Id, ResponseModel, StrictModel, Timestamp

__all__ = [
    "ID_REGEX", "Id", "ResourceType", "EventType",
    "RecommendRequest", "RecommendedItem", "RecommendResponse",
    "EventIn", "EventsRequest", "EventsResponse",
    "SimilarItem", "SimilarResponse", "StaleItem", "StaleGap", "StaleResponse", "ReloadResponse",
    "ErrorDetail", "ErrorResponse",
]

ResourceType = Literal[RESOURCE_TYPES]  # type: ignore[valid-type]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
MAX_K = 100
MAX_EVENTS = 1000
#: The base of answers under its former name (schemas written before schemas_base.py import it).
_Strict = ResponseModel


# ------------------------------------------------------------------ /recommend
class RecommendRequest(StrictModel):
    """What to recommend to whom, with optional filters."""

    user_id: Id = Field(description="The mentee to recommend to (unknown ids get a cold-start answer).",
                        examples=["u00042"])
    k: int = Field(10, ge=1, le=MAX_K, description="How many resources to return (1-100).", examples=[10])
    goal_skills: list[Id] | None = Field(
        None, max_length=50,
        description="Only resources teaching at least one of these skills; also the goals the "
                    "reasons and the cold-start answer use (default: the mentee's profile goals).",
        examples=[["prompt-engineering", "python"]])
    types: list[ResourceType] | None = Field(  # type: ignore[valid-type]
        None, max_length=len(RESOURCE_TYPES), description="Only resources of these types.",
        examples=[["video", "article"]])
    max_minutes: int | None = Field(None, ge=1, le=100_000,
                                    description="Only resources that take at most this many minutes.",
                                    examples=[45])
    exclude_item_ids: list[Id] | None = Field(None, max_length=1000,
                                              description="Never return these resources.",
                                              examples=[["r00002"]])
    include_stale: bool = Field(
        False, description="Also return resources whose freshness is below the stale threshold. "
                           "Decay always lowers their score either way.",
        examples=[False])
    mode: Literal["hybrid", "model", "path"] = Field(
        "hybrid", description="hybrid (default): the model's prediction blended with the mentee's goals, "
                              "prerequisite readiness, mastery gap and path, diversified over skills (the "
                              "first reason says which part chose each item); model: the top-k by score; "
                              "path: the next steps (min(k, 5)) of the mentee's learning path towards their "
                              "goals (or goal_skills), prerequisites first, with path reasons and a mentor who "
                              "can help.", examples=["hybrid"])


class RecommendedItem(ResponseModel):
    item_id: str = Field(description="The resource id.", examples=["r01800"])
    title: str = Field(description="Its title.", examples=["Programming fundamentals basics (tutorial)"])
    type: str = Field(description="Its type.", examples=["tutorial"])
    score: float = Field(description="Ranking score: model score + λ·log(freshness); higher is better.",
                         examples=[1.234])
    freshness: float = Field(description="Freshness multiplier in [floor, 1] at serving time.", examples=[0.92])
    skills: list[str] = Field(description="Skills it teaches, as skill:level.", examples=[["programming-basics:1"]])
    reasons: list[str] = Field(description="Short, true statements on why it is here.",
                               examples=[["fits your goal: Programming fundamentals", "updated 5 months ago"]])


class RecommendResponse(ResponseModel):
    user_id: str = Field(description="The mentee.", examples=["u00042"])
    model_version: str = Field(description="The model that ranked the list (registry version or local checksum).",
                               examples=["3"])
    user_known: bool = Field(description="Whether SkillPath knows this mentee (profile, events or model).",
                             examples=[True])
    fallback: Literal["popular", "content"] | None = Field(
        description="null: the model ranked the list; 'content': cold start from goal skills; "
                    "'popular': cold start from popularity.", examples=[None])
    online_features: Literal["ok", "timeout", "unavailable", "rebuilding", "off"] = Field(
        "off", description="The online feature store's health as last seen (breaker, last read or push; "
                           "'rebuilding' after it came back empty); the store is not read per recommendation.",
        examples=["off"])
    mode: Literal["hybrid", "model", "path"] = Field("hybrid", description="The mode that produced the list.",
                                                     examples=["hybrid"])
    items: list[RecommendedItem] = Field(description="Best first (path mode: in path order).")
    goal_fallback: Literal["prerequisites", "nothing"] | None = Field(
        None, description="Hybrid mode with goal_skills only. null: the list teaches the goal skills (or none "
                          "were sent). 'prerequisites': no item teaching them is ready for the mentee (their "
                          "prerequisites are not held), so the list is the next steps towards them: items "
                          "teaching the missing prerequisites, in learning-path order, each reason naming "
                          "the goal it leads to. 'nothing': no ready item and no path to the goal skills "
                          "under the request's filters; items is empty and note says why.",
        examples=[None])
    note: str | None = Field(None, description="One line on why the list is not what was asked for "
                                               "(set with goal_fallback).",
                             examples=["nothing teaching prompt-engineering is ready for you yet: "
                                       "these are the next steps towards it"])


# ------------------------------------------------------------------ /events
class EventIn(StrictModel):
    event_id: Id | None = Field(None, description="Idempotency key: resending the same event is harmless. "
                                                  "Absent: the sha1 of user, item, type, timestamp and value "
                                                  "(the rule of `skillpath events ingest` and `data import`).",
                                examples=["app-7f3c:0001"])
    user_id: Id = Field(description="The mentee.", examples=["u00042"])
    item_id: Id = Field(description="A catalog resource.", examples=["r01800"])
    event_type: EventType = Field("view", description="What happened (default: view, as in file imports).",  # type: ignore[valid-type]
                                  examples=["complete"])
    value: float | None = Field(None, description="assess: a score 0-100 (required); like: a rating 1-5; "
                                                  "otherwise empty.", examples=[None])
    timestamp: Timestamp = Field(description="When it happened (ISO-8601 date and time; naive means UTC).",
                                examples=["2025-03-01T12:00:00Z"])
    source: str = Field("", max_length=128, pattern=TEXT_REGEX, description="The client that sent it.",
                        examples=["web"])


class EventsRequest(StrictModel):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS,
                                  description="1-1000 events, stored all-or-nothing.")


class EventsResponse(ResponseModel):
    accepted: int = Field(description="Events stored by this call.", examples=[3])
    duplicates: int = Field(description="Events already stored earlier (replays), acknowledged again.",
                            examples=[0])
    online_features: Literal["queued", "dropped", "unchanged", "off"] = Field(
        "off", description="The mentees' online engagement features: 'queued' (pushed to the online store "
                           "in the background, never on the request path), 'dropped' (the push queue was "
                           "full; the daily materialisation catches up), 'unchanged' (nothing new to write), "
                           "'off' (online features disabled). The events are stored either way.",
        examples=["queued"])


# ------------------------------------------------------------------ GET routes
class SimilarItem(ResponseModel):
    item_id: str = Field(description="The resource id.", examples=["r00456"])
    title: str = Field(description="Its title.", examples=["Programming fundamentals in practice (article)"])
    type: str = Field(description="Its type.", examples=["article"])
    similarity: float = Field(description="Cosine of item factors (EASE: its weight; content: skill overlap).",
                              examples=[0.83])


class SimilarResponse(ResponseModel):
    item_id: str = Field(description="The resource asked about.", examples=["r01800"])
    model_version: str = Field(description="The model used.", examples=["3"])
    method: Literal["factors", "ease", "skills"] = Field(description="How similarity was measured.",
                                                         examples=["factors"])
    items: list[SimilarItem] = Field(description="Most similar first; inactive resources are left out.")


class StaleItem(ResponseModel):
    item_id: str = Field(description="The resource id.", examples=["r00049"])
    title: str = Field(description="Its title.", examples=["Practical pandas (other)"])
    type: str = Field(description="Its type.", examples=["article"])
    skills: str = Field(description="Skills it teaches.", examples=["pandas:3;eda:3"])
    provider: str = Field(description="Who publishes it.", examples=["GitHub"])
    age_days: float = Field(description="Days since its last update.", examples=[900.0])
    half_life_days: float = Field(description="Resolved half-life.", examples=[180.0])
    half_life_source: str = Field(description="Where the half-life came from.", examples=["skill"])
    freshness: float = Field(description="Freshness at as_of.", examples=[0.1])
    reach_without_decay: int | None = Field(
        description="Mentees whose top-10 it would enter if it had not decayed (null: no factor model "
                    "loaded, or as_of is not the service's current day).",
        examples=[12])
    reach_with_decay: int | None = Field(description="Mentees whose top-10 it enters as it is.", examples=[0])


class StaleGap(ResponseModel):
    skill_id: str = Field(description="A skill whose active content is all stale.", examples=["prompt-engineering"])
    name: str = Field(description="Its name.", examples=["Prompt engineering"])
    n_items: int = Field(description="Its active resources.", examples=[4])
    n_stale: int = Field(description="How many of them are stale.", examples=[4])
    best_freshness: float | None = Field(description="Freshness of its freshest resource.", examples=[0.31])
    freshest_item: str | None = Field(description="Its freshest resource.", examples=["r00134"])


class StaleResponse(ResponseModel):
    as_of: datetime = Field(description="The time freshness was computed at.", examples=["2025-03-01T00:00:00Z"])
    threshold: float = Field(description="Freshness below this is stale.", examples=[0.5])
    n_active: int = Field(description="Active resources in the catalog.", examples=[300])
    stale_share: float = Field(description="Share of active resources that are stale.", examples=[0.12])
    n_mentees: int = Field(description="Mentees the reach columns were computed over.", examples=[200])
    model_version: str | None = Field(description="The model used for reach.", examples=["3"])
    items: list[StaleItem] = Field(description="Stale resources, stalest first.")
    gaps: list[StaleGap] = Field(description="Skills left without fresh content.")


class ReloadResponse(ResponseModel):
    changed: bool = Field(description="Whether a new model now serves.", examples=[True])
    model_version: str = Field(description="The model serving now.", examples=["4"])
    previous_version: str | None = Field(description="The model that served before.", examples=["3"])
    sha256: str = Field(description="Checksum of the serving model's manifest.", examples=["9f2c..."])


# ------------------------------------------------------------------ errors
class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(description="Where: the field's path in the JSON body (query and path "
                                             "parameters start with 'query' / 'path', headers with 'header').",
                                 examples=[["k"]])
    msg: str = Field(description="Why.", examples=["Input should be less than or equal to 100"])
    type: str = Field(description="A machine-readable kind (pydantic's error type, or ours).",
                      examples=["less_than_equal"])


class ErrorResponse(BaseModel):
    """The body of every error answer (4xx and 5xx)."""

    error: str = Field(description="One line: the field and the reason.",
                       examples=["k: Input should be less than or equal to 100"])
    detail: list[ErrorDetail] = Field(description="Each problem, with its field.")
