"""Per-mentee, per-skill mastery in [0, 1] by Bayesian Knowledge Tracing (BKT).

Three modules, each importing only the ones before it, so the room has no cycle:

- :mod:`~recommender.mastery.bkt`: the equations, :class:`BKTParams`, the evidence rows;
- :mod:`~recommender.mastery.fit`: per-skill parameters by grid search over the same equations;
- :mod:`~recommender.mastery.model`: :class:`MasteryState` and :class:`MasteryModel`
  (seed from self-assessed levels, apply events, optional forgetting, ``fit``).

The maths, with worked numbers, is in ``docs/paths.md``.
"""

from __future__ import annotations

from recommender.mastery.bkt import (
    MASTERY_THRESHOLD,
    SELF_LEVEL_CAP,
    BKTParams,
    assess_update,
    complete_update,
    evidence_rows,
    level_fit,
    level_of,
    level_weight,
    mastered,
    prior_for_level,
)
from recommender.mastery.fit import DEFAULT_GRID, fit_skill_params
from recommender.mastery.model import MasteryModel, MasteryState

__all__ = [
    "MASTERY_THRESHOLD", "SELF_LEVEL_CAP", "BKTParams", "level_of", "mastered", "prior_for_level", "level_weight",
    "level_fit", "assess_update", "complete_update", "evidence_rows",
    "DEFAULT_GRID", "fit_skill_params",
    "MasteryState", "MasteryModel",
]
