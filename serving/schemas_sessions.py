"""Bodies of the mentoring-session routes: ``POST /sessions``, the session lists, feedback and pair health.

Requests are checked twice on purpose: pydantic here (types and ranges, 400 naming the
field) and :func:`catalog.sessions.parse_sessions` (the one validation every input shape
shares; a transcript or notes over its limit is its 413). Texts (transcript, notes,
comments, action-item sentences) are null in an answer when the caller may not read
them (``texts: "withheld"``) or the store did not keep them (``"not_stored"``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from catalog.sessions import (
    CHANNELS, MAX_ACTION_ITEM_CHARS, MAX_ACTION_ITEMS, MAX_COMMENT_CHARS, MAX_NOTES_CHARS, MAX_TRANSCRIPT_CHARS,
)
from serving.schemas_base import TEXT_REGEX, Id, ResponseModel, StrictModel, Timestamp

__all__ = [
    "MAX_SESSIONS", "SideRatings", "SideComments", "SessionIn", "SessionsRequest", "SessionsResponse",
    "RatingsOut", "CommentsOut",
    "SideSentimentOut", "ActionItemOut", "SessionAnalysisOut", "SessionOut", "SessionListResponse",
    "SignalOut", "PairHealthResponse", "PairFeedback", "MentorFeedbackResponse",
]

MAX_SESSIONS = 500
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
Texts = Literal["included", "withheld", "not_stored", "none"]
_TRANSCRIPT = ("Mentor: How did the SQL exercises go?\nMentee: I finished them. How should I start with "
               "Python?\nMentor: For next week, read the first chapter and write one small script.")


SkillId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,128}$", min_length=1, max_length=128)]
Text = Annotated[str, Field(pattern=TEXT_REGEX)]
ActionText = Annotated[str, Field(pattern=TEXT_REGEX, max_length=MAX_ACTION_ITEM_CHARS)]


def _one_or_batch(schema: dict[str, Any]) -> None:
    """The document says what the route takes: a batch, or one session object."""
    batch = {k: v for k, v in schema.items() if k not in ("title", "description")}
    for key in list(batch):
        schema.pop(key)
    schema["oneOf"] = [batch, {"$ref": "#/components/schemas/SessionIn"}]


class SideRatings(StrictModel):
    """Each side's 1-5 rating of the session."""

    mentee: int | None = Field(None, ge=1, le=5, description="The mentee's rating, 1-5.", examples=[4])
    mentor: int | None = Field(None, ge=1, le=5, description="The mentor's rating, 1-5.", examples=[5])


class SideComments(StrictModel):
    """Each side's short comment on the session (null when withheld or not stored)."""

    mentee: Text | None = Field(None, max_length=MAX_COMMENT_CHARS, description="The mentee's comment.",
                                examples=["Really useful, thanks!"])
    mentor: Text | None = Field(None, max_length=MAX_COMMENT_CHARS, description="The mentor's comment.",
                                examples=["Good progress on SQL."])


class SessionIn(StrictModel):
    """One mentoring session as a client records it."""

    session_id: Id = Field(description="The session's id, the idempotency key: the same session again is a "
                                       "duplicate, the same id with another body a 409.", examples=["s-1"])
    mentor_id: Id = Field(description="The mentor (must exist).", examples=["m026"])
    mentee_id: Id = Field(description="The mentee (must exist).", examples=["u00042"])
    started_at: Timestamp = Field(description="When it started (ISO-8601; naive = UTC; at most a day ahead).",
                                 examples=["2026-11-02T10:00:00Z"])
    duration_minutes: int = Field(ge=1, le=600, description="How long it lasted, 1-600 minutes.", examples=[45])
    channel: Channel = Field(description="How the pair met.", examples=["video"])  # type: ignore[valid-type]
    notes: Text | None = Field(None, description=f"Free notes, at most {MAX_NOTES_CHARS:,} characters (413 above).",
                              examples=["Agreed to practise joins before next session."])
    transcript: Text | None = Field(
        None, description=f"Speaker-labelled transcript ('Mentor: ...' / 'Mentee: ...' lines), at most "
                          f"{MAX_TRANSCRIPT_CHARS:,} characters (413 above).", examples=[_TRANSCRIPT])
    skills_discussed: list[SkillId] | None = Field(None, max_length=200, description="Skill ids the pair recorded.",
                                              examples=[["sql", "python"]])
    action_items: list[ActionText] | None = Field(None, max_length=MAX_ACTION_ITEMS,
                                           description="Action items the pair recorded (each at most 500 "
                                                       "characters).", examples=[["Write one small script"]])
    ratings: SideRatings | None = Field(None, description="Each side's 1-5 rating.")
    comments: SideComments | None = Field(None, description="Each side's short comment.")


class SessionsRequest(StrictModel):
    """A batch of sessions, or one session object (a batch of one: its errors are named ``sessions.0.*``)."""

    model_config = {**StrictModel.model_config, "json_schema_extra": _one_or_batch}

    sessions: list[SessionIn] = Field(min_length=1, max_length=MAX_SESSIONS,
                                      description=f"1-{MAX_SESSIONS} sessions, stored all or nothing.")

    @model_validator(mode="before")
    @classmethod
    def _one(cls, data: Any) -> Any:
        if isinstance(data, dict) and "sessions" not in data and "session_id" in data:
            return {"sessions": [data]}
        return data


class RatingsOut(ResponseModel):
    """Each side's 1-5 rating (null: not given)."""

    mentee: int | None = Field(description="The mentee's rating, 1-5.", examples=[4])
    mentor: int | None = Field(description="The mentor's rating, 1-5.", examples=[5])


class CommentsOut(ResponseModel):
    """Each side's comment ("" when none; null when withheld)."""

    mentee: str | None = Field(description="The mentee's comment.", examples=["Really useful, thanks!"])
    mentor: str | None = Field(description="The mentor's comment.", examples=["Good progress on SQL."])


class SessionsResponse(ResponseModel):
    """What was stored: durably (fsynced) before this answer."""

    accepted: int = Field(description="Sessions stored now.", examples=[1])
    duplicates: int = Field(description="Sessions already stored with the same body (idempotent replays).",
                            examples=[0])
    session_ids: list[str] = Field(description="Every session id acknowledged, in input order.",
                                   examples=[["s-1"]])
    texts_stored: bool = Field(description="Whether transcripts and notes were kept (`sessions.store_text`); "
                                           "the analysis is kept either way.", examples=[True])


class SideSentimentOut(ResponseModel):
    """One side's tone: VADER compound per sentence, averaged, and the shares above/below neutral."""

    compound: float = Field(description="Mean VADER compound score over the side's sentences, -1 to 1.",
                            examples=[0.31])
    positive: float = Field(description="Share of the side's sentences at or above +0.05.", examples=[0.5])
    negative: float = Field(description="Share of the side's sentences at or below -0.05.", examples=[0.0])
    sentences: int = Field(description="Sentences the side said.", examples=[4])


class ActionItemOut(ResponseModel):
    """An action item detected in the texts or recorded with the session."""

    text: str | None = Field(description="The sentence (null when texts are withheld, and for a detected item "
                                         "when the store keeps no texts).",
                             examples=["For next week, read the first chapter and write one small script."])
    speaker: str = Field(description="Who said it: mentor, mentee, notes or recorded.", examples=["mentor"])
    owner: str = Field(description="Who will do it: mentor or mentee.", examples=["mentee"])
    kind: str = Field(description="Which rule found it: marker, commitment, request, deadline or recorded.",
                      examples=["request"])
    skills: list[str] = Field(description="Skill ids it names (or the turn before named).", examples=[["python"]])
    source: str = Field(description="detected (from the texts) or recorded (with the session).",
                        examples=["detected"])


class SessionAnalysisOut(ResponseModel):
    """The derived signals of one session (docs/sessions.md)."""

    has_text: bool = Field(description="The session came with a transcript or notes.", examples=[True])
    words: dict[str, int] = Field(description="Words each speaker said (mentor, mentee, unknown).",
                                  examples=[{"mentor": 31, "mentee": 22, "unknown": 0}])
    talk_balance: dict[str, float] | None = Field(description="Each side's share of the words (null without a "
                                                              "labelled transcript).",
                                                  examples=[{"mentor": 0.58, "mentee": 0.42}])
    sentiment: dict[str, SideSentimentOut] = Field(description="Each side's tone, for sides that spoke.")
    comment_sentiment: dict[str, float] = Field(description="VADER compound of each side's comment.",
                                                examples=[{"mentee": 0.49}])
    mentee_questions: int | None = Field(description="Questions the mentee asked (null without mentee turns).",
                                         examples=[1])
    action_items: list[ActionItemOut] = Field(description="Action items found or recorded.")
    skills: list[str] = Field(description="Skill ids mentioned or recorded, in order of first mention.",
                              examples=[["sql", "python"]])
    skill_counts: dict[str, int] = Field(description="Mentions of each skill.", examples=[{"sql": 1, "python": 1}])


class SessionOut(ResponseModel):
    """A stored session with its analysis."""

    session_id: str = Field(description="The session's id.", examples=["s-1"])
    mentor_id: str = Field(description="The mentor.", examples=["m026"])
    mentee_id: str = Field(description="The mentee.", examples=["u00042"])
    started_at: datetime = Field(description="When it started (UTC).", examples=["2026-11-02T10:00:00Z"])
    duration_minutes: int = Field(description="Minutes.", examples=[45])
    channel: str = Field(description="How the pair met.", examples=["video"])
    texts: Texts = Field(description="included; withheld (the caller is not of the pair, a lead or an admin); "
                                     "not_stored (`sessions.store_text: false`); none (the session had no text).",
                         examples=["included"])
    notes: str | None = Field(description="Notes (null unless texts are included).", examples=[None])
    transcript: str | None = Field(description="Transcript (null unless texts are included).",
                                   examples=[_TRANSCRIPT])
    skills_discussed: list[str] = Field(description="Skill ids recorded with the session.", examples=[["sql"]])
    action_items: list[str] | None = Field(description="Action items recorded with the session (null when "
                                                       "texts are withheld).", examples=[["Write one small script"]])
    ratings: RatingsOut = Field(description="Each side's rating.")
    comments: CommentsOut = Field(description="Each side's comment (null when withheld).")
    analysis: SessionAnalysisOut = Field(description="The session's derived signals.")


class SessionListResponse(ResponseModel):
    """A mentee's or a mentor's sessions, oldest first."""

    mentee_id: str | None = Field(description="The mentee asked about (GET /mentees/{id}/sessions).",
                                  examples=["u00042"])
    mentor_id: str | None = Field(description="The mentor asked about (GET /mentors/{id}/sessions).",
                                  examples=[None])
    sessions: list[SessionOut] = Field(description="Oldest first.")


class SignalOut(ResponseModel):
    """One signal of pair health."""

    name: str = Field(description="cadence, ratings, sentiment, engagement, follow_through, progress or duration.",
                      examples=["cadence"])
    score: float | None = Field(description="0-1 (null without data: left out of the score).", examples=[0.75])
    weight: float = Field(description="Its weight in the score.", examples=[0.2])
    value: float | None = Field(description="The raw figure behind it.", examples=[1.5])
    reason: str = Field(description="In words.", examples=["1.5 sessions a month over the last 90 days (target 2)"])


class PairHealthResponse(ResponseModel):
    """A mentor-mentee pair's health: a score, its signals and feedback for the mentor."""

    mentor_id: str = Field(description="The mentor.", examples=["m026"])
    mentee_id: str = Field(description="The mentee.", examples=["u00042"])
    score: float | None = Field(description="0-1, the weighted mean of the signals with data (null: no "
                                            "session yet).", examples=[0.64])
    status: Literal["healthy", "watch", "at risk", "no data"] = Field(
        description="healthy from 0.60, watch from 0.40, at risk below.", examples=["healthy"])
    sessions: int = Field(description="Sessions so far.", examples=[5])
    signals: list[SignalOut] = Field(description="Every signal with its score and reason.")
    feedback: list[str] = Field(description="Plain-words feedback for the mentor, most pressing first.",
                                examples=[["3 sessions without an action item"]])


class PairFeedback(ResponseModel):
    """One of the mentor's pairs: its health in short and the feedback lines."""

    mentee_id: str = Field(description="The mentee.", examples=["u00042"])
    score: float | None = Field(description="Pair health 0-1.", examples=[0.64])
    status: Literal["healthy", "watch", "at risk", "no data"] = Field(description="Pair status.",
                                                                      examples=["watch"])
    sessions: int = Field(description="Sessions so far.", examples=[5])
    feedback: list[str] = Field(description="Plain-words feedback, most pressing first.",
                                examples=[["your mentee spoke 12 % of the time"]])


class MentorFeedbackResponse(ResponseModel):
    """Feedback for a mentor over every mentee they had sessions with, weakest pair first."""

    mentor_id: str = Field(description="The mentor.", examples=["m026"])
    as_of: datetime = Field(description="The time the pairs were assessed at.", examples=["2026-12-07T12:00:00Z"])
    pairs: list[PairFeedback] = Field(description="Weakest pair first.")
