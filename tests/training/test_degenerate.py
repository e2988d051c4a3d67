"""The degenerate-model gate: constant scores, tiny coverage or one list for all never become champion."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from catalog.catalog import World
from catalog.synth import SynthConfig, generate
from catalog.writers import atomic_write_parquet, save_world
from catalog.datadir import DataDir
from catalog.settings import Settings
from recommender.interactions import build_id_maps, build_interactions
from recommender.models import make_model
from training.degenerate import check_degenerate
from training.gate import decide


@pytest.fixture(scope="module")
def small_import():
    """A small real-looking import: 30 resources, about 200 events, mentees without goals or levels."""
    sw = generate(SynthConfig(seed=11, n_items=30, n_mentees=300, n_mentors=2, days=120, sessions=False))
    ev = sw.events.sort_values("timestamp").head(200).reset_index(drop=True)
    w = sw.world
    mentees = [dataclasses.replace(m, goals=(), self_levels=()) for m in w.mentees.values()]
    world = World.build(list(w.catalog.skills.values()), list(w.catalog.resources), mentees, list(w.mentors.values()))
    return world, ev, sw.events


def test_constant_scores_and_one_list_are_degenerate(small_import, block):
    b_users, b_items = build_id_maps(block.events, catalog=block.world.catalog, mentees=block.world.mentees.values())
    b_inter = build_interactions(block.events, users=b_users, items=b_items)
    als = make_model("als", factors=8, iterations=10, random_state=0).fit(b_inter)
    good = check_degenerate(als, b_inter, 5)
    assert not good.degenerate, good.reasons
    world, ev, _ = small_import
    assert world.catalog.n_items == 30 and len(ev) == 200
    users, items = build_id_maps(ev, catalog=world.catalog, mentees=world.mentees.values())
    inter = build_interactions(ev, users=users, items=items)
    zero = _ZeroModel(inter.shape[1])
    bad = check_degenerate(zero, inter, 10)
    assert bad.degenerate
    assert any(r.startswith("constant scores") for r in bad.reasons)
    # most mentees get the very same list (only what they saw differs); the trained model's lists differ
    assert bad.identical_share >= 0.5 > good.identical_share


class _ZeroModel:
    """What the content model served on the import: 0 for every item, for every mentee."""

    def __init__(self, n_items: int) -> None:
        self.n_items_ = n_items

    def score(self, users, rows, user_features=None):
        return np.zeros((len(users), self.n_items_), np.float32)


def test_decide_refuses_a_degenerate_candidate_even_when_forced():
    g = decide(0.9, 0.1, force=True, degenerate=["constant scores: ..."])
    assert g.decision == "refused" and not g.promote and "constant scores" in g.why
    assert g.tags()["gate.why"].startswith("constant scores")
    assert decide(0.9, None).promote and decide(0.9, None).why == ""


def test_train_all_on_the_small_import_never_promotes_constant_content(small_import, tmp_path):
    from training.pipeline import train
    from training.registry import champion_version
    from training.tracking import connect

    world, ev, _ = small_import
    dd = DataDir(tmp_path / "data").ensure()
    save_world(world, dd)
    atomic_write_parquet(ev, dd.root / "events.parquet")
    settings = Settings(data_dir=dd.root)
    report = train(settings, dd.root, models=["popularity", "als", "content"], k=10)
    if report.candidate == "content":
        assert report.gate.decision == "refused" and "constant scores" in report.gate.why
        assert champion_version(connect(settings, dd.root)) is None
    else:
        assert report.gate.promote and report.gate.why == ""
    content = report.comparison.results["content"].model
    prep = report.comparison.prepared
    deg = check_degenerate(content, prep.train, 10, user_features=prep.features.for_model(content)[1])
    assert deg.degenerate and any(r.startswith("constant scores") for r in deg.reasons)
