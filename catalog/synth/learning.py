"""The TRUE learning model of the synthetic world: how studying content changes mastery.

The event generator uses it to move each mentee's hidden mastery; anyone evaluating a
learning-path policy can reuse it, unchanged, as the ground truth ("if this mentee
completed these items in this order, how much would they really have learned?").
It knows nothing about events, sessions or recommendation.

Mastery is a number in [0, 1] per skill; an item that teaches a skill at level ``L``
(1-5) aims at mastery ``L / 5``. Studying an item raises each skill it teaches by::

    gain = rate * zone(L/5 - m) * readiness * freshness**stale_power * effort * noise
    m_new = m + gain * (1 - m)

- ``zone``: content a little above the learner (``zpd_offset``, one half-level) teaches
  most; the curve falls fast for content that is too easy (``width_easy``) and more
  slowly for content that is too hard (``width_hard``).
- ``readiness``: the product over the skill's prerequisites of
  ``min(1, m_prereq / (required_level / 5)) ** prereq_power``; studying a skill before
  its prerequisites teaches little.
- ``freshness``: the item's freshness in [floor, 1] (see :mod:`catalog.freshness`), which
  already folds in the half-life of the skills it teaches: stale content in
  fast-moving skills teaches less, evergreen content is unaffected.
- ``effort``: ``1 - exp(-minutes / effort_minutes)``; a two-hour course teaches more than
  a ten-minute article. Without a duration, effort is 1.
- ``noise``: mean-one log-normal, only when an ``rng`` is given.

There is no forgetting: mastery never decreases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from catalog.catalog import Catalog
from catalog.errors import ConfigError

__all__ = ["LearningParams", "TrueLearningModel", "assessment_score", "level_to_mastery"]


def level_to_mastery(level: ArrayLike) -> NDArray[np.float64]:
    """A level 1-5 as the mastery it stands for (``level / 5``; 0 stays 0)."""
    return np.asarray(level, dtype=np.float64) / 5.0


@dataclass(frozen=True, kw_only=True)
class LearningParams:
    """Constants of the true learning model (see the module docstring for the formula)."""

    rate: float = 0.35
    zpd_offset: float = 0.1
    width_easy: float = 0.1
    width_hard: float = 0.2
    prereq_power: float = 2.0
    stale_power: float = 0.7
    effort_minutes: float = 120.0
    noise: float = 0.3

    def __post_init__(self) -> None:
        for name in ("rate", "width_easy", "width_hard", "effort_minutes"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"LearningParams.{name} must be > 0, got {getattr(self, name)}")
        if self.noise < 0 or self.prereq_power < 0 or self.stale_power < 0:
            raise ConfigError("LearningParams noise, prereq_power and stale_power must be >= 0")


class TrueLearningModel:
    """Ground-truth learning dynamics over a fixed skill index.

    Parameters
    ----------
    n_skills : int
        Length of every mastery vector.
    prereq_child, prereq_parent : int arrays
        One entry per prerequisite edge: ``prereq_parent[e]`` is required by
        ``prereq_child[e]``.
    prereq_level : int array
        The required level (1-5) of each edge.
    params : LearningParams
        Model constants.

    All methods accept one mentee (``mastery`` of shape ``(n_skills,)``) or a batch
    (``(batch, n_skills)``); item arguments broadcast the same way.
    """

    def __init__(self, *, n_skills: int, prereq_child: ArrayLike, prereq_parent: ArrayLike,
                 prereq_level: ArrayLike, params: LearningParams | None = None) -> None:
        self.n_skills = int(n_skills)
        self.params = params or LearningParams()
        self.prereq_child = np.asarray(prereq_child, dtype=np.int64)
        self.prereq_parent = np.asarray(prereq_parent, dtype=np.int64)
        self.prereq_required = level_to_mastery(prereq_level)
        n_edges = len(self.prereq_child)
        if not (len(self.prereq_parent) == n_edges == len(self.prereq_required)):
            raise ConfigError("prereq_child, prereq_parent and prereq_level must have the same length")
        # Edge -> child incidence: sums per-edge log-ratios into per-skill log-readiness.
        self._incidence = sp.csr_matrix(
            (np.ones(n_edges), (np.arange(n_edges), self.prereq_child)), shape=(n_edges, self.n_skills)
        )
        self._incidence_t = self._incidence.T.tocsr()

    @classmethod
    def from_catalog(cls, catalog: Catalog, params: LearningParams | None = None) -> TrueLearningModel:
        """The model over ``catalog.skill_ids`` order, with the catalog's prerequisite graph."""
        child, parent, level = [], [], []
        for sid in catalog.skill_ids:
            for p in catalog.graph.prereqs[sid]:
                child.append(catalog.skill_ids.index(sid))
                parent.append(catalog.skill_ids.index(p.skill_id))
                level.append(p.level)
        return cls(n_skills=catalog.n_skills, prereq_child=child, prereq_parent=parent,
                   prereq_level=level, params=params)

    @staticmethod
    def item_levels(catalog: Catalog, items: ArrayLike) -> NDArray[np.float64]:
        """Dense ``(len(items), n_skills)`` levels taught by catalog item indices (0 = not taught)."""
        idx = np.asarray(items, dtype=np.int64)
        return catalog.item_skill_levels[idx].toarray().astype(np.float64)

    def _check(self, mastery: ArrayLike) -> NDArray[np.float64]:
        m = np.asarray(mastery, dtype=np.float64)
        if m.shape[-1] != self.n_skills or m.ndim not in (1, 2):
            raise ConfigError(f"mastery must have shape (n_skills,) or (batch, n_skills) with "
                              f"n_skills={self.n_skills}, got {m.shape}")
        return m

    def readiness(self, mastery: ArrayLike) -> NDArray[np.float64]:
        """Per skill, how ready the learner is to study it: 1 with all prerequisites met."""
        m = self._check(mastery)
        m2 = np.atleast_2d(m)
        if len(self.prereq_child) == 0:
            out = np.ones_like(m2)
        else:
            ratio = np.clip(m2[:, self.prereq_parent] / self.prereq_required, 1e-9, 1.0)
            logs = self.params.prereq_power * np.log(ratio)            # (batch, edges)
            out = np.exp(np.asarray(self._incidence_t @ logs.T).T)     # (batch, skills)
        return out if m.ndim == 2 else out[0]

    def zone(self, gap: ArrayLike) -> NDArray[np.float64]:
        """How well content ``gap = L/5 - m`` above the learner teaches, in (0, 1]."""
        p = self.params
        d = np.asarray(gap, dtype=np.float64) - p.zpd_offset
        width = np.where(d < 0, p.width_easy, p.width_hard)
        return np.exp(-0.5 * (d / width) ** 2)

    def expected_gain(self, mastery: ArrayLike, item_skill_levels: ArrayLike,
                      item_freshness: ArrayLike = 1.0, *,
                      duration_minutes: ArrayLike | None = None) -> NDArray[np.float64]:
        """Expected (noise-free) mastery increase from studying the item(s); same shape as mastery."""
        return self._gain(mastery, item_skill_levels, item_freshness, duration_minutes, None)

    def study(self, mastery: ArrayLike, item_skill_levels: ArrayLike, item_freshness: ArrayLike = 1.0,
              rng: np.random.Generator | None = None, *,
              duration_minutes: ArrayLike | None = None) -> NDArray[np.float64]:
        """Mastery after studying one item per row (a new array; the input is not changed).

        ``item_skill_levels`` holds, per skill, the level (1-5) the item teaches, 0 where
        it does not teach that skill; ``item_freshness`` is in (0, 1]. With ``rng`` the
        gain carries mean-one log-normal noise; without, it is the expectation.
        """
        m = self._check(mastery)
        return np.clip(m + self._gain(m, item_skill_levels, item_freshness, duration_minutes, rng), 0.0, 1.0)

    def _gain(self, mastery, item_skill_levels, item_freshness, duration_minutes, rng):
        p = self.params
        m = self._check(mastery)
        levels = np.asarray(item_skill_levels, dtype=np.float64)
        if levels.shape[-1] != self.n_skills:
            raise ConfigError(f"item_skill_levels must have n_skills={self.n_skills} columns, got {levels.shape}")
        taught = levels > 0
        fresh = np.clip(np.asarray(item_freshness, dtype=np.float64), 0.0, 1.0)
        if m.ndim == 2 and fresh.ndim == 1:
            fresh = fresh[:, None]
        effort: NDArray[np.float64] | float = 1.0
        if duration_minutes is not None:
            effort = 1.0 - np.exp(-np.asarray(duration_minutes, dtype=np.float64) / p.effort_minutes)
            if m.ndim == 2 and np.ndim(effort) == 1:
                effort = effort[:, None]
        g = (p.rate * self.zone(level_to_mastery(levels) - m) * self.readiness(m)
             * fresh ** p.stale_power * effort * (1.0 - m))
        if rng is not None and p.noise > 0:
            g = g * rng.lognormal(-0.5 * p.noise**2, p.noise, size=g.shape)
        return np.where(taught, g, 0.0)


def assessment_score(mastery: ArrayLike, level: ArrayLike, rng: np.random.Generator | None = None,
                     *, noise: float = 7.0) -> NDArray[np.float64]:
    """Score 0-100 on an assessment at ``level`` for a learner with true ``mastery``.

    A logistic curve: mastery equal to the level's target scores about 73; one level
    above about 95, one level below about 27. Gaussian noise (sd ``noise`` points) with
    an ``rng``; rounded to one decimal.
    """
    m = np.asarray(mastery, dtype=np.float64)
    target = level_to_mastery(level) - 0.1
    s = 100.0 / (1.0 + np.exp(-10.0 * (m - target)))
    if rng is not None and noise > 0:
        s = s + rng.normal(0.0, noise, size=np.shape(s))
    return np.asarray(np.round(np.clip(s, 0.0, 100.0), 1), dtype=np.float64)
