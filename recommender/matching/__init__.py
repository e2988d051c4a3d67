"""Mentor matching by skill gap, within mentor capacities (pure: numpy/scipy only).

The input is what each mentee needs next: :class:`Need` (skill, target level, urgency),
soonest first, from :func:`needs_from_goals` (goals + unmet prerequisites) or
:func:`needs_from_steps` (any planned learning path). Then:

- :func:`score_pair` / :func:`score_matrix`: how well a mentor covers a mentee's gaps,
  weighted by urgency, plus goal alignment, free places, language, time zone, format;
  reasons name the skills;
- :func:`rank_mentors`: the best mentors for one mentee;
- :func:`assign_cohort`: the optimal cohort assignment within capacities
  (:func:`greedy_assign`, :func:`random_assign` are baselines;
  :func:`assignment_quality` compares them);
- :func:`rematch_suggestions`: mentees who have outgrown their mentor, with better fits;
- :class:`MentorMatcher`: all of the above over a loaded ``World``, by id.

See ``docs/mentors.md``.
"""

from __future__ import annotations

from recommender.matching.assign import (
    METHODS,
    Assignment,
    AssignmentQuality,
    assign,
    assign_cohort,
    assignment_quality,
    greedy_assign,
    random_assign,
)
from recommender.matching.matcher import MentorMatcher
from recommender.matching.matrix import MatchMatrix, score_matrix
from recommender.matching.needs import DEFAULT_HALF_LIFE, Need, needs_from_goals, needs_from_steps, urgency_at
from recommender.matching.rank import RankedMentor, RematchSuggestion, rank_mentors, rematch_suggestions
from recommender.matching.scoring import COMPONENTS, FORMAT_AFFINITY, MatchScore, MatchWeights, score_pair

__all__ = [
    "Need", "needs_from_goals", "needs_from_steps", "urgency_at", "DEFAULT_HALF_LIFE",
    "MatchWeights", "MatchScore", "COMPONENTS", "FORMAT_AFFINITY", "score_pair",
    "MatchMatrix", "score_matrix",
    "RankedMentor", "rank_mentors", "RematchSuggestion", "rematch_suggestions",
    "Assignment", "AssignmentQuality", "METHODS", "assign", "assign_cohort", "greedy_assign",
    "random_assign", "assignment_quality",
    "MentorMatcher",
]
