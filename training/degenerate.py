"""Is a model degenerate? Constant scores, tiny coverage or one list for everybody.

A model can win on a metric and still be useless to mentees: a content model without goal
data scores every item 0 and serves the catalog in its stored order, labelled
"personalised"; a model that serves one list to everybody hides the catalog. The gate
(:mod:`training.gate`) refuses such a model as champion whatever its metric, and the
decision names the check that failed:

- ``constant scores``: for more than :data:`MAX_CONSTANT_SHARE` of the users the model's
  scores over the catalog do not vary (max - min <= 1e-9 relative);
- ``coverage``: the distinct items in the users' top-k lists are fewer than
  ``min(COVERAGE_FLOOR * n_items, 2k)`` (a bar two lists' worth of items can clear);
- ``identical lists``: more than :data:`MAX_IDENTICAL_SHARE` of the users get the very same
  top-k list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.interactions import Interactions
from recommender.models import Recommender
from recommender.topk import topk

__all__ = ["COVERAGE_FLOOR", "MAX_CONSTANT_SHARE", "MAX_IDENTICAL_SHARE", "Degeneracy", "check_degenerate"]

COVERAGE_FLOOR = 0.01
MAX_CONSTANT_SHARE = 0.5
MAX_IDENTICAL_SHARE = 0.8
MAX_USERS = 1000


@dataclass(frozen=True)
class Degeneracy:
    """The three measurements and the checks that failed (empty: the model is not degenerate)."""

    constant_share: float
    coverage: int
    coverage_floor: int
    identical_share: float
    n_users: int
    reasons: list[str] = field(default_factory=list)

    @property
    def degenerate(self) -> bool:
        return bool(self.reasons)

    def tags(self) -> dict[str, str]:
        return {"gate.degenerate": "; ".join(self.reasons), "gate.constant_share": f"{self.constant_share:.3f}",
                "gate.coverage_items": str(self.coverage), "gate.identical_share": f"{self.identical_share:.3f}"}


def check_degenerate(model: Recommender, train: Interactions, k: int, *, users: NDArray[np.int64] | None = None,
                     user_features: sp.spmatrix | None = None, seed: int = 0, batch_size: int = 256) -> Degeneracy:
    """Score up to :data:`MAX_USERS` users (default: every user with history) and run the checks."""
    n_users, n_items = train.shape
    pool = np.flatnonzero(np.diff(sp.csr_matrix(train.matrix).indptr) > 0) if users is None else np.asarray(users)
    if len(pool) > MAX_USERS:
        pool = np.sort(np.random.default_rng(seed).choice(pool, size=MAX_USERS, replace=False))
    banned = sp.csr_matrix(sp.csr_matrix(train.seen, dtype=bool) + sp.csr_matrix(train.dismissed, dtype=bool))
    feats = None if user_features is None else sp.csr_matrix(user_features)
    constant = 0
    lists: list[NDArray[np.int64]] = []
    for start in range(0, len(pool), batch_size):
        batch = pool[start:start + batch_size]
        rows = train.matrix[batch][:, : model.n_items_]
        s = np.asarray(model.score(batch, rows, user_features=None if feats is None else feats[batch]), np.float64)
        full = np.full((len(batch), n_items), -np.inf)
        full[:, : min(n_items, s.shape[1])] = s[:, :n_items]
        for r in range(len(batch)):
            f = full[r][np.isfinite(full[r])]
            if not len(f) or f.max() - f.min() <= 1e-9 * (1.0 + abs(f.max())):
                constant += 1
        lists.extend(topk(full.astype(np.float32), k, exclude=banned[batch])[0])
    n = max(len(pool), 1)
    top = np.array(lists, dtype=np.int64).reshape(-1, k) if lists else np.zeros((0, k), np.int64)
    coverage = int(len(np.unique(top[top >= 0])))
    floor = int(min(np.ceil(COVERAGE_FLOOR * n_items), 2 * k))
    if len(top):
        _, counts = np.unique(top, axis=0, return_counts=True)
        identical = float(counts.max()) / n
    else:
        identical = 0.0
    reasons: list[str] = []
    if constant / n > MAX_CONSTANT_SHARE:
        reasons.append(f"constant scores: the scores do not vary over the catalog for {constant} of {n} users")
    if coverage < floor:
        reasons.append(f"coverage: its top-{k} lists hold {coverage} distinct items, below the floor of {floor}")
    if identical > MAX_IDENTICAL_SHARE:
        reasons.append(f"identical lists: {identical:.0%} of {n} users get the same top-{k} list")
    return Degeneracy(constant / n, coverage, floor, identical, len(pool), reasons)

