"""Goals inferred from history: the skills a mentee worked on most, one level up."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.inferred import goals_from_history


def test_goals_from_history(tiny_catalog):
    n = tiny_catalog.n_items
    assert goals_from_history(tiny_catalog, sp.csr_matrix((1, n))) == ()
    i = tiny_catalog.items.index("py-101")
    row = sp.csr_matrix((np.array([3.0]), (np.array([0]), np.array([i]))), shape=(1, n))
    [goal] = goals_from_history(tiny_catalog, row)
    assert goal.skill_id == "python" and goal.level == 2  # py-101 teaches python:1
