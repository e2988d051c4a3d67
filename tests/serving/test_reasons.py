"""Reasons: the goal reason and the neighbours' co-completion, against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd

from catalog.ids import IdMap
from serving.reasons import CoCompletion, goal_reason


def test_goal_reason_names_the_first_goal_the_item_teaches(tiny_catalog):
    cat = tiny_catalog
    s = cat.skill_ids.index
    llm = cat.items.index("llm-101")  # teaches llm-apps and prompting
    assert goal_reason(cat, llm, np.array([s("sql"), s("prompting"), s("llm-apps")])) == \
        "fits your goal: Prompt engineering"
    assert goal_reason(cat, llm, np.array([s("sql")])) is None
    assert goal_reason(cat, llm, np.zeros(0, np.int64)) is None
    for i in range(cat.n_items):  # every row, against scipy's row indexing
        taught = set(cat.item_skill_levels[i].indices.tolist())
        for g in range(cat.n_skills):
            expect = f"fits your goal: {cat.skills[cat.skill_ids.ids[g]].name}" if g in taught else None
            assert goal_reason(cat, i, np.array([g])) == expect


def test_cocompletion_counts_distinct_neighbours_per_item():
    rng = np.random.default_rng(3)
    users, items = IdMap([f"u{j}" for j in range(30)]), IdMap([f"i{j}" for j in range(12)])
    done = pd.DataFrame({"user_id": [f"u{j}" for j in rng.integers(0, 30, 200)] + ["nobody"],
                         "item_id": [f"i{j}" for j in rng.integers(0, 12, 200)] + ["i0"]})
    co = CoCompletion(rng.standard_normal((30, 4)).astype(np.float32), users, items, done, min_count=2)
    dense = np.zeros((30, 12), bool)
    for u, i in zip(done["user_id"], done["item_id"]):
        if u in users:
            dense[users.index(u), items.index(i)] = True  # repeats count once
    neigh = co.neighbours(rng.standard_normal(4).astype(np.float32), "u5")
    assert 0 < len(neigh) and 5 not in neigh.tolist()
    expect = np.flatnonzero(dense[neigh].sum(axis=0) >= 2)
    assert co.supported_items(neigh).tolist() == expect.tolist()
    assert co.supported(neigh, np.arange(12)).tolist() == np.isin(np.arange(12), expect).tolist()
    assert co.supported_items(np.zeros(0, np.int64)).tolist() == []
