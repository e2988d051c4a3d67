from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from catalog.catalog import Catalog
from catalog.errors import CycleError, UnknownSkillError
from catalog.freshness import catalog_freshness, freshness, resolve_half_lives
from catalog.graph import SkillGraph
from catalog.schema import Resource, Skill, SkillLevel


def test_cycle_is_rejected_naming_its_skills():
    skills = [
        Skill("a", "A", prerequisites=(SkillLevel("c", 2),)),
        Skill("b", "B", prerequisites=(SkillLevel("a", 2),)),
        Skill("c", "C", prerequisites=(SkillLevel("b", 2),)),
        Skill("d", "D"),
    ]
    with pytest.raises(CycleError) as ei:
        SkillGraph(skills)
    assert set(ei.value.cycle) == {"a", "b", "c"}
    assert "d" not in str(ei.value)
    assert "a" in str(ei.value) and "->" in str(ei.value)


def test_self_loop_is_a_cycle():
    with pytest.raises(CycleError, match="x -> x"):
        SkillGraph([Skill("x", "X", prerequisites=(SkillLevel("x", 1),))])


def test_unknown_prerequisite():
    with pytest.raises(UnknownSkillError, match="'nope'"):
        SkillGraph([Skill("a", "A", prerequisites=(SkillLevel("nope", 1),))])


def test_topological_order_and_closure(tiny_skills):
    g = SkillGraph(tiny_skills)
    for s in g.order:
        for p in g.prereqs[s]:
            assert g.rank(p.skill_id) < g.rank(s)
    assert g.ancestors("llm-apps") == {"ml", "pandas", "python", "sql", "prompting"}
    assert g.descendants("sql") == {"pandas", "ml", "llm-apps"}
    assert g.depth()["llm-apps"] == 3


def test_half_life_resolution_order(tiny_catalog):
    hl = resolve_half_lives(tiny_catalog)
    idx = tiny_catalog.items.index
    # item override wins
    assert hl.days[idx("llm-old")] == 90.0 and hl.source_names()[idx("llm-old")] == "item"
    # shortest among the item's skills (prompting 120 < llm-apps 180)
    assert hl.days[idx("llm-101")] == 120.0 and hl.source_names()[idx("llm-101")] == "skill"
    # pd-101 teaches pandas (730) and python (1460) -> 730
    assert hl.days[idx("pd-101")] == 730.0
    # sql is evergreen; a tutorial has no type default -> evergreen
    assert np.isinf(hl.days[idx("sql-101")]) and hl.source_names()[idx("sql-101")] == "evergreen"
    # documentation on an evergreen skill falls back to the type default
    assert hl.days[idx("docs-x")] == 365.0 and hl.source_names()[idx("docs-x")] == "type"


def test_freshness_maths_floor_and_evergreen():
    f = freshness(np.array([0.0, 100.0, 200.0, 10_000.0, -5.0, 50.0]),
                  np.array([100.0, 100.0, 100.0, 100.0, 100.0, np.inf]), floor=0.1)
    np.testing.assert_allclose(f, [1.0, 0.5, 0.25, 0.1, 1.0, 1.0])
    with pytest.raises(ValueError):
        freshness(1.0, 0.0)


def test_freshness_uses_updated_at_and_aware_as_of(tiny_catalog):
    utc = timezone.utc
    as_of = datetime(2025, 5, 1, tzinfo=utc)
    f = catalog_freshness(tiny_catalog, as_of)
    i = tiny_catalog.items.index("pd-101")  # updated 2024-05-01, half-life 730 -> age 365
    assert f[i] == pytest.approx(0.5 ** (365 / 730))
    # the same instant in another time zone gives the same answer
    plus2 = timezone(timedelta(hours=2))
    f2 = catalog_freshness(tiny_catalog, datetime(2025, 5, 1, 2, 0, tzinfo=plus2))
    np.testing.assert_allclose(f, f2)
    # a naive as_of is taken as UTC
    np.testing.assert_allclose(f, catalog_freshness(tiny_catalog, "2025-05-01"))


def test_catalog_rejects_unknown_item_skill(tiny_skills):
    r = Resource("x", "X", "article", (SkillLevel("ghost", 2),), datetime(2024, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(UnknownSkillError, match="ghost"):
        Catalog(tiny_skills, [r])


def test_available_at_needs_active_and_already_published(tiny_catalog):
    cat = tiny_catalog
    ix = cat.items.index
    before = cat.available_at("2026-08-31T23:59:59Z")
    after = cat.available_at("2026-09-01T00:00:00Z")  # pr-new is published on 2026-09-01
    assert not before[ix("pr-new")] and after[ix("pr-new")]
    assert not after[ix("docs-x")]  # inactive whatever the date
    assert after.sum() == cat.active.sum()
    assert before.sum() == cat.active.sum() - 1


@pytest.mark.parametrize("few", [True, False])
def test_half_lives_of_some_rows_equal_those_of_all(tiny_catalog, monkeypatch, few):
    """``rows`` (an entity write's) read each row's slice directly below ``_FEW_ROWS`` and through scipy above:
    both equal the whole catalog's resolution at those rows, in the order given, repeats included."""
    import catalog.freshness as fr

    monkeypatch.setattr(fr, "_FEW_ROWS", 64 if few else 0)
    full = resolve_half_lives(tiny_catalog)
    rows = np.array([3, 0, tiny_catalog.n_items - 1, 3])
    got = resolve_half_lives(tiny_catalog, rows=rows)
    assert np.array_equal(got.days, full.days[rows]) and np.array_equal(got.source, full.source[rows])
    assert len(set(full.source.tolist())) > 1  # the fixture exercises more than one rule
    empty = resolve_half_lives(tiny_catalog, rows=np.array([], dtype=np.int64))
    assert empty.days.shape == (0,) and empty.source.shape == (0,)
