"""Completion credit: how far completed work moves the level a plan starts from.

Mastery (:mod:`recommender.mastery`) treats a completion as weak evidence, so a plan built
on mastery alone keeps offering material at the level just studied until an assessment
certifies it; crediting a whole level per completion climbs too fast (in the simulated
world a resource moves true mastery by a fraction of a level) and serves material that
is too hard (``docs/paths_eval.md``).

:class:`CompletionCredit` credits a *fraction* of a level, by how well the resource's
level fits and how long it is::

    gain = levels_per_completion * fit * effort
    fit    = 2 ** -|L - (floor(x) + 1)|            (1 for the next level up, 1/2 one off, ...)
    effort = 1 - exp(-minutes / effort_minutes)    (longer resources teach more, saturating)
    x     <- min(L, x + gain)                      (material at level L never takes you past L)

where ``x`` is the real-valued level reached (starting at the level of the state before any
event), ``L`` the item's level for the skill. Material at or below ``x`` and beyond the
stretch the planner itself allows (``L > floor(x) + 1 + max_stretch``) gives nothing. A
failed assessment at level ``L`` caps ``x`` at ``L - 1``. The planner starts each skill from
``floor(x)`` when that is above the mastery level. The constants are chosen by simulation on
tuning seeds disjoint from the reported ones (``docs/paths_eval.md``, "Choosing the credit").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from catalog.catalog import Catalog
from catalog.errors import ConfigError

__all__ = ["CompletionCredit", "DEFAULT_CREDIT", "FULL_CREDIT", "progress_from_events"]


@dataclass(frozen=True, kw_only=True)
class CompletionCredit:
    """How many levels a completed resource is worth to the planner (see the module docstring).

    Parameters
    ----------
    levels_per_completion : float
        Levels credited for a completion at the next level up whose effort is 1;
        ``math.inf`` is the all-or-nothing rule (every fitting completion reaches its level).
    effort_minutes : float or None
        Duration scale of ``effort = 1 - exp(-minutes / effort_minutes)``; ``None`` ignores
        duration (effort 1).
    """

    levels_per_completion: float = 0.5
    effort_minutes: float | None = 60.0

    def __post_init__(self) -> None:
        if not self.levels_per_completion > 0:
            raise ConfigError(f"levels_per_completion must be > 0, got {self.levels_per_completion}")
        if self.effort_minutes is not None and not self.effort_minutes > 0:
            raise ConfigError(f"effort_minutes must be > 0 or None, got {self.effort_minutes}")

    def effort(self, minutes: float) -> float:
        """``1 - exp(-minutes / effort_minutes)`` (1 when duration is ignored)."""
        if self.effort_minutes is None:
            return 1.0
        return 1.0 - math.exp(-max(0.0, float(minutes)) / self.effort_minutes)

    def advance(self, x: float, level: int, minutes: float, *, max_stretch: int = 1) -> float:
        """The level reached after completing a resource of ``level`` (``minutes`` long) from ``x``."""
        c = math.floor(x + 1e-9)
        if level <= x or level > c + 1 + max_stretch:
            return x
        if math.isinf(self.levels_per_completion):
            return float(level)
        fit = 2.0 ** -abs(level - (c + 1))
        return min(float(level), x + self.levels_per_completion * fit * self.effort(minutes))


# Chosen on tuning seeds disjoint from the reported ones (docs/paths_eval.md, "Choosing the credit"):
# half a level for an hour-plus resource at the next level up. FULL_CREDIT is the all-or-nothing
# rule (every fitting completion reaches its level), kept as the ablation the evaluation compares.
DEFAULT_CREDIT = CompletionCredit()
FULL_CREDIT = CompletionCredit(levels_per_completion=math.inf, effort_minutes=None)


def progress_from_events(kinds: Sequence[str] | NDArray[np.object_], values: ArrayLike, item_index: ArrayLike,
                         catalog: Catalog, start_levels: ArrayLike, *, credit: CompletionCredit,
                         pass_score: float, max_stretch: int = 1) -> NDArray[np.float64]:
    """Real-valued level per skill (aligned with ``catalog.skill_ids``) after the events, in order.

    ``start_levels`` are the levels before any event; ``item_index`` -1 = not in the catalog.
    ``complete`` events advance by :meth:`CompletionCredit.advance`; an ``assess`` below
    ``pass_score`` caps the skill at the item's level minus one; everything else is ignored.
    """
    m = catalog.item_skill_levels.tocsr()
    x = np.asarray(start_levels, dtype=np.float64).copy()
    minutes = catalog.duration_minutes
    for kind, value, i in zip(kinds, np.asarray(values, dtype=np.float64), np.asarray(item_index, dtype=np.int64)):
        if i < 0 or kind not in ("assess", "complete"):
            continue
        for j, lvl in zip(m.indices[m.indptr[i]:m.indptr[i + 1]], m.data[m.indptr[i]:m.indptr[i + 1]]):
            if kind == "complete":
                x[j] = credit.advance(float(x[j]), int(lvl), float(minutes[i]), max_stretch=max_stretch)
            elif float(value) < pass_score:
                x[j] = min(x[j], int(lvl) - 1)
    return x
