"""A fitted histogram gradient-boosting ensemble as plain arrays, and its prediction.

scikit-learn keeps each tree of a ``HistGradientBoostingClassifier`` as a structured
array of nodes. Exporting those nodes (feature, threshold, where missing values go,
children, leaf values) into flat numeric arrays lets a model be saved as ``.npz`` and
loaded without pickle (no code runs on load), and predicted with the same decision
rule scikit-learn applies to raw features: NaN follows ``missing_go_to_left``,
otherwise ``x <= threshold`` goes left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from catalog.errors import ConfigError, IntegrityError

__all__ = ["TreeEnsemble", "export_hgb"]


@dataclass(frozen=True)
class TreeEnsemble:
    """All trees in one node table; leaves point to themselves so a walk can run a fixed depth."""

    feature: NDArray[np.int32]
    threshold: NDArray[np.float64]
    missing_left: NDArray[np.bool_]
    left: NDArray[np.int32]
    right: NDArray[np.int32]
    value: NDArray[np.float64]
    roots: NDArray[np.int32]
    baseline: float
    depth: int

    def arrays(self) -> dict[str, NDArray]:
        return {"tree_feature": self.feature, "tree_threshold": self.threshold,
                "tree_missing_left": self.missing_left, "tree_left": self.left, "tree_right": self.right,
                "tree_value": self.value, "tree_roots": self.roots,
                "tree_meta": np.array([self.baseline, float(self.depth)])}

    @classmethod
    def from_arrays(cls, a: dict[str, NDArray]) -> TreeEnsemble:
        try:
            meta = a["tree_meta"]
            ens = cls(a["tree_feature"].astype(np.int32), a["tree_threshold"].astype(np.float64),
                      a["tree_missing_left"].astype(bool), a["tree_left"].astype(np.int32),
                      a["tree_right"].astype(np.int32), a["tree_value"].astype(np.float64),
                      a["tree_roots"].astype(np.int32), float(meta[0]), int(meta[1]))
        except KeyError as e:
            raise IntegrityError(f"tree arrays incomplete: {e} missing") from None
        n = len(ens.feature)
        if not (len(ens.threshold) == len(ens.missing_left) == len(ens.left) == len(ens.right) == len(ens.value) == n):
            raise IntegrityError("tree arrays have different lengths")
        for name in ("left", "right", "roots"):
            idx = getattr(ens, name)
            if len(idx) and (idx.min() < 0 or idx.max() >= n):
                raise IntegrityError(f"tree {name} index out of range")
        return ens

    def raw(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """The boosted sum (log-odds) per row: baseline plus one leaf value per tree."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ConfigError(f"X must be 2-D, got shape {X.shape}")
        if len(self.feature) and X.shape[1] <= int(self.feature.max()):
            raise ConfigError(f"X has {X.shape[1]} columns; the model needs {int(self.feature.max()) + 1}")
        rows = np.arange(len(X))[:, None]
        node = np.broadcast_to(self.roots, (len(X), len(self.roots))).copy()
        for _ in range(self.depth):
            x = X[rows, self.feature[node]]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        return self.baseline + self.value[node].sum(axis=1)


def export_hgb(model) -> TreeEnsemble:
    """Flatten a fitted binary ``HistGradientBoostingClassifier`` (numeric features only)."""
    trees = [p for it in model._predictors for p in it]
    if getattr(model, "n_trees_per_iteration_", 1) != 1:
        raise ConfigError("only binary classifiers can be exported")
    feats, thr, miss, left, right, val, roots = [], [], [], [], [], [], []
    offset, depth = 0, 0
    for tree in trees:
        nodes = tree.nodes
        if nodes["is_categorical"].any():
            raise ConfigError("categorical splits cannot be exported; encode features as numbers")
        n = len(nodes)
        leaf = nodes["is_leaf"].astype(bool)
        own = np.arange(n)
        feats.append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int32))
        thr.append(np.where(leaf, 0.0, nodes["num_threshold"]))
        miss.append(nodes["missing_go_to_left"].astype(bool))
        left.append((np.where(leaf, own, nodes["left"]) + offset).astype(np.int32))
        right.append((np.where(leaf, own, nodes["right"]) + offset).astype(np.int32))
        val.append(np.where(leaf, nodes["value"], 0.0))
        roots.append(offset)
        depth = max(depth, int(nodes["depth"].max()))
        offset += n
    baseline = float(np.ravel(model._baseline_prediction)[0])
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
    return TreeEnsemble(cat(feats, np.int32), cat(thr, np.float64), cat(miss, bool), cat(left, np.int32),
                        cat(right, np.int32), cat(val, np.float64), np.array(roots, dtype=np.int32), baseline, depth)
