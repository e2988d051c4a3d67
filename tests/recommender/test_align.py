"""A trained model over a changed catalog: new items placed by content, removed ones skipped."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import numpy as np

from catalog.catalog import Catalog
from recommender.interactions import build_id_maps, build_interactions
from recommender.models import make_model
from recommender.models.align import align_model
from recommender.synthetic import block_world


def _trained(tmp_path):
    data = block_world(n_blocks=3, items_per_block=8, n_users=40, events_per_user=10, noise=0.0, seed=2,
                       start=datetime(2026, 1, 1, tzinfo=timezone.utc))
    cat = data.world.catalog
    users, items = build_id_maps(data.events, catalog=cat)
    model = make_model("als", factors=8, iterations=8, random_state=0).fit(
        build_interactions(data.events, users=users, items=items))
    model.save(tmp_path / "m", id_maps={"users": users, "items": items})
    return type(model).load(tmp_path / "m"), cat


def test_new_item_is_placed_among_items_of_its_skill(tmp_path):
    model, cat = _trained(tmp_path)
    template = next(r for r in cat.resources if r.skills[0].skill_id == "block1")
    new = dataclasses.replace(template, item_id="cold-1", title="Cold")
    grown = Catalog(cat.skills.values(), [*cat.resources, new])
    aligned = align_model(model, grown)
    assert aligned is not model and aligned.n_items_ == grown.n_items and model.n_items_ == cat.n_items
    assert aligned.id_maps_["items"].to_list() == grown.items.to_list()
    V = aligned.item_factors_
    block1 = [i for i, r in enumerate(cat.resources) if r.skills[0].skill_id == "block1"]
    other = [i for i, r in enumerate(cat.resources) if r.skills[0].skill_id != "block1"]
    unit = V / np.linalg.norm(V, axis=1, keepdims=True)
    sims = unit[: cat.n_items] @ unit[-1]
    assert sims[block1].mean() > sims[other].mean() + 0.3
    assert align_model(model, cat) is model


def test_removed_and_reordered_items_are_skipped_by_id(tmp_path):
    model, cat = _trained(tmp_path)
    kept = cat.resources[::-1][1:]  # reversed, the (former) last item gone
    shrunk = Catalog(cat.skills.values(), kept)
    aligned = align_model(model, shrunk)
    assert aligned.item_factors_.shape[0] == len(kept)
    src = model.id_maps_["items"]
    for j, r in enumerate(kept[:5]):
        np.testing.assert_array_equal(aligned.item_factors_[j], model.item_factors_[src.index(r.item_id)])


def test_placement_of_identical_content_rows_is_shared_and_exact():
    """Distinct content rows are placed once; the answer equals placing every cold item on its own."""
    import scipy.sparse as sp

    from recommender.models.align import content_placement

    rng = np.random.default_rng(5)
    base = sp.random(30, 12, density=0.3, random_state=1, format="csr", dtype=np.float32)
    content = sp.vstack([base, base[[3, 3, 7, 3, 11]]], format="csr")  # cold rows: duplicates of 3 and 7
    known, cold = np.arange(30), np.arange(30, 35)
    V = rng.normal(size=(30, 4)).astype(np.float32)
    got = content_placement(V, known, cold, content, neighbours=5)
    sims = (content[cold] @ content[known].T).toarray()
    for r in range(len(cold)):  # the reference: one cold item at a time
        top = np.argpartition(-sims[r], 4)[:5]
        w = np.clip(sims[r, top], 0, None)
        want = (w[:, None] * V[top]).sum(axis=0) / w.sum() if w.sum() > 0 else np.zeros(4)
        assert np.allclose(got[r], want, atol=1e-6)
    assert np.array_equal(got[0], got[1]) and np.array_equal(got[0], got[3])


def test_top_k_by_threshold_equals_a_full_partition():
    from recommender.models.align import _top_k

    rng = np.random.default_rng(8)
    sims = rng.random((40, 5000)).astype(np.float32)
    sims[3] = 0.0  # a row sharing nothing with any known item: every column ties
    sims[5, :100] = 2.0  # ties above the threshold
    got = _top_k(sims, 20)
    for r in range(len(sims)):
        want = np.sort(sims[r])[-20:]
        assert np.array_equal(np.sort(sims[r, got[r]]), want)  # the same values (any of equal ones)
        assert len(set(got[r].tolist())) == 20
