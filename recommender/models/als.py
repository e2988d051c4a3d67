"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) via implicit 0.7.3's CPU solver.

``implicit.als.AlternatingLeastSquares`` is a factory that may pick the GPU class; we
construct ``implicit.cpu.als.AlternatingLeastSquares`` directly, with one thread and a
seed, so fits are reproducible. Fold-in is the exact closed-form user solve
(:func:`recommender.models.factor.project_user`, equal to implicit's
``recalculate_user``).
"""

from __future__ import annotations

from typing import ClassVar

import scipy.sparse as sp

from catalog.errors import ConfigError
from recommender.models.factor import FactorRecommender

__all__ = ["ALSRecommender"]


class ALSRecommender(FactorRecommender):
    """Weighted matrix factorisation for implicit feedback (alternating least squares).

    Parameters
    ----------
    factors : int
        Latent dimension.
    regularization : float
        L2 penalty on the factors (also used by fold-in).
    alpha : float
        Confidence scale: confidence = alpha * interaction weight.
    iterations : int
        ALS sweeps.
    random_state : int
        Seed of the initial factors.
    num_threads : int
        Solver threads (1 keeps fits deterministic and plays well on 2 cores).
    recency_weight, recency_half_life_days, recency_epsilon
        The recency prior ``w * log(eps + recency popularity)`` added to every item's score
        (:mod:`recommender.models.recency`); ``recency_weight=0`` turns it off.
    """

    name: ClassVar[str] = "als"
    learns_item_bias: ClassVar[bool] = False

    def __init__(self, factors: int = 64, regularization: float = 1.0, alpha: float = 2.0, iterations: int = 15,
                 random_state: int = 0, num_threads: int = 1, recency_weight: float = 0.0,
                 recency_half_life_days: float | None = None, recency_epsilon: float = 1e-3) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads
        self.recency_weight = recency_weight
        self.recency_half_life_days = recency_half_life_days
        self.recency_epsilon = recency_epsilon

    @property
    def fold_in_alpha(self) -> float:  # type: ignore[override]
        return float(self.alpha)

    def _fit(self, X: sp.csr_matrix, item_features: sp.csr_matrix | None,
             user_features: sp.csr_matrix | None) -> None:
        if self.factors < 1 or self.iterations < 1 or self.regularization < 0 or self.alpha <= 0:
            raise ConfigError("als: factors and iterations must be >= 1, regularization >= 0, alpha > 0")
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                                        iterations=self.iterations, random_state=self.random_state,
                                        num_threads=self.num_threads)
        model.fit(X, show_progress=False)
        self._set_factors(model.user_factors, model.item_factors)
