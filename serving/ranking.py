"""The one place serving gets its scoring index from.

``recommender.scoring.ScoringIndex`` (the fused top-k kernels) is the hot path. Until
that module is installed, :class:`NumpyScoringIndex` stands in with the same call shape
and the same ranking rule (higher score first, lower item index on ties; inactive,
disallowed and excluded items never returned), so swapping is this file only.

Scores are additive: ``u·v + b + λ·log(freshness)`` against the augmented item matrix
``[V | b | log f]`` (see DEVELOPERS.md, "Scoring").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from catalog.errors import IntegrityError

__all__ = ["ScoringIndex", "NumpyScoringIndex", "log_freshness", "USING_KERNELS"]


def log_freshness(freshness: ArrayLike) -> NDArray[np.float32]:
    """``log(freshness)`` for freshness in (0, 1]."""
    f = np.asarray(freshness, dtype=np.float64)
    if f.ndim != 1 or not np.all((f > 0) & (f <= 1)):
        raise IntegrityError("freshness must be a 1-D array of values in (0, 1]")
    return np.log(f).astype(np.float32)


def _top(scores: NDArray[np.floating], k: int, banned: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    s = np.where(banned | np.isnan(scores), -np.inf, scores).astype(np.float32)
    avail = int(np.count_nonzero(s > -np.inf))
    k = min(k, avail)
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    part = np.argpartition(-s, k - 1)[:k] if k < len(s) else np.arange(len(s))
    # lexsort: last key is primary -> score descending, then index ascending
    order = np.lexsort((part, -s[part]))
    idx = part[order].astype(np.int64)
    # ties at the cut may hide a lower index outside the partition: recheck the boundary
    cut = s[idx[-1]]
    tied = np.flatnonzero(s == cut)
    if len(tied) > np.count_nonzero(s[idx] == cut):
        above = idx[s[idx] > cut]
        idx = np.concatenate([above, tied[: k - len(above)]]).astype(np.int64)
    return idx, s[idx]


class NumpyScoringIndex:
    """Numpy stand-in for ``recommender.scoring.ScoringIndex`` (same constructor and methods)."""

    def __init__(self, item_factors: ArrayLike, *, item_bias: ArrayLike | None = None,
                 log_freshness: ArrayLike | None = None, freshness_weight: float = 1.0,
                 active: ArrayLike | None = None, dtype: str = "float32", exact: bool = True) -> None:
        v = np.asarray(item_factors, dtype=np.float32)
        if v.ndim != 2:
            raise IntegrityError(f"item_factors must be 2-D (n_items x d), got shape {v.shape}")
        n, d = v.shape
        self.n_items, self.n_factors = n, d
        self.freshness_weight = float(freshness_weight)
        m = np.zeros((n, d + 2), np.float32)
        m[:, :d] = v
        if item_bias is not None:
            m[:, d] = np.asarray(item_bias, dtype=np.float32)
        if log_freshness is not None:
            m[:, d + 1] = np.asarray(log_freshness, dtype=np.float32)
        if not np.all(np.isfinite(m)):
            raise IntegrityError("item matrix has non-finite values")
        self.matrix_ = m
        self.active_ = np.ones(n, bool) if active is None else np.asarray(active, dtype=bool)

    @classmethod
    def for_scores(cls, n_items: int, **kwargs) -> NumpyScoringIndex:
        return cls(np.zeros((n_items, 0), np.float32), **kwargs)

    def with_freshness(self, log_freshness: ArrayLike) -> NumpyScoringIndex:
        new = object.__new__(NumpyScoringIndex)
        new.__dict__.update(self.__dict__)
        new.matrix_ = self.matrix_.copy()
        new.matrix_[:, self.n_factors + 1] = np.asarray(log_freshness, dtype=np.float32)
        return new

    def query(self, user_vector: ArrayLike, *, decay: bool = True) -> NDArray[np.float32]:
        u = np.asarray(user_vector, dtype=np.float32)
        if u.shape != (self.n_factors,):
            raise IntegrityError(f"user vector has shape {u.shape}, expected ({self.n_factors},)")
        return np.concatenate([u, [1.0, self.freshness_weight if decay else 0.0]]).astype(np.float32)

    def _banned(self, exclude: ArrayLike | None, allow: ArrayLike | None) -> NDArray[np.bool_]:
        banned = ~self.active_
        if allow is not None:
            banned = banned | ~np.asarray(allow, dtype=bool)
        if exclude is not None and np.size(exclude):
            banned = banned.copy()
            banned[np.asarray(exclude, dtype=np.int64)] = True
        return banned

    def recommend(self, user_vector: ArrayLike, k: int, *, exclude: ArrayLike | None = None,
                  allow: ArrayLike | None = None, decay: bool = True) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        return _top(self.matrix_ @ self.query(user_vector, decay=decay), k, self._banned(exclude, allow))

    def score_vector(self, scores: ArrayLike, k: int, *, exclude: ArrayLike | None = None,
                     allow: ArrayLike | None = None, decay: bool = True) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        d = self.n_factors
        lam = self.freshness_weight if decay else 0.0
        s = np.asarray(scores, dtype=np.float32) + self.matrix_[:, d] + np.float32(lam) * self.matrix_[:, d + 1]
        return _top(s, k, self._banned(exclude, allow))

    def components(self, user_vector: ArrayLike, items: ArrayLike) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        rows = self.matrix_[np.asarray(items, dtype=np.int64)]
        return rows @ self.query(user_vector, decay=False), np.exp(rows[:, self.n_factors + 1])

    def recommend_batch(self, user_matrix: ArrayLike, k: int, *, exclude: Sequence[ArrayLike | None] | None = None,
                        allow: ArrayLike | None = None, decay: bool = True) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        U = np.asarray(user_matrix, dtype=np.float32)
        out_i = np.full((len(U), k), -1, np.int64)
        out_v = np.full((len(U), k), -np.inf, np.float32)
        for r, u in enumerate(U):
            i, v = self.recommend(u, k, exclude=None if exclude is None else exclude[r], allow=allow, decay=decay)
            out_i[r, : len(i)], out_v[r, : len(v)] = i, v
        return out_i, out_v


try:  # the fused kernels, once recommender.scoring is installed (top-k branch)
    from recommender.scoring import ScoringIndex  # type: ignore[import-not-found,unused-ignore]
    USING_KERNELS = True
except ImportError:
    ScoringIndex = NumpyScoringIndex  # type: ignore[assignment,misc,unused-ignore]
    USING_KERNELS = False
