"""Recency-weighted popularity, and the prior it gives the personalised models.

Recency-weighted popularity of item i at the training cutoff ``now``:

    pop_i = sum_u c_ui * 0.5 ** (age_ui / half_life)        (c_ui = 1 with ``binary``)

where ``age_ui`` is the age in days of the mentee's latest positive event on the item
(:attr:`recommender.interactions.Interactions.age_days`); ``half_life=None`` means no
decay (all-time popularity). It is scaled to a maximum of 1. Within a running course,
what the cohort opened this fortnight is what a learner opens next; all-time counts
instead favour whatever the largest past cohort used.

The *recency prior* adds ``w * log(eps + pop_i)`` to every score (:class:`RecencyPrior`).
For factor models it is added to ``item_bias_``, so serving's augmented item matrix
``[V | b | log f]`` carries it at no cost per request; EASE adds it to its score vector.
``w = 0`` leaves a model exactly as it was. The log makes the prior a multiplicative
popularity factor in ``exp(score)`` terms and caps the penalty of unused items at
``w * log(eps)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import ConfigError, IntegrityError
from recommender.interactions import Interactions

__all__ = ["recency_popularity", "log_prior", "RecencyPrior", "PRIOR_PARAMS"]

F32 = NDArray[np.float32]

PRIOR_PARAMS = ("recency_weight", "recency_half_life_days", "recency_epsilon")


def _ages(interactions: Interactions | sp.spmatrix, matrix: sp.csr_matrix) -> sp.csr_matrix | None:
    return interactions.ages_for(matrix) if isinstance(interactions, Interactions) else None


def recency_popularity(interactions: Interactions | sp.spmatrix, *, half_life_days: float | None,
                       binary: bool = False, matrix: sp.csr_matrix | None = None) -> NDArray[np.float64]:
    """Per item, ``sum_u c_ui 0.5 ** (age_ui / half_life_days)`` scaled to max 1 (see the module docstring).

    ``interactions`` must be :class:`Interactions` built by ``build_interactions`` (it carries
    the ages) unless ``half_life_days`` is None. ``matrix`` (default: ``interactions.matrix``)
    is the confidence matrix to weigh; it must have the ages' sparsity.
    """
    X = interactions.matrix if isinstance(interactions, Interactions) else interactions
    X = sp.csr_matrix(X if matrix is None else matrix, dtype=np.float64)
    weights = (X.data > 0).astype(np.float64) if binary else X.data.copy()
    if half_life_days is not None:
        if not (np.isfinite(half_life_days) and half_life_days > 0):
            raise ConfigError(f"half_life_days must be positive (or None: no decay), got {half_life_days}")
        ages = _ages(interactions, sp.csr_matrix(X))
        if ages is None:
            raise ConfigError("recency weighting needs Interactions from build_interactions (they carry each "
                              "pair's age); got a bare matrix or one that no longer matches its ages")
        weights = weights * np.exp2(-ages.data.astype(np.float64) / float(half_life_days))
    pop = np.bincount(X.indices, weights=weights, minlength=X.shape[1]).astype(np.float64)
    top = pop.max() if pop.size else 0.0
    return pop / top if top > 0 else pop


def log_prior(popularity: NDArray[np.floating], *, weight: float, epsilon: float) -> F32:
    """``weight * log(epsilon + popularity)``, float32."""
    return (weight * np.log(epsilon + np.asarray(popularity, dtype=np.float64))).astype(np.float32)


class RecencyPrior:
    """Mixin for models whose scores take the recency prior (ALS, BPR, LightFM, EASE).

    The model's constructor stores ``recency_weight`` (w, 0 = off),
    ``recency_half_life_days`` (None = all-time popularity) and ``recency_epsilon``.
    :meth:`Recommender.fit` calls :meth:`_fit_recency` after the model's own fit; the result
    is ``item_prior_`` (None when w = 0), saved with the other arrays. Subclasses apply it
    in :meth:`_apply_prior`. :meth:`refit_prior` recomputes it for new prior parameters
    without refitting the model (what tuning w and the half-life needs).
    """

    recency_weight: float
    recency_half_life_days: float | None
    recency_epsilon: float
    item_prior_: F32 | None = None

    def _check_prior_params(self) -> None:
        w, h, eps = self.recency_weight, self.recency_half_life_days, self.recency_epsilon
        if any(isinstance(v, str) for v in (w, h, eps)):
            raise ConfigError(f"{getattr(self, 'name', 'model')}: recency parameters must be numbers here, got "
                              f"{w!r}, {h!r}, {eps!r}; 'auto' is resolved at training time (training.autoprior)")
        if not (np.isfinite(w) and w >= 0):
            raise ConfigError(f"{getattr(self, 'name', 'model')}: recency_weight must be >= 0, got {w}")
        if h is not None and not (np.isfinite(h) and h > 0):
            raise ConfigError(f"{getattr(self, 'name', 'model')}: recency_half_life_days must be > 0 or None, got {h}")
        if not (np.isfinite(eps) and eps > 0):
            raise ConfigError(f"{getattr(self, 'name', 'model')}: recency_epsilon must be > 0, got {eps}")

    def _fit_recency(self, interactions: Interactions | sp.spmatrix, X: sp.csr_matrix) -> None:
        self._check_prior_params()
        prior = None
        if self.recency_weight > 0:
            pop = recency_popularity(interactions, half_life_days=self.recency_half_life_days, binary=True, matrix=X)
            prior = log_prior(pop, weight=float(self.recency_weight), epsilon=float(self.recency_epsilon))
        self._apply_prior(prior)
        self.item_prior_ = prior

    def refit_prior(self, interactions: Interactions | sp.spmatrix) -> Any:
        """Recompute the prior from the current ``recency_*`` parameters; the model is not refitted."""
        self._check_fitted()  # type: ignore[attr-defined]
        X = interactions.matrix if isinstance(interactions, Interactions) else interactions
        X = sp.csr_matrix(X, dtype=np.float32)
        if X.shape[1] != self.n_items_:  # type: ignore[attr-defined]
            raise ConfigError(f"interactions have {X.shape[1]} items, the model {self.n_items_}")  # type: ignore
        self._fit_recency(interactions, X)
        return self

    def _apply_prior(self, prior: F32 | None) -> None:
        """Replace the previous ``item_prior_`` (if any) by ``prior`` in the model's scores."""
        raise NotImplementedError

    def _prior_for_new_items(self, n: int) -> F32 | None:
        """New items have no usage yet: popularity 0, prior ``w * log(eps)``."""
        if self.item_prior_ is None:
            return None
        return np.full(n, float(self.recency_weight) * np.log(float(self.recency_epsilon)), np.float32)

    def _check_prior_state(self, n_items: int) -> None:
        p = self.item_prior_
        if p is None:
            return
        if p.shape != (n_items,) or p.dtype != np.float32 or not np.isfinite(p).all():
            raise IntegrityError(f"{getattr(self, 'name', 'model')}: item_prior_ must be finite float32 "
                                 f"of shape ({n_items},), got {p.dtype}{list(p.shape)}")
