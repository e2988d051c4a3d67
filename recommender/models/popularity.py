"""Popularity: the same ranking for everyone, the cold-start fallback and the baseline to beat.

Popularity is the column sum of the confidence matrix (or the number of users with
``binary=True``), scaled to a maximum of 1. Build the matrix with
``build_interactions(..., now=..., half_life_days=...)`` for *recency-weighted*
popularity: last month's favourites, not last year's.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import IntegrityError
from recommender.models.base import Recommender

__all__ = ["PopularityRecommender"]

F32 = NDArray[np.float32]


class PopularityRecommender(Recommender):
    """Scores every item by its (optionally recency-weighted) popularity."""

    name: ClassVar[str] = "popularity"
    _array_attrs: ClassVar[tuple[str, ...]] = ("item_popularity_",)

    def __init__(self, binary: bool = False) -> None:
        self.binary = binary

    def _fit(self, X: sp.csr_matrix, item_features: sp.csr_matrix | None,
             user_features: sp.csr_matrix | None) -> None:
        pop = np.asarray((X > 0).sum(axis=0) if self.binary else X.sum(axis=0), dtype=np.float64).ravel()
        top = pop.max() if pop.size else 0.0
        self.item_popularity_ = np.ascontiguousarray(pop / top if top > 0 else pop, dtype=np.float32)

    def fold_in(self, history_row: Any, *, user_features_row: Any = None) -> F32:
        """Popularity has no user state: every user is the same one-element vector."""
        self._check_fitted()
        return np.ones(1, dtype=np.float32)

    def score_vectors(self, vectors: F32) -> F32:
        v = np.asarray(vectors, dtype=np.float32).reshape(-1, 1)
        return v[:, :1] * self.item_popularity_[None, :]

    def _append_items(self, n: int, item_features_rows: sp.csr_matrix | None) -> None:
        self.item_popularity_ = np.concatenate([self.item_popularity_, np.zeros(n, np.float32)])

    def _check_state(self) -> None:
        self._require_shape("item_popularity_", (self.n_items_,))
        if not np.isfinite(self.item_popularity_).all():
            raise IntegrityError("popularity: non-finite popularity")
