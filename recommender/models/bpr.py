"""Bayesian Personalised Ranking (Rendle et al. 2009) via implicit 0.7.3's CPU trainer.

implicit stores the item bias as the last item-factor column (and a constant 1 in the
last user-factor column); we split it out into ``item_bias_``. BPR has no closed-form
user update, so fold-in is the implicit-ALS least-squares projection onto the learned
item factors (``fold_in_regularization`` sets how far a short history moves a user).
"""

from __future__ import annotations

from typing import ClassVar

import scipy.sparse as sp

from catalog.errors import ConfigError
from recommender.models.factor import FactorRecommender

__all__ = ["BPRRecommender"]


class BPRRecommender(FactorRecommender):
    """Pairwise ranking factorisation trained by SGD on (user, liked, not-liked) triples.

    ``verify_negative_samples`` re-draws a negative the user actually interacted with.
    Interaction weights only decide which pairs are positive: BPR ignores confidence.
    ``recency_weight``, ``recency_half_life_days`` and ``recency_epsilon`` set the recency
    prior (:mod:`recommender.models.recency`; weight 0 = off).
    """

    name: ClassVar[str] = "bpr"

    def __init__(self, factors: int = 64, learning_rate: float = 0.05, regularization: float = 0.01,
                 iterations: int = 100, fold_in_regularization: float = 1.0, verify_negative_samples: bool = True,
                 random_state: int = 0, num_threads: int = 1, recency_weight: float = 0.0,
                 recency_half_life_days: float | None = None, recency_epsilon: float = 1e-3) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.fold_in_regularization = fold_in_regularization
        self.verify_negative_samples = verify_negative_samples
        self.random_state = random_state
        self.num_threads = num_threads
        self.recency_weight = recency_weight
        self.recency_half_life_days = recency_half_life_days
        self.recency_epsilon = recency_epsilon

    def _fold_in_regularization(self) -> float:
        return float(self.fold_in_regularization)

    def _fit(self, X: sp.csr_matrix, item_features: sp.csr_matrix | None,
             user_features: sp.csr_matrix | None) -> None:
        if self.factors < 1 or self.iterations < 1 or self.learning_rate <= 0:
            raise ConfigError("bpr: factors and iterations must be >= 1 and learning_rate > 0")
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        model = BayesianPersonalizedRanking(factors=self.factors, learning_rate=self.learning_rate,
                                            regularization=self.regularization, iterations=self.iterations,
                                            verify_negative_samples=self.verify_negative_samples,
                                            random_state=self.random_state, num_threads=self.num_threads)
        model.fit(X, show_progress=False)
        uf, itf = model.user_factors, model.item_factors
        self._set_factors(uf[:, :-1], itf[:, :-1], item_bias=itf[:, -1])
