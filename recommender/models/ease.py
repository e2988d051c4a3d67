"""EASE (Steck 2019): a closed-form item-item model, ``B = I - P / diag(P)``, ``P = (X^T X + lambda I)^-1``.

Strong on small, dense catalogs; its ``n_items x n_items`` dense matrix limits it to
about 20k items (``max_items`` guards that). A user's vector is their history row, so
fold-in is free: ``score = history @ B``. The recency prior
(:mod:`recommender.models.recency`) is added to that score vector.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import ConfigError, IntegrityError
from recommender.models.base import Recommender, as_row
from recommender.models.recency import RecencyPrior

__all__ = ["EASERecommender"]

F32 = NDArray[np.float32]


class EASERecommender(RecencyPrior, Recommender):
    """Embarrassingly shallow autoencoder.

    Parameters
    ----------
    regularization : float
        lambda, the L2 penalty (larger = smoother, more popular items).
    binary : bool
        Train and score on 0/1 interactions (the paper's setting) instead of confidences.
    max_items : int
        Refuse catalogs larger than this (memory grows as n_items^2).
    recency_weight, recency_half_life_days, recency_epsilon
        The recency prior ``w * log(eps + recency popularity)`` added to every item's score;
        ``recency_weight=0`` turns it off.
    """

    name: ClassVar[str] = "ease"
    _array_attrs: ClassVar[tuple[str, ...]] = ("weights_", "item_prior_")
    _optional_array_attrs: ClassVar[tuple[str, ...]] = ("item_prior_",)
    _scalar_attrs: ClassVar[tuple[str, ...]] = ("n_users_", "n_items_", "n_fitted_items_")

    def __init__(self, regularization: float = 100.0, binary: bool = True, max_items: int = 20_000,
                 recency_weight: float = 0.0, recency_half_life_days: float | None = None,
                 recency_epsilon: float = 1e-3) -> None:
        self.regularization = regularization
        self.binary = binary
        self.max_items = max_items
        self.recency_weight = recency_weight
        self.recency_half_life_days = recency_half_life_days
        self.recency_epsilon = recency_epsilon

    def _fit(self, X: sp.csr_matrix, item_features: sp.csr_matrix | None,
             user_features: sp.csr_matrix | None) -> None:
        n = X.shape[1]
        if n > self.max_items:
            raise ConfigError(f"ease: {n} items exceed max_items={self.max_items} (B is n_items^2 dense); "
                              "use als or lightfm for large catalogs")
        if self.regularization <= 0:
            raise ConfigError("ease: regularization must be > 0")
        Xb = self._prepare(X)
        dtype = np.float64 if n <= 5000 else np.float32
        G = (Xb.T @ Xb).toarray().astype(dtype)
        G[np.diag_indices(n)] += self.regularization
        P = np.linalg.inv(G)
        B = P / (-np.diag(P))
        B[np.diag_indices(n)] = 0.0
        self.weights_ = np.ascontiguousarray(B, dtype=np.float32)
        self.n_fitted_items_ = int(n)

    def _prepare(self, X: sp.csr_matrix) -> sp.csr_matrix:
        if not self.binary:
            return X
        Xb = X.copy()
        Xb.data = (Xb.data > 0).astype(np.float32)
        return Xb

    def fold_in(self, history_row: Any, *, user_features_row: Any = None) -> F32:
        """The history row itself (binarised if ``binary``), over the trained items."""
        self._check_fitted()
        row = self._prepare(as_row(history_row, self.n_items_))
        return np.asarray(row[:, : self.n_fitted_items_].toarray(), dtype=np.float32).ravel()

    def score_vectors(self, vectors: F32) -> F32:
        s = np.asarray(vectors, dtype=np.float32) @ self.weights_
        if self.n_items_ > self.n_fitted_items_:  # items added after training: no signal yet
            s = np.hstack([s, np.zeros((s.shape[0], self.n_items_ - self.n_fitted_items_), np.float32)])
        if self.item_prior_ is not None:
            s += self.item_prior_
        return s

    def _apply_prior(self, prior: F32 | None) -> None:
        pass  # score_vectors adds item_prior_ itself

    def _append_items(self, n: int, item_features_rows: sp.csr_matrix | None) -> None:
        # Scored 0 (plus the prior of an unused item) until the next fit; weights_ stays n_fitted x n_fitted.
        new_prior = self._prior_for_new_items(n)
        if new_prior is not None:
            self.item_prior_ = np.ascontiguousarray(np.concatenate([self.item_prior_, new_prior]), dtype=np.float32)

    def _check_state(self) -> None:
        self._require_shape("weights_", (self.n_fitted_items_, self.n_fitted_items_))
        self._check_prior_state(self.n_items_)
        if self.n_items_ < self.n_fitted_items_ or self.weights_.dtype != np.float32:
            raise IntegrityError("ease: inconsistent item counts or dtype")
