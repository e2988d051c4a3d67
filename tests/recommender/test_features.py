"""Feature matrices from the catalog and mentees."""

from __future__ import annotations

import numpy as np

from catalog.ids import IdMap
from catalog.schema import Resource, SkillLevel
from recommender.features import build_features, item_tag_matrix, user_tag_matrix


def test_skill_matrices(tiny_world):
    cat = tiny_world.catalog
    users = IdMap(["u1", "u2", "ghost"])
    f = build_features(cat, tiny_world.mentees, users)
    assert f.item_skills.shape == (cat.n_items, cat.n_skills)
    pd_row = f.item_skills.matrix[cat.items.index("pd-101")].toarray().ravel()
    assert pd_row[cat.skill_ids.index("pandas")] == 2 and pd_row[cat.skill_ids.index("python")] == 2
    S = cat.n_skills
    u = f.user_skills.matrix.toarray()
    assert u.shape == (3, 2 * S)
    assert u[0, cat.skill_ids.index("llm-apps")] == 3 and u[0, S + cat.skill_ids.index("python")] == 3
    assert not u[2].any()  # no profile
    assert f.user_skills.names.to_list()[0].startswith("goal:")


def test_tag_matrices_are_normalised_and_map_new_rows(tiny_world):
    cat = tiny_world.catalog
    f = build_features(cat, tiny_world.mentees, IdMap(["u1", "u2"]))
    items = f.item_tags
    np.testing.assert_allclose(np.asarray(items.matrix.sum(axis=1)).ravel(), 1.0, rtol=1e-6)
    for tag in ("item:py-101", "skill:python", "skill:python=1", "type:course", "difficulty:1"):
        assert tag in items.names
    # A new resource maps into the fitted space: no identity column, known tags only.
    new = Resource("brand-new", "t", "article", (SkillLevel("python", 1), SkillLevel("rust", 2)), cat.resources[0].published_at)
    row = item_tag_matrix([new], names=items.names).matrix
    assert row.shape == (1, len(items.names))
    got = {items.names.ids[j] for j in row.indices}
    assert got == {"skill:python", "skill:python=1", "type:article", "difficulty:3"}
    np.testing.assert_allclose(row.data, 0.25)
    users = f.user_tags
    assert {"user:u1", "goal:llm-apps", "goal:llm-apps=3", "self:python=3"} <= set(users.names.to_list())
    fresh = user_tag_matrix(tiny_world.mentees, IdMap(["u1"]), names=users.names, identity=False).matrix
    assert "user:u1" not in {users.names.ids[j] for j in fresh.indices}
    assert f.for_model("tags")[0] is items.matrix and f.for_model(None) == (None, None)
    assert set(f.names_for_model("skills")) == {"item_features", "user_features"}
