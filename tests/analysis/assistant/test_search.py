"""BM25 search with the parsed filters, on the tiny catalog (hand-checked) and the synthetic one."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from analysis.assistant import ConversationState, Entities, Lexicon, ResourceIndex, understand
from analysis.vocabulary import SkillVocabulary
from catalog.catalog import Catalog
from catalog.schema import Resource, SkillLevel
from catalog.synth import SynthConfig
from catalog.synth.content import make_resources
from catalog.synth.skills_data import build_skills, skill_specs

from tests.analysis.assistant.conftest import NOW


@pytest.fixture
def index(tiny_catalog: Catalog) -> ResourceIndex:
    return ResourceIndex(tiny_catalog)


def ids(hits) -> list[str]:
    return [h.item_id for h in hits]


def test_filters_types_minutes_and_active_only(index: ResourceIndex) -> None:
    assert sorted(ids(index.search(Entities(types=("video",))))) == ["llm-old", "pd-101"]
    assert sorted(ids(index.search(Entities(max_minutes=50)))) == ["pd-101", "pr-101", "pr-new"]
    assert "docs-x" not in ids(index.search(Entities(), k=100))  # inactive


def test_level_applies_to_the_asked_skill_else_to_difficulty(index: ResourceIndex) -> None:
    # python is taught at level 1 by py-101 and 2 by pd-101 (whose difficulty is 2), 3 by py-201
    assert sorted(ids(index.search(Entities(skills=("python",), level=(1, 2))))) == ["pd-101", "py-101"]
    assert sorted(ids(index.search(Entities(level=(4, 5))))) == ["llm-101"]


def test_skills_are_a_filter_and_unknown_skills_find_nothing(index: ResourceIndex) -> None:
    assert sorted(ids(index.search(Entities(skills=("prompting",))))) == ["llm-101", "pr-101", "pr-new"]
    assert index.search(Entities(skills=("cooking",))) == []


def test_text_ranks_by_bm25_and_unmatched_text_finds_nothing(index: ResourceIndex) -> None:
    assert ids(index.search(Entities(), keywords=["crash", "course"]))[0] == "ml-101"
    assert index.search(Entities(), keywords=["knitting"]) == []
    # skill names are in the documents: "prompt engineering" finds the prompting items
    assert set(ids(index.search(Entities(), keywords=["prompt", "engineering"]))) == {"pr-101", "pr-new", "llm-101"}


def test_filters_only_rank_most_recently_updated_first(index: ResourceIndex) -> None:
    assert ids(index.search(Entities(types=("article",)))) == ["pr-new", "pr-101"]


def test_published_after_now_is_not_found(index: ResourceIndex) -> None:
    before = datetime(2026, 8, 1, tzinfo=timezone.utc)
    assert "pr-new" not in ids(index.search(Entities(skills=("prompting",)), now=before))
    assert "pr-new" in ids(index.search(Entities(skills=("prompting",)), now=NOW))


def test_like_an_item_uses_its_skills_and_title(index: ResourceIndex) -> None:
    hits = ids(index.search(Entities(item_id="pr-101")))
    assert hits[0] == "pr-101" and set(hits) == {"pr-101", "pr-new", "llm-101"}
    assert "pr-101" not in ids(index.search(Entities(item_id="pr-101"), exclude=["pr-101"]))


def test_language_from_the_message_or_the_mentee(tiny_skills) -> None:
    d = datetime(2024, 1, 1, tzinfo=timezone.utc)
    res = [Resource("a", "SQL basics", "video", (SkillLevel("sql", 1),), d),
           Resource("b", "SQL básico", "video", (SkillLevel("sql", 1),), d, language="es")]
    idx = ResourceIndex(Catalog(tiny_skills, res))
    assert ids(idx.search(Entities(skills=("sql",), language="es"))) == ["b"]
    assert ids(idx.search(Entities(skills=("sql",)), language="en")) == ["a"]
    assert ids(idx.search(Entities(skills=("sql",), language="es"), language="en")) == ["b"]  # the message wins


def test_the_index_records_its_build_time(index: ResourceIndex, tiny_catalog: Catalog) -> None:
    assert index.build_seconds > 0 and len(index) == tiny_catalog.n_items


@pytest.fixture(scope="module")
def synthetic() -> tuple[Catalog, ResourceIndex, SkillVocabulary, Lexicon]:
    config = SynthConfig(seed=7)
    rngs = config.rngs()
    skills = build_skills(skill_specs(), rngs["skills"])
    resources, _ = make_resources(config, skill_specs(), skills, rngs["content"])
    cat = Catalog(skills, resources)
    return cat, ResourceIndex(cat), SkillVocabulary(cat.skills.values()), Lexicon.from_catalog(cat)


@pytest.mark.parametrize("message", [
    "is there a short video on embeddings?", "beginner python courses", "kubernetes resources in spanish",
    "advanced sql under an hour", "anything on docker that is not a video", "level 3 pandas exercises",
])
def test_every_hit_satisfies_every_parsed_filter(synthetic, message: str) -> None:
    cat, index, vocab, lexicon = synthetic
    u = understand(message, state=ConversationState(), vocabulary=vocab, lexicon=lexicon, now=NOW)
    hits = index.search(u.entities, keywords=u.keywords, k=20)
    e = u.entities
    assert hits, message
    for h in hits:
        r = cat.resource(h.item_id)
        assert r.active
        assert not e.types or r.type in e.types
        assert e.max_minutes is None or r.duration_minutes <= e.max_minutes
        assert not e.language or r.language == e.language
        taught = {sl.skill_id: sl.level for sl in r.skills}
        assert any(s in taught for s in e.skills)
        if e.level:
            assert any(e.level[0] <= taught[s] <= e.level[1] for s in e.skills if s in taught)
    scores = np.array([h.score for h in hits])
    assert (np.diff(scores) <= 1e-6).all()  # best first
