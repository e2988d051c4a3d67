"""The planner's pool choice (first_by) equals the lexsort it replaces; its per-skill tables equal the matrix."""

from __future__ import annotations

import numpy as np

from catalog.synth import SynthConfig, generate
from recommender.paths.pools import first_by, skill_tables


def test_first_by_equals_the_lexsort_on_random_pools_with_ties_and_nan():
    cat = generate(SynthConfig(seed=3, n_mentees=5, n_items=400, n_mentors=1, days=20, sessions=False)).world.catalog
    rng = np.random.default_rng(0)
    types = sorted(set(cat.types.tolist()))
    for trial in range(400):
        cand = np.sort(rng.choice(cat.n_items, size=int(rng.integers(1, 60)), replace=False)).astype(np.int64)
        dist = rng.integers(0, 3, size=len(cand))
        scores = np.round(rng.normal(size=cat.n_items), 1)  # rounded: many ties
        if trial % 3 == 0:
            scores[rng.random(cat.n_items) < 0.5] = np.nan
        if trial % 7 == 0:
            scores[:] = np.nan
        prefer = frozenset(rng.choice(types, size=int(rng.integers(0, 3)), replace=False).tolist())
        other = np.ones(len(cand), dtype=bool)
        for t in prefer:
            other &= cat.types[cand] != t
        want = int(np.lexsort((cand, cat.duration_minutes[cand], -scores[cand], other, dist))[0])
        assert first_by(cand, dist, cat, prefer, scores) == want


def test_skill_tables_are_the_skill_matrix_and_built_once():
    cat = generate(SynthConfig(seed=3, n_mentees=5, n_items=300, n_mentors=1, days=20, sessions=False)).world.catalog
    t = skill_tables(cat)
    assert skill_tables(cat) is t
    m = cat.item_skill_levels_csc
    for j in range(cat.n_skills):
        items, levels = t.of(j)
        assert items.tolist() == m.indices[m.indptr[j]:m.indptr[j + 1]].tolist()
        assert levels.tolist() == m.data[m.indptr[j]:m.indptr[j + 1]].astype(int).tolist()
    assert t.minutes.tolist() == np.maximum(cat.duration_minutes, 1).tolist()


def test_best_scores_equal_the_per_skill_max():
    cat = generate(SynthConfig(seed=4, n_mentees=5, n_items=300, n_mentors=1, days=20, sessions=False)).world.catalog
    t = skill_tables(cat)
    rng = np.random.default_rng(1)
    for trial in range(50):
        usable = rng.random(cat.n_items) < rng.uniform(0.0, 1.0)
        scores = rng.normal(size=cat.n_items)
        if trial % 4 == 0:
            scores[rng.random(cat.n_items) < 0.05] = np.nan
        skills = rng.choice(cat.n_skills, size=int(rng.integers(0, cat.n_skills)), replace=False).tolist()
        want = []
        for j in skills:
            items, _ = t.of(j)
            ok = usable[items]
            want.append(float(scores[items[ok]].max()) if ok.any() else -np.inf)
        got = t.best_scores(skills, usable, scores).tolist()
        assert np.array_equal(np.array(got), np.array(want), equal_nan=True)
