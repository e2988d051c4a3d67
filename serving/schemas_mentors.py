"""Bodies of the mentor endpoints (``/mentors/match``, ``/mentors/assign``); see docs/serving.md."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from serving.schemas_base import Id, ResponseModel, StrictModel

__all__ = [
    "MAX_MENTORS_K", "MAX_COHORT",
    "MentorMatchRequest", "RankedMentorOut", "MentorMatchResponse",
    "MentorAssignRequest", "AssignmentPairOut", "AssignmentQualityOut", "MentorAssignResponse",
]

MAX_MENTORS_K = 50
MAX_COHORT = 50_000


class MentorMatchRequest(StrictModel):
    """Whom to rank mentors for."""

    user_id: Id = Field(description="A mentee with a profile in the mentees file (goals and levels).",
                        examples=["u00042"])
    k: int = Field(5, ge=1, le=MAX_MENTORS_K, description="How many mentors to return (1-50).", examples=[5])


class RankedMentorOut(ResponseModel):
    rank: int = Field(description="1 = best.", examples=[1])
    mentor_id: str = Field(description="The mentor.", examples=["m026"])
    name: str = Field(description="Their name.", examples=["Donald Mwangi"])
    score: float = Field(description="Match score in [0, 1]: weighted need coverage, urgency, goal alignment, "
                                     "free places, language, time zone, format (docs/mentors.md).",
                         examples=[0.329])
    coverage: float = Field(description="Share of the mentee's next skills the mentor covers (partial cover "
                                        "= 0.5).", examples=[0.154])
    free_places: int = Field(description="Places left after the persisted assignment.", examples=[4])
    covered_skills: list[str] = Field(description="Next skills the mentor covers at the level needed.",
                                      examples=[["python", "model-evaluation"]])
    partial_skills: list[str] = Field(description="Next skills where the mentor is one level short.",
                                      examples=[["sql"]])
    reasons: list[str] = Field(description="Why, in skill names; each statement is true by construction.",
                               examples=[["covers 2 of your 13 next skills: Python, Model evaluation",
                                          "speaks your language (en)", "4 free places"]])


class MentorMatchResponse(ResponseModel):
    user_id: str = Field(description="The mentee.", examples=["u00042"])
    next_skills: list[str] = Field(description="What the mentee needs next, soonest first, as skill:level "
                                               "(unmet goals and their unmet prerequisites).",
                                   examples=[["python:3", "ml-fundamentals:3", "rag:4"]])
    assigned_mentor_id: str | None = Field(description="The mentee's mentor in the persisted assignment, if any.",
                                           examples=[None])
    mentors: list[RankedMentorOut] = Field(description="Best first; mentors without a free place are left out.")


class MentorAssignRequest(StrictModel):
    """Which mentees to assign, and how."""

    user_ids: list[Id] | None = Field(
        None, min_length=1, max_length=MAX_COHORT,
        description="The cohort (default: every mentee). Mentees outside it keep their persisted mentor, "
                    "whose places stay taken.", examples=[["u00042", "u00107"]])
    method: Literal["optimal", "greedy", "random"] = Field(
        "optimal", description="optimal: most mentees matched, then the highest total score; greedy: best "
                               "remaining pair first; random: random free places (seeded).",
        examples=["optimal"])
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the random method.", examples=[0])


class AssignmentPairOut(ResponseModel):
    user_id: str = Field(description="The mentee.", examples=["u00042"])
    mentor_id: str | None = Field(description="Their mentor (null: no free place left for them).",
                                  examples=["m026"])
    mentor: str | None = Field(description="The mentor's name.", examples=["Donald Mwangi"])
    score: float | None = Field(description="Match score of the pair.", examples=[0.33])
    coverage: float | None = Field(description="Share of the mentee's next skills the mentor covers.",
                                   examples=[0.154])
    needs: int = Field(description="How many next skills the mentee has.", examples=[13])


class AssignmentQualityOut(ResponseModel):
    method: str = Field(description="The method used.", examples=["optimal"])
    mentees: int = Field(description="Mentees in the cohort.", examples=[12])
    matched: int = Field(description="Mentees who got a mentor.", examples=[12])
    unmatched: int = Field(description="Mentees left without (capacity ran out).", examples=[0])
    total_score: float = Field(description="Sum of matched pairs' scores.", examples=[4.296])
    mean_score: float = Field(description="Mean score of matched pairs.", examples=[0.358])
    worst_score: float = Field(description="Score of the worst-off matched mentee.", examples=[0.219])
    needs_covered: float = Field(description="Needs covered by the assigned mentors (partial = 0.5).",
                                 examples=[19.0])
    needs_total: int = Field(description="Needs of the whole cohort.", examples=[135])
    uncovered_mentees: int = Field(description="Matched mentees whose mentor covers none of their needs.",
                                   examples=[1])
    utilisation: float = Field(description="Matched / free places.", examples=[0.029])


class MentorAssignResponse(ResponseModel):
    method: str = Field(description="The method used.", examples=["optimal"])
    pairs: list[AssignmentPairOut] = Field(description="One row per cohort mentee, in id order.")
    quality: AssignmentQualityOut = Field(description="How good the assignment is (docs/mentors.md).")
    persisted: str = Field(description="Where the assignment was written, relative to the data dir (the file "
                                       "`skillpath mentors rematch` reads).",
                           examples=["reports/mentor_assignment.csv"])
    persisted_rows: int = Field(description="Rows in that file: this cohort plus mentees kept from before.",
                                examples=[12])
