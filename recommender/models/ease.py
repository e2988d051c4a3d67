"""EASE (Steck 2019): a closed-form item-item model, ``B = I - P / diag(P)``, ``P = (X^T X + lambda I)^-1``.

Strong on small, dense catalogs; its ``n_items x n_items`` dense matrix limits it to
about 20k items (``max_items`` guards that). A user's vector is their history row, so
fold-in is free: ``score = history @ B``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import ConfigError, IntegrityError
from recommender.models.base import Recommender, as_row

__all__ = ["EASERecommender"]

F32 = NDArray[np.float32]


class EASERecommender(Recommender):
    """Embarrassingly shallow autoencoder.

    Parameters
    ----------
    regularization : float
        lambda, the L2 penalty (larger = smoother, more popular items).
    binary : bool
        Train and score on 0/1 interactions (the paper's setting) instead of confidences.
    max_items : int
        Refuse catalogs larger than this (memory grows as n_items^2).
    """

    name: ClassVar[str] = "ease"
    _array_attrs: ClassVar[tuple[str, ...]] = ("weights_",)
    _scalar_attrs: ClassVar[tuple[str, ...]] = ("n_users_", "n_items_", "n_fitted_items_")

    def __init__(self, regularization: float = 100.0, binary: bool = True, max_items: int = 20_000) -> None:
        self.regularization = regularization
        self.binary = binary
        self.max_items = max_items

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
        return s

    def _append_items(self, n: int, item_features_rows: sp.csr_matrix | None) -> None:
        pass  # scored 0 until the next fit; weights_ stays n_fitted x n_fitted

    def _check_state(self) -> None:
        self._require_shape("weights_", (self.n_fitted_items_, self.n_fitted_items_))
        if self.n_items_ < self.n_fitted_items_ or self.weights_.dtype != np.float32:
            raise IntegrityError("ease: inconsistent item counts or dtype")
