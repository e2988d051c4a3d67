"""Incremental catalog updates (serving/live.py) equal a rebuild from scratch: the catalog, its view and
the scoring index patched at the written rows answer exactly what freshly built ones answer."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import numpy as np
import pytest

from catalog.catalog import _COLUMNS, Catalog, World
from catalog.errors import IntegrityError
from catalog.eventlog import EventLog
from catalog.schema import Mentee, Resource, SkillLevel
from recommender.topk import ScoringIndex
from serving.bundle import CatalogView
from serving.live import resource_delta
from serving.userstate import MenteeContexts

UTC = timezone.utc
AS_OF = datetime(2026, 5, 1, tzinfo=UTC)


def _edits(resources: list[Resource]) -> dict[int, Resource]:
    r = resources
    return {
        1: dataclasses.replace(r[1], duration_minutes=5, active=False),  # retired, shorter
        3: dataclasses.replace(r[3], skills=(SkillLevel("sql", 4),), updated_at=datetime(2026, 4, 1, tzinfo=UTC)),
        6: dataclasses.replace(r[6], published_at=datetime(2026, 6, 1, tzinfo=UTC), half_life_days=30.0),
        8: dataclasses.replace(r[8], type="documentation", half_life_days=None, difficulty=5),
    }


def _added() -> list[Resource]:
    return [Resource("new-1", "New", "video", (SkillLevel("ml", 2), SkillLevel("python", 1)),
                     datetime(2026, 1, 1, tzinfo=UTC)),
            Resource("new-2", "Newer", "podcast", (), datetime(2026, 7, 1, tzinfo=UTC))]


def _same_catalog(a: Catalog, b: Catalog) -> None:
    assert a.items.to_list() == b.items.to_list() and a.resources == b.resources
    for c in _COLUMNS:
        x, y = getattr(a, c), getattr(b, c)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), c
    m, n = a.item_skill_levels, b.item_skill_levels
    assert m.shape == n.shape and m.dtype == n.dtype and (m != n).nnz == 0
    assert np.array_equal(m.indptr, n.indptr) and np.array_equal(m.indices, n.indices)
    assert (a.item_skill_levels_csc != b.item_skill_levels_csc).nnz == 0 and a.item_skill_levels_csc.format == "csc"
    assert np.array_equal(a.main_skill, b.main_skill) and np.array_equal(a.prereq_edges, b.prereq_edges)


@pytest.mark.parametrize("with_added", [False, True])
def test_with_resources_equals_a_rebuild(tiny_skills, tiny_resources, with_added):
    cat = Catalog(tiny_skills, tiny_resources)
    edits, added = _edits(tiny_resources), _added() if with_added else []
    before = {c: getattr(cat, c).copy() for c in _COLUMNS}
    new = cat.with_resources(edits, added)
    expected = [edits.get(i, r) for i, r in enumerate(tiny_resources)] + added
    _same_catalog(new, Catalog(tiny_skills, expected))
    for c in _COLUMNS:  # the old catalog (requests in flight read it) is untouched
        assert np.array_equal(getattr(cat, c), before[c], equal_nan=before[c].dtype.kind == "f")
    assert cat.n_items == len(tiny_resources) and (new.items is cat.items) != with_added


def test_with_resources_refuses_another_id_in_place(tiny_catalog, tiny_resources):
    with pytest.raises(IntegrityError, match="cannot replace"):
        tiny_catalog.with_resources({0: tiny_resources[1]})


def _view(cat: Catalog, dtype: str = "float32") -> CatalogView:
    return CatalogView(cat, AS_OF, floor=0.1, stale_threshold=0.5, freshness_weight=0.7, item_dtype=dtype)


def test_patched_view_equals_a_new_view(tiny_skills, tiny_resources):
    cat = Catalog(tiny_skills, tiny_resources)
    view = _view(cat)
    view.allow_mask(max_minutes=30)
    _ = view.texts[1], view.texts[2]
    edits = _edits(tiny_resources)
    new_cat = cat.with_resources(edits)
    got, want = view.patched(new_cat, np.array(sorted(edits))), _view(new_cat)
    for a in ("freshness", "log_freshness", "fresh", "available"):
        assert np.array_equal(getattr(got, a), getattr(want, a)), a
    assert got.next_release_us == want.next_release_us
    assert (got.skill_items != want.skill_items).nnz == 0
    assert np.array_equal(got.plain.matrix_, want.plain.matrix_)
    assert np.array_equal(got.plain.active_, want.plain.active_)
    # masks are recomputed over the new catalog; texts of untouched items kept, written ones remade
    assert np.array_equal(got.allow_mask(max_minutes=30).mask, want.allow_mask(max_minutes=30).mask)
    assert got.texts[2] is view.texts[2] and got.texts[1].item_id == "py-201" and got.texts[1] is not view.texts[1]
    assert view.available[1] and not got.available[1]  # the old view is untouched: py-201 retired in the new one


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_index_with_rows_equals_a_rebuild(dtype):
    rng = np.random.default_rng(3)
    n, d = 300, 16  # several 64-item panels, the last one partial
    V, b = rng.normal(size=(n, d)).astype(np.float32), rng.normal(size=n).astype(np.float32)
    lf = np.log(rng.uniform(0.1, 1.0, n)).astype(np.float32)
    active = rng.random(n) > 0.1
    idx = ScoringIndex(V, item_bias=b, log_freshness=lf, active=active, dtype=dtype, freshness_weight=0.5)
    rows = np.array([0, 5, 130, 299])
    lf2, active2 = lf.copy(), active.copy()
    lf2[rows] = np.log([0.2, 1.0, 0.5, 0.9]).astype(np.float32)
    active2[[5, 7]] = [False, True]
    got = idx.with_rows(rows, log_freshness=lf2[rows], active=active2)
    want = ScoringIndex(V, item_bias=b, log_freshness=lf2, active=active2, dtype=dtype, freshness_weight=0.5)
    assert np.array_equal(got.matrix_, want.matrix_) and np.array_equal(got.active_, want.active_)
    for a in ("_panel", "_tail", "_weights"):
        x, y = getattr(got, a), getattr(want, a)
        assert (x is None) == (y is None) and (x is None or np.array_equal(x, y)), a
    for _ in range(5):
        u = rng.normal(size=d).astype(np.float32)
        gi, gs = got.recommend(u, 20)
        wi, ws = want.recommend(u, 20)
        assert np.array_equal(gi, wi) and np.allclose(gs, ws)
    assert np.array_equal(idx.matrix_[:, d + 1], lf)  # the old index is untouched


def test_resource_delta(tiny_catalog, tiny_resources):
    res = list(tiny_catalog.resources)
    assert resource_delta(tiny_catalog, res).changed == {} and resource_delta(tiny_catalog, res).added == []
    edited = dataclasses.replace(res[2], title="SQL in two days")
    d = resource_delta(tiny_catalog, res[:2] + [edited] + res[3:] + _added())
    assert d.changed == {2: edited} and [r.item_id for r in d.added] == ["new-1", "new-2"]
    equal_copy = dataclasses.replace(res[4])  # another object, same values (another process's reload)
    assert resource_delta(tiny_catalog, res[:4] + [equal_copy] + res[5:]).changed == {}
    assert resource_delta(tiny_catalog, res[1:]) is None  # removed: rebuild
    assert resource_delta(tiny_catalog, [res[1], res[0]] + res[2:]) is None  # reordered: rebuild


def test_contexts_carry_over_until_the_profile_changes(tmp_path, tiny_world, tiny_resources):
    with EventLog(tmp_path / "events.db") as log:
        ctxs = MenteeContexts(log, tiny_world)
        a = ctxs.get("u1", now=AS_OF)
        cat = tiny_world.catalog.with_resources({0: dataclasses.replace(tiny_resources[0], title="Py")})
        w2 = World(cat, dict(tiny_world.mentees), tiny_world.mentors)
        c2 = ctxs.over(w2)
        b = c2.get("u1", now=AS_OF)
        assert b.catalog is cat and b.memo is a.memo  # carried over, re-pointed at the new catalog
        retaught = World(cat.with_resources({0: dataclasses.replace(tiny_resources[0], skills=(SkillLevel("sql", 1),))}),
                         w2.mentees, w2.mentors)
        b2 = c2.over(retaught).get("u1", now=AS_OF)
        assert b2.catalog is retaught.catalog and b2.memo is not a.memo  # mastery read the old skills: not kept
        w3 = World(cat, {**w2.mentees, "u1": Mentee("u1", (), (), (), 60)}, w2.mentors)
        c = c2.over(w3).get("u1", now=AS_OF)
        assert c.mentee.minutes_per_week == 60 and c.memo is not a.memo  # the changed profile is rebuilt
        grown = World(tiny_world.catalog.with_resources({}, _added()), w3.mentees, w3.mentors)
        c4 = c2.over(grown)
        assert c4._cache is not c2._cache and c4.get("u2", now=AS_OF).history.shape[1] == grown.catalog.n_items


def test_touched_delta_equals_the_full_scan(tmp_path, tiny_world):
    """The O(written) delta from the store's written ids equals :func:`resource_delta`'s scan of every
    resource; a new id, an unknown set of ids or a removal leaves the decision to the scan (None)."""
    from catalog.store.entities import Entities
    from catalog.store.sqlite import SQLiteEntityStore
    from serving.live import touched_delta

    ents = Entities(SQLiteEntityStore(tmp_path / "events.db"))
    ents.import_world(tiny_world, actor="t", now_us=1)
    cat, g = ents.world().catalog, ents.generation
    a, b = ents.ids("resources")[1], ents.ids("resources")[4]
    ents.retire(a, actor="t", now_us=2)
    ents.patch("resources", b, {"duration_minutes": 7}, actor="t", now_us=2)
    ents.patch("resources", b, {"duration_minutes": 7}, actor="t", now_us=2)  # a replay: no new version
    got = touched_delta(cat, ents, ents.touched("resources", g))
    want = resource_delta(cat, ents.entities("resources"))
    assert got is not None and got.changed == want.changed and sorted(got.changed) == [1, 4] and got.added == []
    assert touched_delta(cat, ents, None) is None
    ents.put("resources", [{"item_id": "new-9", "title": "N", "type": "book", "skills": "python:1",
                            "published_at": "2024-01-01"}], actor="t", now_us=3)
    assert touched_delta(cat, ents, ents.touched("resources", g)) is None  # appended: the scan places it
    ents.store.close()
