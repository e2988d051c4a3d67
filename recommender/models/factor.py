"""Shared machinery of the matrix-factorisation models (ALS, BPR, LightFM).

They export ``user_factors_`` (n_users x d), ``item_factors_`` (n_items x d), both
float32 C-contiguous, and ``item_bias_``/``user_bias_`` (or None), the layout serving
folds into ``[V | b | log f]``. ``score = U V^T + item_bias`` (a user bias shifts all of
a user's scores equally, so ranking ignores it).

Fold-in is the implicit-ALS least-squares solve against fixed item factors
(Hu, Koren & Volinsky 2008, eq. 4): with confidences ``c_i`` on the history items,

    (V^T V + sum_i (c_i - 1) v_i v_i^T + reg I) u = sum_i c_i v_i + reg u0

``u0`` is a prior (0, or the vector a user's features already give). With ``u0 = 0`` it
is exactly what implicit's ``recalculate_user`` computes for ALS.

The recency prior (:mod:`recommender.models.recency`) is folded into ``item_bias_`` (and
kept apart in ``item_prior_``), so serving ranks by it without any work per request.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import IntegrityError
from recommender.models.base import Recommender, as_row
from recommender.models.recency import RecencyPrior

__all__ = ["FactorRecommender", "project_user"]

F32 = NDArray[np.float32]


def project_user(item_factors: F32, gram: NDArray[np.floating], history_row: sp.csr_matrix, *,
                 regularization: float, alpha: float = 1.0, prior: NDArray[np.floating] | None = None) -> F32:
    """Closed-form least-squares user vector for one confidence row (see the module docstring)."""
    d = item_factors.shape[1]
    idx = history_row.indices
    c = alpha * history_row.data.astype(np.float64)
    keep = c > 0
    idx, c = idx[keep], c[keep]
    Y = item_factors[idx].astype(np.float64)
    A = gram.astype(np.float64) + regularization * np.eye(d) + (Y.T * (c - 1.0)) @ Y
    b = Y.T @ c
    if prior is not None:
        b = b + regularization * np.asarray(prior, dtype=np.float64)
    if not idx.size and prior is None:
        return np.zeros(d, dtype=np.float32)
    return np.linalg.solve(A, b).astype(np.float32)


class FactorRecommender(RecencyPrior, Recommender):
    """A model whose scores are ``user_factors_ @ item_factors_.T + item_bias_``.

    ``item_bias_`` is the learned bias (if any) plus ``item_prior_`` (if any).
    """

    _array_attrs: ClassVar[tuple[str, ...]] = ("user_factors_", "item_factors_", "item_bias_", "user_bias_",
                                               "item_prior_")
    _optional_array_attrs: ClassVar[tuple[str, ...]] = ("item_prior_",)
    learns_item_bias: ClassVar[bool] = True  # False: item_bias_ is the prior alone (ALS)
    fold_in_alpha: float = 1.0

    user_factors_: F32
    item_factors_: F32
    item_bias_: F32 | None
    user_bias_: F32 | None
    _gram: NDArray[np.float64] | None = None

    def _set_factors(self, user_factors: Any, item_factors: Any, item_bias: Any = None, user_bias: Any = None) -> None:
        self.user_factors_ = np.ascontiguousarray(user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(item_factors, dtype=np.float32)
        self.item_bias_ = None if item_bias is None else np.ascontiguousarray(item_bias, dtype=np.float32)
        self.user_bias_ = None if user_bias is None else np.ascontiguousarray(user_bias, dtype=np.float32)
        self.item_prior_ = None
        self._gram = None

    def _apply_prior(self, prior: F32 | None) -> None:
        learned = self.item_bias_ if self.learns_item_bias else None
        if learned is not None and self.item_prior_ is not None:
            learned = learned - self.item_prior_
        if prior is None:
            self.item_bias_ = learned
        else:
            self.item_bias_ = np.ascontiguousarray(prior if learned is None else learned + prior, dtype=np.float32)

    @property
    def factors_gram(self) -> NDArray[np.float64]:
        """``V^T V`` over the trained items, cached (fold-in needs it every call)."""
        if getattr(self, "_gram", None) is None:
            V = self.item_factors_.astype(np.float64)
            self._gram = V.T @ V
        return self._gram  # type: ignore[return-value]

    def _stored_user_vector(self, user_index: int) -> F32 | None:
        return self.user_factors_[user_index]

    def _fold_in_regularization(self) -> float:
        return float(getattr(self, "regularization"))

    def _fold_in_prior(self, user_features_row: Any) -> F32 | None:
        return None

    def fold_in(self, history_row: Any, *, user_features_row: Any = None) -> F32:
        """Least-squares user vector from a confidence row (and, for LightFM, a feature row)."""
        self._check_fitted()
        row = as_row(history_row, self.n_items_)
        return project_user(self.item_factors_, self.factors_gram, row,
                            regularization=self._fold_in_regularization(), alpha=self.fold_in_alpha,
                            prior=self._fold_in_prior(user_features_row))

    def score_vectors(self, vectors: F32) -> F32:
        s = np.asarray(vectors, dtype=np.float32) @ self.item_factors_.T
        if self.item_bias_ is not None:
            s += self.item_bias_
        return s

    def _append_items(self, n: int, item_features_rows: sp.csr_matrix | None) -> None:
        # Without features a new item is neutral: zero factors, the mean learned bias (plus the
        # prior of an item nobody used yet).
        d = self.item_factors_.shape[1]
        bias = None
        if self.item_bias_ is not None:
            learned = self.item_bias_ if self.item_prior_ is None else self.item_bias_ - self.item_prior_
            bias = np.full(n, float(learned.mean()) if len(learned) else 0.0, np.float32)
        self._append_item_state(np.zeros((n, d), np.float32), bias)

    def _append_item_state(self, factors: F32, bias: F32 | None) -> None:
        """Append factors and the *learned* bias of new items; the prior is added here."""
        n = factors.shape[0]
        self.item_factors_ = np.ascontiguousarray(np.vstack([self.item_factors_, factors]), dtype=np.float32)
        new_prior = self._prior_for_new_items(n)
        if new_prior is not None:
            bias = new_prior if bias is None else bias + new_prior
            self.item_prior_ = np.ascontiguousarray(np.concatenate([self.item_prior_, new_prior]), dtype=np.float32)
        if self.item_bias_ is not None and bias is not None:
            self.item_bias_ = np.ascontiguousarray(np.concatenate([self.item_bias_, bias]), dtype=np.float32)
        self._gram = None

    def _check_state(self) -> None:
        d = self.item_factors_.shape[1] if self.item_factors_.ndim == 2 else -1
        self._require_shape("user_factors_", (self.n_users_, d))
        self._require_shape("item_factors_", (self.n_items_, None))
        self._require_shape("item_bias_", (self.n_items_,))
        self._require_shape("user_bias_", (self.n_users_,))
        self._check_prior_state(self.n_items_)
        if self.item_prior_ is not None and self.item_bias_ is None:
            raise IntegrityError(f"{self.name}: item_prior_ without item_bias_ (the prior is part of the bias)")
        for k in ("user_factors_", "item_factors_", "item_bias_", "user_bias_"):
            a = getattr(self, k)
            if a is not None and (a.dtype != np.float32 or not np.isfinite(a).all()):
                raise IntegrityError(f"{self.name}: {k} must be finite float32")
        self._gram = None
