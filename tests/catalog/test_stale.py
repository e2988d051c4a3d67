from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from catalog.catalog import Catalog
from catalog.errors import ConfigError
from catalog.schema import Resource, Skill, SkillLevel
from catalog.stale import GAP_COLUMNS, ITEM_COLUMNS, stale_report

UTC = timezone.utc


def test_stale_items_hand_checked(tiny_catalog, as_of):
    # as_of 2026-11-01. Ages (days) and resolved half-lives worked out by hand:
    #   py-101 2496/1460, py-201 2710/1460, pd-101 914/730 (from updated_at), ml-101 1400/730,
    #   pr-101 1035/120, llm-101 365/120 (prompting is shorter than llm-apps), llm-old 1341/90 (item).
    # pr-new (61/120 -> 0.703) is fresh; sql-101 is evergreen; docs-x is inactive.
    rep = stale_report(tiny_catalog, as_of)
    assert list(rep.items.columns) == ITEM_COLUMNS
    # stalest first by half-lives elapsed: 14.9, 8.6, 3.04, 1.92, 1.86, 1.71, 1.25
    assert rep.items["item_id"].tolist() == ["llm-old", "pr-101", "llm-101", "ml-101", "py-201", "py-101",
                                             "pd-101"]
    row = rep.items.set_index("item_id")
    assert row.loc["py-101", "age_days"] == pytest.approx(2496)
    assert row.loc["pd-101", "age_days"] == pytest.approx(914)
    assert row.loc["py-101", "freshness"] == pytest.approx(0.5 ** (2496 / 1460))
    assert row.loc["pd-101", "freshness"] == pytest.approx(0.5 ** (914 / 730))
    assert row.loc["llm-101", "freshness"] == pytest.approx(0.5 ** (365 / 120))
    assert row.loc["pr-101", "freshness"] == 0.1 and row.loc["llm-old", "freshness"] == 0.1  # the floor
    assert row.loc["llm-old", "half_life_source"] == "item" and row.loc["llm-old", "half_life_days"] == 90
    assert row.loc["llm-101", "half_life_days"] == 120 and row.loc["llm-101", "skills"] == "llm-apps:3;prompting:2"
    assert rep.n_active == 9 and rep.stale_share == pytest.approx(7 / 9)


def test_coverage_gaps_hand_checked(tiny_catalog, as_of):
    gaps = stale_report(tiny_catalog, as_of).gaps
    assert list(gaps.columns) == GAP_COLUMNS
    # sql has sql-101 (evergreen) and prompting has pr-new (fresh): not gaps.
    assert gaps["skill_id"].tolist() == ["llm-apps", "ml", "pandas", "python"]
    g = gaps.set_index("skill_id")
    assert (g.loc["python", "n_items"], g.loc["python", "n_stale"]) == (3, 3)  # py-101, py-201, pd-101
    assert g.loc["python", "freshest_item"] == "pd-101"
    assert g.loc["python", "best_freshness"] == pytest.approx(0.5 ** (914 / 730))
    assert g.loc["llm-apps", "freshest_item"] == "llm-101" and g.loc["llm-apps", "half_life_days"] == 180
    assert g.loc["ml", "name"] == "Machine learning" and g.loc["ml", "domain"] == "ai"


def test_threshold_changes_the_answer(tiny_catalog, as_of):
    rep = stale_report(tiny_catalog, as_of, threshold=0.2)
    assert rep.items["item_id"].tolist() == ["llm-old", "pr-101", "llm-101"]
    assert rep.gaps["skill_id"].tolist() == ["llm-apps"]
    # without a floor, a tiny threshold keeps only items many half-lives old (14.9 and 8.6)
    deep = stale_report(tiny_catalog, as_of, threshold=0.01, floor=0.0)
    assert deep.items["item_id"].tolist() == ["llm-old", "pr-101"]
    assert deep.items["freshness"].iloc[1] == pytest.approx(0.5 ** (1035 / 120))
    assert deep.gaps.empty  # llm-101 and pr-new still cover llm-apps and prompting


def test_inactive_items_are_ignored_and_empty_skills_are_gaps(as_of):
    skills = [Skill("a", "A", half_life_days=10.0), Skill("b", "B")]
    res = [Resource("old", "Old", "article", (SkillLevel("a", 2),), datetime(2020, 1, 1, tzinfo=UTC), active=False),
           Resource("new", "New", "article", (SkillLevel("a", 2),), datetime(2026, 10, 30, tzinfo=UTC))]
    rep = stale_report(Catalog(skills, res), as_of)
    assert rep.items.empty and rep.n_active == 1
    (gap,) = rep.gaps.to_dict("records")
    assert gap["skill_id"] == "b" and gap["n_items"] == 0 and gap["freshest_item"] is None
    assert math.isnan(gap["best_freshness"]) and math.isnan(gap["half_life_days"])


def test_floor_ties_are_sorted_by_true_staleness(as_of):
    skills = [Skill("a", "A", half_life_days=10.0)]
    d = datetime(2020, 1, 1, tzinfo=UTC)
    res = [Resource("x1", "X1", "article", (SkillLevel("a", 1),), d.replace(year=2025)),
           Resource("x2", "X2", "article", (SkillLevel("a", 1),), d)]
    items = stale_report(Catalog(skills, res), as_of).items
    assert np.all(items["freshness"] == 0.1)
    assert items["item_id"].tolist() == ["x2", "x1"]


def test_threshold_must_exceed_floor(tiny_catalog, as_of):
    with pytest.raises(ConfigError, match="above the freshness floor"):
        stale_report(tiny_catalog, as_of, threshold=0.1)
    with pytest.raises(ConfigError):
        stale_report(tiny_catalog, as_of, threshold=1.5)
