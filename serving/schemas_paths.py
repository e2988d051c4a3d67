"""Bodies of the learning-path endpoints (``POST /path``, ``GET /skills/{skill_id}``); see docs/serving.md."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from serving.schemas_base import Id, ResponseModel, StrictModel

__all__ = [
    "MAX_PATH_STEPS", "GoalIn", "PathRequest", "StepMentor", "PathStepOut", "PathGoalOut", "UnreachableOut",
    "PathResponse", "SkillRef", "SkillResponse",
]

MAX_PATH_STEPS = 50


class GoalIn(StrictModel):
    skill: Id = Field(description="A skill id of the skills file.", examples=["rag"])
    level: int | None = Field(None, ge=1, le=5, description="Target level 1-5 (default: the mentee's stored "
                                                            "level for that goal, else 3).", examples=[4])


class PathRequest(StrictModel):
    """Whose path, towards what, how long."""

    user_id: Id = Field(description="The mentee. One without a profile needs explicit goals.",
                        examples=["u00042"])
    goals: list[GoalIn] | None = Field(None, min_length=1, max_length=20,
                                       description="Plan towards these (default: the mentee's stored goals). "
                                                   "Unknown skills are a 400 naming them.",
                                       examples=[[{"skill": "rag", "level": 4}]])
    max_steps: int = Field(10, ge=1, le=MAX_PATH_STEPS, description="At most this many steps (1-50).",
                           examples=[10])
    minutes_per_week: int | None = Field(None, ge=1, le=7 * 24 * 60,
                                         description="Study time per week (default: the mentee's, else 120); "
                                                     "sets the ETAs and the 12-week budget.", examples=[180])


class StepMentor(ResponseModel):
    mentor_id: str = Field(description="The mentor.", examples=["m026"])
    name: str = Field(description="Their name.", examples=["Donald Mwangi"])
    assigned: bool = Field(description="True: the mentee's own mentor (persisted assignment); false: the best "
                                       "mentor with a free place who covers this skill at this level.",
                           examples=[False])
    reason: str = Field(description="Why this mentor.", examples=["Donald Mwangi knows Python at level 4 and "
                                                                  "has 2 free places"])


class PathStepOut(ResponseModel):
    step: int = Field(description="1 = do this first.", examples=[1])
    item_id: str = Field(description="The resource.", examples=["r01800"])
    title: str = Field(description="Its title.", examples=["pandas in 30 minutes"])
    type: str = Field(description="Its type.", examples=["video"])
    url: str = Field(description="Where it is.", examples=["https://example.org/pandas"])
    skill: str = Field(description="The skill this step works on.", examples=["pandas"])
    skill_name: str = Field(description="Its name.", examples=["pandas"])
    level: int = Field(description="The level of the skill this step reaches.", examples=[2])
    goal: str = Field(description="The goal skill this step serves.", examples=["ml-fundamentals"])
    reasons: list[str] = Field(description="Short, true statements in skill terms (docs/paths.md).",
                               examples=[["prerequisite of Machine learning", "starts you on pandas at level 2"]])
    eta: str = Field(description="Expected completion date at the weekly study time (YYYY-MM-DD).",
                     examples=["2026-12-01"])
    minutes: int = Field(description="How long the resource takes.", examples=[30])
    remediation: bool = Field(description="An easier resource after a failed assessment.", examples=[False])
    mentor: StepMentor | None = Field(None, description="A mentor who can help with this skill (null: none "
                                                        "assigned or free covers it).")


class PathGoalOut(ResponseModel):
    skill: str = Field(description="The goal skill.", examples=["rag"])
    skill_name: str = Field(description="Its name.", examples=["Retrieval-augmented generation"])
    level: int = Field(description="Target level.", examples=[4])
    deadline: str | None = Field(description="The stored deadline, if any.", examples=["2027-01-31"])
    met: bool = Field(description="Already held at that level.", examples=[False])


class UnreachableOut(ResponseModel):
    skill: str = Field(description="A skill the plan cannot finish.", examples=["rust"])
    skill_name: str = Field(description="Its name.", examples=["Rust"])
    reason: str = Field(description="Why.", examples=["no available resource teaches Rust at level 3"])


class PathResponse(ResponseModel):
    user_id: str = Field(description="The mentee.", examples=["u00042"])
    as_of: str = Field(description="When the plan was made (UTC).", examples=["2026-11-23T10:00:00+00:00"])
    model_version: str = Field(description="The model whose scores ordered the choices.", examples=["3"])
    scores_from: Literal["model", "content", "popular"] = Field(
        description="model: the served model scored the mentee's folded-in vector over all items; content / "
                    "popular: cold start, as in /recommend.", examples=["model"])
    goals: list[PathGoalOut] = Field(description="The goals planned for.")
    minutes_per_week: int = Field(description="Study time per week used.", examples=[120])
    horizon_weeks: int = Field(description="The plan's time budget in weeks.", examples=[12])
    steps: list[PathStepOut] = Field(description="In order: prerequisites before what needs them.")
    total_steps: int = Field(description="Steps in the whole plan (steps may hold fewer).", examples=[7])
    total_minutes: int = Field(description="Minutes of the whole plan.", examples=[420])
    unreachable: list[UnreachableOut] = Field(description="Skills the plan cannot finish, with why.")
    already_met: list[str] = Field(description="Goal skills already held.", examples=[[]])
    mastery: dict[str, float] = Field(description="BKT mastery in [0, 1] of goal skills, their prerequisites and "
                                                  "the path's skills.", examples=[{"python": 0.62}])


class SkillRef(ResponseModel):
    skill_id: str = Field(description="A skill.", examples=["python"])
    name: str = Field(description="Its name.", examples=["Python"])
    level: int = Field(description="The level required (of the prerequisite, or by the dependent).",
                       examples=[3])


class SkillResponse(ResponseModel):
    skill_id: str = Field(description="The skill.", examples=["pandas"])
    name: str = Field(description="Its name.", examples=["pandas"])
    domain: str = Field(description="Its domain.", examples=["analytics"])
    half_life_days: float | None = Field(description="How fast its material goes stale (null: evergreen).",
                                         examples=[730.0])
    prerequisites: list[SkillRef] = Field(description="Direct prerequisites and the level each is needed at.")
    dependents: list[SkillRef] = Field(description="Skills that build on it and the level they require of it.")
    all_prerequisites: list[str] = Field(description="Every transitive prerequisite, in graph order.",
                                         examples=[["programming-basics", "python"]])
    resources: int = Field(description="Active resources teaching it.", examples=[24])
    resources_by_level: dict[str, int] = Field(description="Active resources per level 1-5.",
                                               examples=[{"1": 6, "2": 8, "3": 6, "4": 3, "5": 1}])
