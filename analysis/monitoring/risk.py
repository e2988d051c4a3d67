"""The at-risk model: gradient-boosted trees with calibrated probabilities, saved without pickle.

``AtRiskClassifier`` wraps scikit-learn's ``HistGradientBoostingClassifier`` in
``CalibratedClassifierCV(ensemble=False)``: one booster fit on all rows, and an
isotonic (or sigmoid) map from its log-odds to a probability fit on out-of-fold
predictions, so "0.3" means about three in ten. After ``fit`` the trees and the map are
exported to arrays (:mod:`analysis.monitoring.trees`) and every prediction, before or
after a save, runs on those arrays: ``save`` writes them to ``.npz`` plus a JSON file
with the parameters, feature names and the archive's sha256, and ``load`` checks the
checksum and reads with ``allow_pickle=False``.

Demographic attributes are refused by name (:data:`DEMOGRAPHIC_COLUMNS`) before
anything is fit, whatever builds the feature matrix.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from analysis.monitoring.config import DEMOGRAPHIC_COLUMNS
from analysis.monitoring.trees import TreeEnsemble, export_hgb
from catalog.errors import ConfigError, DataValidationError, IntegrityError, NotReadyError, RowError, SkillPathError

__all__ = ["AtRiskClassifier", "DemographicFeatureError", "check_no_demographics", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_PARAMS = ("max_iter", "learning_rate", "max_leaf_nodes", "max_depth", "min_samples_leaf", "l2_regularization",
           "calibration", "cv", "random_state")


class DemographicFeatureError(SkillPathError, ValueError):
    """A demographic attribute reached a feature matrix."""


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


def check_no_demographics(columns: Iterable[str]) -> None:
    """Raise :class:`DemographicFeatureError` if any column is (or one-hot encodes) a demographic attribute."""
    bad = []
    for c in columns:
        n = _norm(c)
        if n in DEMOGRAPHIC_COLUMNS or any(n.startswith(d + "_") for d in DEMOGRAPHIC_COLUMNS):
            bad.append(str(c))
    if bad:
        raise DemographicFeatureError(f"demographic attribute(s) {', '.join(bad)} must never be model "
                                      "features; drop them before fitting")


class AtRiskClassifier:
    """Calibrated gradient-boosted classifier of "will drop out or stall" (estimator-shaped).

    Parameters are the booster's (see scikit-learn's ``HistGradientBoostingClassifier``)
    plus ``calibration`` (``"isotonic"`` or ``"sigmoid"``) and ``cv``, the folds whose
    out-of-fold predictions fit the calibration.
    """

    def __init__(self, *, max_iter: int = 300, learning_rate: float = 0.05, max_leaf_nodes: int = 15,
                 max_depth: int | None = None, min_samples_leaf: int = 40, l2_regularization: float = 1.0,
                 calibration: str = "isotonic", cv: int = 5, random_state: int = 0) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.cv = cv
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _PARAMS}

    def set_params(self, **params: Any) -> AtRiskClassifier:
        for k, v in params.items():
            if k not in _PARAMS:
                raise ConfigError(f"AtRiskClassifier has no parameter {k!r}")
            setattr(self, k, v)
        return self

    # ------------------------------------------------------------------ fit
    def _matrix(self, X: pd.DataFrame | ArrayLike, names: list[str] | None) -> tuple[NDArray[np.float64], list[str]]:
        if isinstance(X, pd.DataFrame):
            names = [str(c) for c in X.columns]
            non_numeric = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
            if non_numeric:
                raise DataValidationError([RowError(0, str(c), "not numeric") for c in non_numeric],
                                          source="features")
            arr = X.to_numpy(dtype=np.float64)
        else:
            arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2:
            raise ConfigError(f"X must be 2-D, got shape {arr.shape}")
        names = names or [f"x{j}" for j in range(arr.shape[1])]
        if len(names) != arr.shape[1]:
            raise ConfigError(f"{len(names)} feature names for {arr.shape[1]} columns")
        check_no_demographics(names)
        return arr, names

    def fit(self, X: pd.DataFrame | ArrayLike, y: ArrayLike, *, feature_names: list[str] | None = None
            ) -> AtRiskClassifier:
        """Fit on a numeric feature matrix (NaN allowed) and binary labels (1 = at risk)."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import StratifiedKFold

        if self.calibration not in ("isotonic", "sigmoid"):
            raise ConfigError(f"calibration must be 'isotonic' or 'sigmoid', got {self.calibration!r}")
        if not isinstance(self.cv, int) or self.cv < 2:
            raise ConfigError(f"cv must be an integer >= 2, got {self.cv!r}")
        arr, names = self._matrix(X, feature_names)
        labels = np.asarray(y)
        if labels.shape != (len(arr),) or not np.isin(labels, (0, 1)).all():
            raise ConfigError("y must hold one 0/1 label per row")
        if np.bincount(labels.astype(np.int64), minlength=2).min() < self.cv:
            raise ConfigError(f"each class needs at least cv={self.cv} rows")
        booster = HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            max_depth=self.max_depth, min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization, early_stopping=False, categorical_features=None,
            random_state=self.random_state)
        # A column with no value at all (mentor ratings where no session is recorded) breaks the booster's
        # binning; it cannot be split on anyway, so it is fit as a constant (at predict time NaN follows
        # the default branch, as for any feature the trees never use).
        empty = np.isnan(arr).all(axis=0)
        if empty.any():
            arr = arr.copy()
            arr[:, empty] = 0.0
        folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        cal = CalibratedClassifierCV(booster, method=self.calibration, cv=folds, ensemble=False)
        cal.fit(arr, labels.astype(np.int64))
        inner = cal.calibrated_classifiers_[0]
        self.trees_ = export_hgb(inner.estimator)
        c = inner.calibrators[0]
        if self.calibration == "isotonic":
            self.calibration_x_ = np.asarray(c.X_thresholds_, dtype=np.float64)
            self.calibration_y_ = np.asarray(c.y_thresholds_, dtype=np.float64)
        else:
            self.calibration_x_ = np.array([float(c.a_), float(c.b_)])
            self.calibration_y_ = np.zeros(0)
        self.feature_names_ = names
        self.n_features_in_ = len(names)
        self.sklearn_model_ = cal   # kept in memory only, for comparison; never saved
        return self

    # ------------------------------------------------------------------ predict
    def _ready(self) -> None:
        if not hasattr(self, "trees_"):
            raise NotReadyError("AtRiskClassifier is not fitted; call fit or load first")

    def decision_function(self, X: pd.DataFrame | ArrayLike) -> NDArray[np.float64]:
        """Uncalibrated log-odds of the booster."""
        self._ready()
        if isinstance(X, pd.DataFrame):
            missing = [c for c in self.feature_names_ if c not in X.columns]
            if missing:
                raise DataValidationError([RowError(0, c, "feature column missing") for c in missing],
                                          source="features")
            X = X[self.feature_names_]
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features_in_:
            raise ConfigError(f"X must have {self.n_features_in_} columns, got shape {arr.shape}")
        return self.trees_.raw(arr)

    def predict_proba(self, X: pd.DataFrame | ArrayLike) -> NDArray[np.float64]:
        """Calibrated ``[P(not at risk), P(at risk)]`` per row."""
        raw = self.decision_function(X)
        if self.calibration == "isotonic":
            p = np.interp(raw, self.calibration_x_, self.calibration_y_)
        else:
            a, b = self.calibration_x_
            p = 1.0 / (1.0 + np.exp(a * raw + b))
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame | ArrayLike, threshold: float = 0.5) -> NDArray[np.int64]:
        return (self.predict_proba(X)[:, 1] >= threshold).astype(np.int64)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.npz, arrays only) and ``path.json`` (parameters, features, sha256)."""
        self._ready()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, calibration_x=self.calibration_x_, calibration_y=self.calibration_y_,
                 **self.trees_.arrays())
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        meta = {"format": "skillpath-at-risk", "version": FORMAT_VERSION, "params": self.get_params(),
                "feature_names": self.feature_names_, "sha256": digest}
        meta_tmp = path.with_name(path.name + ".json.tmp")
        meta_tmp.write_text(json.dumps(meta, indent=2, sort_keys=True))
        tmp.replace(path)
        meta_tmp.replace(_meta_path(path))
        return path

    @classmethod
    def load(cls, path: str | Path) -> AtRiskClassifier:
        """Read a model written by :meth:`save`; raises ``IntegrityError`` if it was altered."""
        path = Path(path)
        try:
            meta = json.loads(_meta_path(path).read_text())
            data = path.read_bytes()
        except (OSError, ValueError) as e:
            raise IntegrityError(f"cannot read at-risk model {path}: {e}") from None
        if meta.get("format") != "skillpath-at-risk" or meta.get("version") != FORMAT_VERSION:
            raise IntegrityError(f"{path} is not a SkillPath at-risk model (version {FORMAT_VERSION})")
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            raise IntegrityError(f"{path}: sha256 does not match {_meta_path(path).name}; refusing to load")
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        params = {k: v for k, v in meta["params"].items() if k in _PARAMS}
        model = cls(**params)
        model.trees_ = TreeEnsemble.from_arrays(arrays)
        model.calibration_x_ = arrays["calibration_x"]
        model.calibration_y_ = arrays["calibration_y"]
        model.feature_names_ = list(meta["feature_names"])
        check_no_demographics(model.feature_names_)
        model.n_features_in_ = len(model.feature_names_)
        return model


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")
