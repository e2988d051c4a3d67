"""The one contract every SkillPath recommender follows (after implicit's ``recommender_base``).

Estimator shape (scikit-learn): ``__init__`` only stores parameters, ``fit`` validates
and returns ``self``, learned state ends in ``_``. Everything works on dense integer
indices and arrays; the id maps live at the edge (:mod:`recommender.interactions`).

A model scores users in two steps: a *user vector* (learned for known users, or
:meth:`Recommender.fold_in` from a history row and/or a feature row for anyone) and
then ``score_vectors``. So online adaptation (a mentee just finished three items) needs
no retraining: fold the new history in and score.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from catalog.errors import ConfigError, IntegrityError, NotReadyError
from catalog.ids import IdMap
from recommender.interactions import Interactions
from recommender.models.artifact import Artifact, read_artifact, write_artifact
from recommender.topk import topk

__all__ = ["Recommender", "as_rows", "as_row"]

F32 = NDArray[np.float32]


def as_rows(rows: sp.spmatrix | sp.sparray | NDArray[Any] | None, n_rows: int, n_cols: int,
            what: str = "history") -> sp.csr_matrix:
    """``rows`` as a float32 CSR of shape ``(n_rows, n_cols)``; narrower input is padded with empty columns."""
    if rows is None:
        return sp.csr_matrix((n_rows, n_cols), dtype=np.float32)
    m = sp.csr_matrix(rows, dtype=np.float32)
    if m.ndim == 1 or m.shape[0] != n_rows:
        raise ConfigError(f"{what} has {m.shape[0]} row(s), expected {n_rows}")
    if m.shape[1] > n_cols:
        raise ConfigError(f"{what} has {m.shape[1]} columns, the model knows {n_cols}")
    if m.shape[1] < n_cols:
        m = sp.csr_matrix((m.data, m.indices, m.indptr), shape=(n_rows, n_cols))
    return m


def as_row(row: Any, n_cols: int, what: str = "history") -> sp.csr_matrix:
    if row is not None and not sp.issparse(row):
        row = np.atleast_2d(np.asarray(row, dtype=np.float32))
    return as_rows(row, 1, n_cols, what)


class Recommender(ABC):
    """Base class: fit on a (users x items) confidence matrix, score, recommend, fold in, save.

    Subclasses set ``name``, ``feature_kind`` (which feature matrices ``fit`` wants:
    ``None``, ``"skills"`` or ``"tags"``, see :mod:`recommender.features`) and
    ``_array_attrs`` (the learned arrays to save), and implement ``_fit``,
    ``_user_vectors``, ``fold_in``, ``score_vectors`` and ``_append_items``.
    """

    name: ClassVar[str] = "base"
    feature_kind: ClassVar[str | None] = None
    _array_attrs: ClassVar[tuple[str, ...]] = ()
    _scalar_attrs: ClassVar[tuple[str, ...]] = ("n_users_", "n_items_")
    # Arrays added after models were first saved: an older artifact without them loads them as None.
    _optional_array_attrs: ClassVar[tuple[str, ...]] = ()

    n_users_: int
    n_items_: int
    id_maps_: dict[str, IdMap]  # set by load(): the id maps saved with the model
    sha256_: str  # set by load(): the artifact checksum

    # ----------------------------------------------------------- estimator shape
    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (JSON-friendly), as scikit-learn's ``get_params``."""
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def set_params(self, **params: Any) -> Self:
        valid = self.get_params()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ConfigError(f"{self.name}: unknown parameter(s) {unknown}; valid: {sorted(valid)}")
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "n_items_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotReadyError(f"{self.name} model is not fitted; call fit() or load() first")

    def fit(self, interactions: sp.spmatrix | Interactions, *, item_features: sp.spmatrix | None = None,
            user_features: sp.spmatrix | None = None) -> Self:
        """Learn from a (users x items) non-negative confidence matrix; returns ``self``."""
        X = interactions.matrix if isinstance(interactions, Interactions) else interactions
        if not sp.issparse(X) or X.ndim != 2:
            raise ConfigError(f"{self.name}: interactions must be a 2-D scipy sparse matrix")
        X = sp.csr_matrix(X, dtype=np.float32)
        X.sum_duplicates()
        if X.nnz and (not np.isfinite(X.data).all() or (X.data < 0).any()):
            raise ConfigError(f"{self.name}: interactions must be finite and non-negative (confidences)")
        n_users, n_items = X.shape
        item_features = self._check_features(item_features, n_items, "item_features")
        user_features = self._check_features(user_features, n_users, "user_features")
        self._fit(X, item_features, user_features)
        self.n_users_, self.n_items_ = int(n_users), int(n_items)
        self._fit_recency(interactions, X)
        return self

    def _fit_recency(self, interactions: sp.spmatrix | Interactions, X: sp.csr_matrix) -> None:
        """Hook after ``_fit`` for state that needs the :class:`Interactions` themselves (each
        pair's event age): the recency prior (:class:`recommender.models.recency.RecencyPrior`)
        and recency-weighted popularity. Nothing by default."""

    def _check_features(self, m: sp.spmatrix | None, n: int, what: str) -> sp.csr_matrix | None:
        if m is None:
            return None
        m = sp.csr_matrix(m, dtype=np.float32)
        if m.shape[0] != n:
            raise ConfigError(f"{self.name}: {what} has {m.shape[0]} rows, interactions have {n}")
        return m

    @abstractmethod
    def _fit(self, X: sp.csr_matrix, item_features: sp.csr_matrix | None,
             user_features: sp.csr_matrix | None) -> None: ...

    # ----------------------------------------------------------------- scoring
    @abstractmethod
    def fold_in(self, history_row: Any, *, user_features_row: Any = None) -> F32:
        """A user vector from a 1 x n_items confidence row (and a feature row), without retraining."""

    @abstractmethod
    def score_vectors(self, vectors: F32) -> F32:
        """Scores (n x n_items_) for user vectors as returned by ``fold_in``/``user_vectors``."""

    def _stored_user_vector(self, user_index: int) -> F32 | None:
        """The learned vector of a known user, or None if the model keeps no per-user state."""
        return None

    def user_vectors(self, user_indices: ArrayLike, history_rows: Any, *, user_features: Any = None) -> F32:
        """One vector per user: learned for known users, folded in for the others.

        ``user_indices`` outside ``0..n_users_-1`` (use -1) mark users the model never saw.
        """
        self._check_fitted()
        users = np.atleast_1d(np.asarray(user_indices, dtype=np.int64))
        H = as_rows(history_rows, len(users), self.n_items_)
        out = []
        for r, u in enumerate(users):
            stored = self._stored_user_vector(int(u)) if 0 <= u < self.n_users_ else None
            if stored is None:
                feats = None if user_features is None else user_features[r]
                stored = self.fold_in(H[r], user_features_row=feats)
            out.append(stored)
        return np.ascontiguousarray(np.vstack(out), dtype=np.float32) if out else np.zeros((0, 0), np.float32)

    def score(self, user_indices: ArrayLike, history_rows: Any, *, user_features: Any = None) -> F32:
        """Scores (n_users x n_items_, float32) for a batch of users; higher is better."""
        vecs = self.user_vectors(user_indices, history_rows, user_features=user_features)
        return np.asarray(self.score_vectors(vecs), dtype=np.float32)

    def recommend(self, user_index: int, history_row: Any, k: int = 10, *, exclude: ArrayLike | None = None,
                  filter_seen: bool = True, user_features_row: Any = None) -> tuple[NDArray[np.int64], F32]:
        """Top ``k`` ``(item_indices, scores)`` for one user, best first.

        Items in ``history_row`` are skipped unless ``filter_seen=False``; ``exclude``
        (indices or a boolean mask, e.g. dismissed items) is always skipped. Returns fewer
        than ``k`` items when fewer remain.
        """
        self._check_fitted()
        row = as_row(history_row, self.n_items_)
        feats = None if user_features_row is None else sp.csr_matrix(user_features_row)
        scores = self.score([user_index], row, user_features=feats)[0]
        banned = np.zeros(self.n_items_, dtype=bool)
        if filter_seen:
            banned[row.indices] = True
        if exclude is not None:
            ex = np.asarray(exclude)
            if ex.dtype == bool:
                banned[: len(ex)] |= ex
            else:
                banned[ex.astype(np.int64)] = True
        return topk(scores, k, allow=~banned)

    # --------------------------------------------------------------- new items
    def add_items(self, item_features_rows: Any = None, *, n: int | None = None) -> NDArray[np.int64]:
        """Append new catalog items; returns their indices. Feature models score them from features."""
        self._check_fitted()
        if item_features_rows is not None:
            item_features_rows = sp.csr_matrix(item_features_rows, dtype=np.float32)
            n = item_features_rows.shape[0] if n is None else n
            if n != item_features_rows.shape[0]:
                raise ConfigError(f"n={n} but {item_features_rows.shape[0]} feature rows given")
        if n is None or n < 0:
            raise ConfigError("add_items needs feature rows or n >= 0")
        start = self.n_items_
        self._append_items(int(n), item_features_rows)
        self.n_items_ = start + int(n)
        return np.arange(start, start + int(n), dtype=np.int64)

    @abstractmethod
    def _append_items(self, n: int, item_features_rows: sp.csr_matrix | None) -> None: ...

    # ------------------------------------------------------------- save / load
    def save(self, path: str | Path, *, id_maps: dict[str, IdMap] | None = None) -> str:
        """Write the model to directory ``path`` (npz + JSON, no pickle); return its sha256."""
        self._check_fitted()
        arrays = {k: getattr(self, k) for k in self._array_attrs}
        scalars = {k: getattr(self, k) for k in self._scalar_attrs}
        return write_artifact(path, model=self.name, params=self.get_params(), scalars=scalars,
                              arrays=arrays, id_maps=id_maps)

    @classmethod
    def load(cls, path: str | Path, *, expected_sha256: str | None = None) -> "Recommender":
        """Load a model saved by :meth:`save`; IntegrityError if tampered or inconsistent."""
        return cls.from_artifact(read_artifact(path, expected_sha256=expected_sha256), source=str(path))

    @classmethod
    def from_artifact(cls, art: Artifact, *, source: str = "artifact") -> "Recommender":
        """Rebuild a model from a verified :class:`Artifact` (see :func:`read_artifact`)."""
        path = source
        if art.model != cls.name:
            raise IntegrityError(f"{path} holds a {art.model!r} model, not {cls.name!r}")
        try:
            model = cls(**art.params)
        except TypeError as e:
            raise IntegrityError(f"{path}: parameters do not fit {cls.__name__}: {e}") from None
        missing = [k for k in (*cls._array_attrs, *cls._scalar_attrs)
                   if k not in art.arrays and k not in art.scalars and k not in cls._optional_array_attrs]
        if missing:
            raise IntegrityError(f"{path}: missing learned state {missing}")
        for k in cls._array_attrs:
            setattr(model, k, art.arrays.get(k))
        for k in cls._scalar_attrs:
            setattr(model, k, art.scalars[k])
        model.id_maps_ = art.id_maps
        model.sha256_ = art.sha256
        model._check_state()
        return model

    def _check_state(self) -> None:
        """Raise IntegrityError if the learned arrays do not agree with each other."""

    def _require_shape(self, attr: str, shape: tuple[int | None, ...]) -> None:
        a = getattr(self, attr)
        if a is None:
            return
        ok = a.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, a.shape))
        if not ok:
            raise IntegrityError(f"{self.name}: {attr} has shape {a.shape}, expected {shape}")
