"""Content match: goals and levels against what each item teaches, at what level.

Needs no interactions, so it serves brand-new mentees and brand-new items. Inputs are
the skill-space matrices of :mod:`recommender.features`: items x skills holding the
level an item teaches (1-5), and users x (2 x skills) holding ``[goal level | self
level]``. For a user, each skill ``k`` gets

- a weight ``w_k = goal_weight * max(goal_k - self_k, 0) / 5 + history_weight * h_k``,
  where ``h_k`` in [0, 1] is the share of the user's history confidence on items of ``k``;
- a target level ``t_k = min(self_k + 1, 5)`` (history shows interest, not mastery: levels
  come from self-assessment here, and from the mastery model upstream);

and an item scores ``sum_k w_k * max(0, 1 - |level_ik - t_k| / (level_tolerance + 1))``:
items on a mentee's gaps, one step above where they stand, come first.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from catalog.errors import ConfigError, IntegrityError
from recommender.models.base import Recommender, as_row, as_rows

__all__ = ["ContentRecommender"]

F32 = NDArray[np.float32]


class ContentRecommender(Recommender):
    """Skill-gap and level match between a mentee profile and item skill tags."""

    name: ClassVar[str] = "content"
    feature_kind: ClassVar[str | None] = "skills"
    _array_attrs: ClassVar[tuple[str, ...]] = (
        "item_levels_data_", "item_levels_indices_", "item_levels_indptr_", "user_profiles_",
    )
    _scalar_attrs: ClassVar[tuple[str, ...]] = ("n_users_", "n_items_", "n_skills_")

    def __init__(self, goal_weight: float = 1.0, history_weight: float = 0.5, level_tolerance: float = 2.0) -> None:
        self.goal_weight = goal_weight
        self.history_weight = history_weight
        self.level_tolerance = level_tolerance

    def _fit(self, X: sp.csr_matrix, item_features: sp.csr_matrix | None,
             user_features: sp.csr_matrix | None) -> None:
        if item_features is None:
            raise ConfigError("content: needs item_features = items x skills levels "
                              "(recommender.features.item_skill_matrix)")
        if self.level_tolerance < 0 or self.goal_weight < 0 or self.history_weight < 0:
            raise ConfigError("content: weights and level_tolerance must be >= 0")
        n_skills = item_features.shape[1]
        if user_features is not None and user_features.shape[1] != 2 * n_skills:
            raise ConfigError(f"content: user_features must have 2 x {n_skills} columns [goal | self], "
                              f"got {user_features.shape[1]}")
        self._set_items(item_features)
        self.n_skills_ = int(n_skills)
        profiles = user_features.toarray() if user_features is not None else np.zeros((X.shape[0], 2 * n_skills))
        self.user_profiles_ = np.ascontiguousarray(profiles, dtype=np.float32)

    def _set_items(self, levels: sp.csr_matrix) -> None:
        m = sp.csr_matrix(levels, dtype=np.float32)
        m.sum_duplicates()
        self.item_levels_data_ = m.data
        self.item_levels_indices_ = m.indices.astype(np.int32)
        self.item_levels_indptr_ = m.indptr.astype(np.int64)
        self._levels = m

    @property
    def item_levels(self) -> sp.csr_matrix:
        if getattr(self, "_levels", None) is None:
            n = len(self.item_levels_indptr_) - 1
            self._levels = sp.csr_matrix((self.item_levels_data_, self.item_levels_indices_, self.item_levels_indptr_),
                                         shape=(n, self.n_skills_))
        return self._levels

    def profile(self, history_row: Any, profile_row: NDArray[np.floating] | None) -> F32:
        """The user vector ``[w | t]`` (2 x n_skills) from a history row and a ``[goal | self]`` row."""
        S = self.n_skills_
        goal = np.zeros(S) if profile_row is None else np.asarray(profile_row, dtype=np.float64).ravel()[:S]
        self_lvl = np.zeros(S) if profile_row is None else np.asarray(profile_row, dtype=np.float64).ravel()[S:]
        row = as_row(history_row, self.n_items_)
        keep = row.data > 0
        items, conf = row.indices[keep], row.data[keep].astype(np.float64)
        L = self.item_levels[items]
        hist = np.zeros(S)
        if L.nnz:
            owner = np.repeat(np.arange(len(items)), np.diff(L.indptr))
            np.add.at(hist, L.indices, conf[owner])
            hist /= max(conf.sum(), 1e-12)
        gap = np.maximum(goal - self_lvl, 0.0) / 5.0
        w = self.goal_weight * gap + self.history_weight * hist
        t = np.minimum(self_lvl + 1.0, 5.0)
        return np.concatenate([w, t]).astype(np.float32)

    def fold_in(self, history_row: Any, *, user_features_row: Any = None) -> F32:
        self._check_fitted()
        prof = None
        if user_features_row is not None:
            prof = np.asarray(sp.csr_matrix(user_features_row).toarray() if sp.issparse(user_features_row)
                              else user_features_row, dtype=np.float32).ravel()
            if prof.size != 2 * self.n_skills_:
                raise ConfigError(f"content: user feature row must have {2 * self.n_skills_} values [goal | self]")
        return self.profile(history_row, prof)

    def user_vectors(self, user_indices: ArrayLike, history_rows: Any, *, user_features: Any = None) -> F32:
        """Known users use their stored ``[goal | self]`` profile unless a feature row is given."""
        self._check_fitted()
        users = np.atleast_1d(np.asarray(user_indices, dtype=np.int64))
        H = as_rows(history_rows, len(users), self.n_items_)
        out = []
        for r, u in enumerate(users):
            if user_features is not None:
                out.append(self.fold_in(H[r], user_features_row=user_features[r]))
            else:
                prof = self.user_profiles_[u] if 0 <= u < self.n_users_ else None
                out.append(self.profile(H[r], prof))
        return np.vstack(out).astype(np.float32) if out else np.zeros((0, 2 * self.n_skills_), np.float32)

    def score_vectors(self, vectors: F32) -> F32:
        V = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        S = self.n_skills_
        L = self.item_levels
        owner = np.repeat(np.arange(L.shape[0]), np.diff(L.indptr))
        out = np.zeros((V.shape[0], L.shape[0]), dtype=np.float32)
        for r in range(V.shape[0]):
            w, t = V[r, :S], V[r, S:]
            fit = np.maximum(0.0, 1.0 - np.abs(L.data - t[L.indices]) / (self.level_tolerance + 1.0))
            out[r] = np.bincount(owner, weights=w[L.indices] * fit, minlength=L.shape[0])
        return out

    def _append_items(self, n: int, item_features_rows: sp.csr_matrix | None) -> None:
        rows = item_features_rows if item_features_rows is not None else sp.csr_matrix((n, self.n_skills_))
        if rows.shape[1] != self.n_skills_:
            raise ConfigError(f"content: new item rows need {self.n_skills_} skill columns, got {rows.shape[1]}")
        self._set_items(sp.vstack([self.item_levels, rows], format="csr"))

    def _check_state(self) -> None:
        self._levels = None
        ip = self.item_levels_indptr_
        if (len(ip) != self.n_items_ + 1 or ip[-1] != len(self.item_levels_data_)
                or len(self.item_levels_data_) != len(self.item_levels_indices_)):
            raise IntegrityError("content: item level arrays do not describe n_items_ rows")
        if len(self.item_levels_indices_) and self.item_levels_indices_.max() >= self.n_skills_:
            raise IntegrityError("content: item levels name a skill beyond n_skills_")
        self._require_shape("user_profiles_", (self.n_users_, 2 * self.n_skills_))
