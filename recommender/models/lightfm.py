"""LightFM hybrid factorisation (Kula 2015) via rectools-lightfm 1.17.3, WARP loss.

Users and items are sums of feature embeddings: identity + skill tags with levels +
type + difficulty for items, identity + goal skills + self-assessed levels for users
(:mod:`recommender.features`). That is what makes new items and new mentees scorable
from features alone.

Per NOTES.md, LightFM's ``predict`` silently misbehaves when called without the
feature matrices used in training, so we never call it: the representations come from
``get_item_representations``/``get_user_representations`` and scores are a matrix
product. The feature embeddings are kept too, for fold-in and :meth:`add_items`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import ConfigError, IntegrityError
from recommender.models.factor import FactorRecommender

__all__ = ["LightFMRecommender"]

F32 = NDArray[np.float32]


class LightFMRecommender(FactorRecommender):
    """WARP-trained hybrid factorisation over user and item features.

    Parameters
    ----------
    no_components : int
        Latent dimension.
    loss : str
        ``"warp"`` (default), ``"bpr"``, ``"warp-kos"`` or ``"logistic"``.
    epochs : int
        Passes over the interactions.
    use_weights : bool
        Pass interaction confidences as ``sample_weight`` (WARP/BPR/logistic only).
    fold_in_regularization : float
        Pull of the feature-based vector against the history in fold-in.
    recency_weight, recency_half_life_days, recency_epsilon
        The recency prior ``w * log(eps + recency popularity)`` added to every item's score
        (:mod:`recommender.models.recency`); ``recency_weight=0`` turns it off.
    """

    name: ClassVar[str] = "lightfm"
    feature_kind: ClassVar[str | None] = "tags"
    _array_attrs: ClassVar[tuple[str, ...]] = (
        *FactorRecommender._array_attrs,
        "user_feature_embeddings_", "user_feature_biases_", "item_feature_embeddings_", "item_feature_biases_",
    )

    def __init__(self, no_components: int = 32, loss: str = "warp", learning_rate: float = 0.05,
                 item_alpha: float = 0.0, user_alpha: float = 0.0, max_sampled: int = 10, epochs: int = 20,
                 use_weights: bool = True, fold_in_regularization: float = 1.0, random_state: int = 0,
                 num_threads: int = 1, recency_weight: float = 0.0, recency_half_life_days: float | None = None,
                 recency_epsilon: float = 1e-3) -> None:
        self.no_components = no_components
        self.loss = loss
        self.learning_rate = learning_rate
        self.item_alpha = item_alpha
        self.user_alpha = user_alpha
        self.max_sampled = max_sampled
        self.epochs = epochs
        self.use_weights = use_weights
        self.fold_in_regularization = fold_in_regularization
        self.random_state = random_state
        self.num_threads = num_threads
        self.recency_weight = recency_weight
        self.recency_half_life_days = recency_half_life_days
        self.recency_epsilon = recency_epsilon

    def _fit(self, X: sp.csr_matrix, item_features: sp.csr_matrix | None,
             user_features: sp.csr_matrix | None) -> None:
        if self.loss not in ("warp", "bpr", "warp-kos", "logistic"):
            raise ConfigError(f"lightfm: unknown loss {self.loss!r}")
        if self.no_components < 1 or self.epochs < 1:
            raise ConfigError("lightfm: no_components and epochs must be >= 1")
        from lightfm import LightFM

        n_users, n_items = X.shape
        uf = user_features if user_features is not None else sp.identity(n_users, dtype=np.float32, format="csr")
        itf = item_features if item_features is not None else sp.identity(n_items, dtype=np.float32, format="csr")
        model = LightFM(no_components=self.no_components, loss=self.loss, learning_rate=self.learning_rate,
                        item_alpha=self.item_alpha, user_alpha=self.user_alpha, max_sampled=self.max_sampled,
                        random_state=np.random.RandomState(self.random_state))
        coo = X.tocoo()
        positives = sp.coo_matrix((np.ones_like(coo.data), (coo.row, coo.col)), shape=X.shape, dtype=np.float32)
        weights = coo if (self.use_weights and self.loss != "warp-kos") else None
        model.fit(positives, user_features=uf, item_features=itf, sample_weight=weights, epochs=self.epochs,
                  num_threads=self.num_threads)
        item_bias, item_emb = model.get_item_representations(itf)
        user_bias, user_emb = model.get_user_representations(uf)
        self._set_factors(user_emb, item_emb, item_bias=item_bias, user_bias=user_bias)
        self.user_feature_embeddings_ = np.ascontiguousarray(model.user_embeddings, dtype=np.float32)
        self.user_feature_biases_ = np.ascontiguousarray(model.user_biases, dtype=np.float32)
        self.item_feature_embeddings_ = np.ascontiguousarray(model.item_embeddings, dtype=np.float32)
        self.item_feature_biases_ = np.ascontiguousarray(model.item_biases, dtype=np.float32)

    def _fold_in_regularization(self) -> float:
        return float(self.fold_in_regularization)

    def _fold_in_prior(self, user_features_row: Any) -> F32 | None:
        if user_features_row is None:
            return None
        row = sp.csr_matrix(user_features_row, dtype=np.float32)
        if row.shape != (1, self.user_feature_embeddings_.shape[0]):
            raise ConfigError(f"lightfm: user feature row has shape {row.shape}, "
                              f"expected (1, {self.user_feature_embeddings_.shape[0]})")
        return np.asarray(row @ self.user_feature_embeddings_, dtype=np.float32).ravel()

    def fold_in(self, history_row: Any, *, user_features_row: Any = None) -> F32:
        """Feature representation (sum of the row's feature embeddings) refined by the history.

        With no history this is exactly LightFM's representation of the feature row.
        """
        prior = self._fold_in_prior(user_features_row)
        row = sp.csr_matrix(history_row) if history_row is not None else None
        if prior is not None and (row is None or row.nnz == 0):
            return prior
        return super().fold_in(history_row, user_features_row=user_features_row)

    def _append_items(self, n: int, item_features_rows: sp.csr_matrix | None) -> None:
        if item_features_rows is None:
            super()._append_items(n, None)
            return
        if item_features_rows.shape[1] != self.item_feature_embeddings_.shape[0]:
            raise ConfigError(f"lightfm: item feature rows have {item_features_rows.shape[1]} columns, "
                              f"the model has {self.item_feature_embeddings_.shape[0]} item features")
        factors = np.asarray(item_features_rows @ self.item_feature_embeddings_, dtype=np.float32)
        bias = np.asarray(item_features_rows @ self.item_feature_biases_, dtype=np.float32).ravel()
        self._append_item_state(factors, bias)

    def _check_state(self) -> None:
        super()._check_state()
        d = self.item_factors_.shape[1]
        self._require_shape("user_feature_embeddings_", (None, d))
        self._require_shape("item_feature_embeddings_", (None, d))
        self._require_shape("user_feature_biases_", (self.user_feature_embeddings_.shape[0],))
        self._require_shape("item_feature_biases_", (self.item_feature_embeddings_.shape[0],))
        if self.item_bias_ is None:
            raise IntegrityError("lightfm: item_bias_ is missing")
