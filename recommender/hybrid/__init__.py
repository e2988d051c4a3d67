"""The hybrid default "next up": goal relevance, prerequisite readiness, the mastery gap, the
planner's next step, calibrated exploration and the collaborative model's prediction in one
diversified list.

- :mod:`~recommender.hybrid.blend`: the parts, the weights and the MMR selection (pure arrays);
- :mod:`~recommender.hybrid.next_up`: one mentee's list from their mastery, plan and scores (the reference path);
- :mod:`~recommender.hybrid.prepared`: the same list in two halves, the filter-free one once per
  mentee context and a cheap per-filter selection (what the service runs).

See ``docs/hybrid.md``.
"""

from __future__ import annotations

from recommender.hybrid.blend import DEFAULT_WEIGHTS, LEARNING_PARTS, PARTS, HybridList, HybridWeights, blend_parts, \
    explore_draws, mmr_select, ready_items, required_levels
from recommender.hybrid.next_up import PLAN_STEPS, HybridInputs, HybridResult, hybrid_inputs, hybrid_next_up, \
    hybrid_reasons, lead_step, planning_levels

__all__ = ["PARTS", "LEARNING_PARTS", "DEFAULT_WEIGHTS", "HybridWeights", "HybridList", "blend_parts", "explore_draws",
           "mmr_select", "ready_items", "required_levels", "PLAN_STEPS", "HybridInputs", "HybridResult", "hybrid_inputs",
           "hybrid_next_up", "hybrid_reasons", "lead_step", "planning_levels"]
