"""Popularity: the same ranking for everyone, the cold-start fallback and the baseline to beat.

Recency-weighted popularity (:func:`recommender.models.recency.recency_popularity`): each
mentee's use of an item counts ``0.5 ** (age / half_life_days)``, the age in days of
their latest positive event on it at the training cutoff (``now`` of
``build_interactions``, else the latest event). ``half_life_days=None`` is all-time
popularity. ``binary=True`` counts mentees, otherwise their confidences are summed.
Scaled to a maximum of 1.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import ConfigError, IntegrityError
from recommender.interactions import Interactions
from recommender.models.base import Recommender
from recommender.models.recency import recency_popularity

__all__ = ["PopularityRecommender"]

F32 = NDArray[np.float32]


class PopularityRecommender(Recommender):
    """Scores every item by its recency-weighted popularity.

    Parameters
    ----------
    binary : bool
        Count mentees (True) or sum their confidences (False).
    half_life_days : float, optional
        Half-life of the recency decay; None = no decay. ``fit`` then needs
        :class:`~recommender.interactions.Interactions` (they carry each pair's age).
    """

    name: ClassVar[str] = "popularity"
    _array_attrs: ClassVar[tuple[str, ...]] = ("item_popularity_",)

    def __init__(self, binary: bool = False, half_life_days: float | None = None) -> None:
        self.binary = binary
        self.half_life_days = half_life_days

    def _fit(self, X: sp.csr_matrix, item_features: sp.csr_matrix | None,
             user_features: sp.csr_matrix | None) -> None:
        if isinstance(self.half_life_days, str):
            raise ConfigError(f"popularity: half_life_days must be a number or None here, got {self.half_life_days!r}; "
                              "'auto' is resolved at training time (training.autoprior)")
        if self.half_life_days is not None and not (np.isfinite(self.half_life_days) and self.half_life_days > 0):
            raise ConfigError(f"popularity: half_life_days must be > 0 or None, got {self.half_life_days}")
        # The popularity itself is computed in _fit_recency, which sees the event ages.

    def _fit_recency(self, interactions: sp.spmatrix | Interactions, X: sp.csr_matrix) -> None:
        pop = recency_popularity(interactions, half_life_days=self.half_life_days, binary=bool(self.binary), matrix=X)
        self.item_popularity_ = np.ascontiguousarray(pop, dtype=np.float32)

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
