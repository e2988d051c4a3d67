"""Goals inferred from a mentee's history, for mentees who never gave a profile.

A mentee known only from their events still deserves a path and a mentor: the skills of
the resources they engaged with most (weighted by their interaction strength) become
their goals, each one level above the highest level they have worked at, so matching
and planning look at their next steps instead of refusing.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from catalog.catalog import Catalog
from catalog.schema import MAX_LEVEL, Goal

__all__ = ["goals_from_history"]


def goals_from_history(catalog: Catalog, history: sp.csr_matrix, *, max_goals: int = 3) -> tuple[Goal, ...]:
    """Up to ``max_goals`` goals from a (1 x n_items) history row; () for an empty history."""
    row = sp.csr_matrix(history)
    if not row.nnz:
        return ()
    items = row.indices
    weights = np.abs(row.data).astype(np.float64)
    levels = sp.csr_matrix(catalog.item_skill_levels[items])  # (engaged items x skills)
    tagged = levels.copy()
    tagged.data[:] = 1.0
    per_skill = np.asarray(tagged.T @ weights).ravel()
    top_level = np.asarray(levels.max(axis=0).todense()).ravel()
    order = [j for j in np.argsort(-per_skill, kind="stable")[:max_goals] if per_skill[j] > 0]
    return tuple(Goal(str(catalog.skill_ids.ids[j]), int(min(MAX_LEVEL, top_level[j] + 1))) for j in order)
