"""Learning paths: which resources, in which order, take a mentee to their goals.

- :mod:`~recommender.paths.planner`: the plan itself (:func:`plan_path`), pure over a
  mastery state, goals, scores and freshness;
- :mod:`~recommender.paths.credit`: how far completed work moves the level a plan starts from;
- :mod:`~recommender.paths.replan`: mastery rebuilt from the events, then a plan;
- :mod:`~recommender.paths.answers`: a plan as a JSON-ready answer for the API and the CLI.

Each module imports only those above it in this list. See ``docs/paths.md``.
"""

from __future__ import annotations

from recommender.paths.answers import MAX_NEXT_UP, MAX_PATH_STEPS, next_up_view, path_view, skill_view
from recommender.paths.credit import DEFAULT_CREDIT, FULL_CREDIT, CompletionCredit, progress_from_events
from recommender.paths.planner import LearningPath, PathStep, format_age, next_up, plan_path
from recommender.paths.replan import (
    DEFAULT_MINUTES_PER_WEEK, DEFAULT_PASS_SCORE, PLANNING_THRESHOLD, History, failed_assessments, mentee_history,
    progress_levels, rebuild_state, replan,
)

__all__ = [
    "PathStep", "LearningPath", "plan_path", "next_up", "format_age",
    "CompletionCredit", "DEFAULT_CREDIT", "FULL_CREDIT", "progress_from_events",
    "DEFAULT_MINUTES_PER_WEEK", "DEFAULT_PASS_SCORE", "PLANNING_THRESHOLD", "History", "mentee_history",
    "failed_assessments", "progress_levels", "rebuild_state", "replan",
    "MAX_PATH_STEPS", "MAX_NEXT_UP", "path_view", "next_up_view", "skill_view",
]
