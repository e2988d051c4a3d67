"""Copy-on-write entity writes (serving/live.py): what a write shares with the catalog, view and index
before it is shared only when the write cannot have changed it, and a chain of patched views, masks
and texts included, answers exactly what views built from scratch answer."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from catalog.catalog import _COLUMNS, Catalog
from catalog.schema import Resource, SkillLevel
from recommender.topk import ItemMask, ScoringIndex
from recommender.topk.masks import pack_mask
from serving.bundle import CatalogView

UTC = timezone.utc
AS_OF = datetime(2026, 5, 1, tzinfo=UTC)
TYPES = ("video", "article", "book", "course", "tutorial")
#: Filters cached before each write: none, types, minutes, skills, stale items allowed, and combinations.
FILTERS = [{}, {"types": ("video",)}, {"types": ("article", "book")}, {"max_minutes": 30},
           {"max_minutes": 60, "include_stale": True}, {"skills": (0,)}, {"skills": (1, 3), "types": ("course",)},
           {"include_stale": True}, {"types": ("podcast",)}]


def _catalog(tiny_skills, n: int = 300, seed: int = 0) -> Catalog:
    """``n`` resources over the tiny skills: several 64-item words, a mix of types, ages, half-lives and
    retired or unpublished items."""
    rng = np.random.default_rng(seed)
    skills = [s.skill_id for s in tiny_skills]
    out = []
    for i in range(n):
        tags = tuple(SkillLevel(s, int(rng.integers(1, 6))) for s in rng.choice(skills, int(rng.integers(1, 3)),
                                                                                  replace=False))
        out.append(Resource(f"r{i}", f"Resource {i}", TYPES[int(rng.integers(len(TYPES)))], tags,
                            AS_OF - timedelta(days=int(rng.integers(-60, 3000))),
                            duration_minutes=int(rng.integers(5, 120)), active=bool(rng.random() > 0.05),
                            half_life_days=None if rng.random() > 0.2 else float(rng.integers(30, 400))))
    return Catalog(tiny_skills, out)


def _edit(rng: np.random.Generator, r: Resource, skills: list[str]) -> Resource:
    field = rng.choice(["title", "duration", "active", "type", "published", "updated", "half_life", "skills"])
    if field == "title":
        return dataclasses.replace(r, title=r.title + "!")
    if field == "duration":
        return dataclasses.replace(r, duration_minutes=int(rng.integers(5, 120)))
    if field == "active":
        return dataclasses.replace(r, active=not r.active)
    if field == "type":
        return dataclasses.replace(r, type=TYPES[int(rng.integers(len(TYPES)))])
    if field == "published":
        return dataclasses.replace(r, published_at=AS_OF - timedelta(days=int(rng.integers(-30, 3000))), updated_at=None)
    if field == "updated":
        return dataclasses.replace(r, updated_at=max(r.published_at, AS_OF - timedelta(days=int(rng.integers(0, 50)))))
    if field == "half_life":
        return dataclasses.replace(r, half_life_days=None if r.half_life_days else 45.0)
    return dataclasses.replace(r, skills=(SkillLevel(str(rng.choice(skills)), int(rng.integers(1, 6))),))


def _view(cat: Catalog) -> CatalogView:
    return CatalogView(cat, AS_OF, floor=0.1, stale_threshold=0.5, freshness_weight=0.7)


def _same_view(got: CatalogView, want: CatalogView) -> None:
    for a in ("freshness", "log_freshness", "fresh", "available"):
        assert np.array_equal(getattr(got, a), getattr(want, a)), a
    assert got.next_release_us == want.next_release_us
    assert np.array_equal(got.plain.matrix_, want.plain.matrix_) and np.array_equal(got.plain.active_, want.plain.active_)
    assert np.array_equal(got.plain._active_words, want.plain._active_words)
    for f in FILTERS:
        g, w = got.allow_mask(**f), want.allow_mask(**f)
        assert (g is None) == (w is None), f
        if g is not None:
            assert np.array_equal(g.mask, w.mask) and np.array_equal(g.words, w.words), f
    for i in range(want.catalog.n_items):
        assert got.texts[i] == want.texts[i], i


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_chain_of_patched_views_equals_new_views(tiny_skills, seed):
    """Random edits of one to three resources, six writes in a row, each view patched from the last one
    with every filter mask and text cached: equal to a view built over the new catalog each time; the
    view patched from is left as it was (requests in flight read it)."""
    rng = np.random.default_rng(seed)
    skills = [s.skill_id for s in tiny_skills]
    cat = _catalog(tiny_skills, seed=seed)
    view = _view(cat)
    for _ in range(6):
        for f in FILTERS:
            view.allow_mask(**f)
        _ = [view.texts[i] for i in range(cat.n_items)]
        before = {k: (None if m is None else m.mask.copy()) for k, m in view._masks.items()}
        rows = sorted({int(i) for i in rng.integers(0, cat.n_items, int(rng.integers(1, 4)))})
        new_cat = cat.with_resources({i: _edit(rng, cat.resources[i], skills) for i in rows})
        got = view.patched(new_cat, np.array(rows))
        _same_view(got, _view(new_cat))
        for k, m in view._masks.items():
            assert (m is None and before[k] is None) or np.array_equal(m.mask, before[k])
        assert [view.texts[i].title for i in rows] == [cat.resources[i].title for i in rows]
        cat, view = new_cat, got


def test_a_write_shares_what_it_cannot_change(tiny_skills):
    cat = _catalog(tiny_skills)
    view = _view(cat)
    masks = {tuple(sorted(f.items())): view.allow_mask(**f) for f in FILTERS}
    r = cat.resources[70]
    renamed = cat.with_resources({70: dataclasses.replace(r, title="Renamed")})
    for c in (*_COLUMNS, "main_skill", "item_skill_levels"):
        assert getattr(renamed, c) is getattr(cat, c), c
    v = view.patched(renamed, np.array([70]))
    assert v.freshness is view.freshness and v.available is view.available and v.plain is view.plain
    assert all(v.allow_mask(**f) is masks[tuple(sorted(f.items()))] for f in FILTERS)  # no mask rebuilt
    assert v.texts[70].title == "Renamed" and view.texts[70].title == r.title
    shorter = cat.with_resources({70: dataclasses.replace(r, duration_minutes=r.duration_minutes + 1)})
    assert shorter.duration_minutes is not cat.duration_minutes
    assert all(getattr(shorter, c) is getattr(cat, c) for c in _COLUMNS if c != "duration_minutes")
    v = view.patched(shorter, np.array([70]))
    assert v.freshness is view.freshness and v.plain is view.plain
    assert v.allow_mask(types=("video",)) is masks[(("types", ("video",)),)]  # its inputs did not change


def test_item_mask_with_rows_equals_a_new_mask():
    rng = np.random.default_rng(5)
    m = rng.random(200) > 0.3
    rows = np.array([0, 63, 64, 130, 199])
    vals = ~m[rows]
    got = ItemMask(m).with_rows(rows, vals)
    want = m.copy()
    want[rows] = vals
    assert np.array_equal(got.mask, want) and np.array_equal(got.words, pack_mask(want))
    assert np.array_equal(ItemMask(m).mask, m)  # the mask patched from is untouched


@pytest.mark.parametrize("start_all_active", [True, False])
def test_index_with_rows_shares_or_repacks_equal_to_a_rebuild(start_all_active):
    rng = np.random.default_rng(4)
    n, d = 260, 8
    V = rng.normal(size=(n, d)).astype(np.float32)
    lf = np.log(rng.uniform(0.1, 1.0, n)).astype(np.float32)
    active = np.ones(n, bool) if start_all_active else rng.random(n) > 0.2
    idx = ScoringIndex(V, log_freshness=lf, active=active, freshness_weight=0.5)
    rows = np.array([3, 190])
    assert idx.with_rows(rows, log_freshness=lf[rows], active=active.copy()) is idx  # nothing differs
    for flip in ([3], [3, 190], list(range(0, 260, 3))):  # a few moved, and more than a word's worth
        a2 = active.copy()
        a2[flip] = ~a2[flip]
        got = idx.with_rows(rows, log_freshness=lf[rows], active=a2)
        want = ScoringIndex(V, log_freshness=lf, active=a2, freshness_weight=0.5)
        assert np.array_equal(got.active_, want.active_) and np.array_equal(got._active_words, want._active_words)
        assert (got._active_mask is None) == (want._active_mask is None)
        u = rng.normal(size=d).astype(np.float32)
        assert np.array_equal(got.recommend(u, 15)[0], want.recommend(u, 15)[0])
    back = idx.with_rows(rows, log_freshness=lf[rows], active=np.ones(n, bool))  # everything active again
    assert back._active_mask is None and np.array_equal(back.active_, np.ones(n, bool))
    assert np.array_equal(idx.active_, active)  # the index patched from is untouched
