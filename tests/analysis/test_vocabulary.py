"""Skill mentions in free text: names, ids, aliases, plurals, everyday words, typos."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.vocabulary import SkillVocabulary, normalise
from catalog.schema import Skill
from catalog.synth.aliases import SKILL_ALIASES
from catalog.synth.skills_data import build_skills, skill_specs


@pytest.fixture(scope="module")
def vocab() -> SkillVocabulary:
    return SkillVocabulary(build_skills(skill_specs(), np.random.default_rng(0)))


def ids(vocab: SkillVocabulary, text: str, **kw: object) -> list[str]:
    return [m.skill_id for m in vocab.find(text, **kw)]  # type: ignore[arg-type]


def test_every_alias_names_a_synthetic_skill_and_no_form_is_shared() -> None:
    specs = {s.skill_id for s in skill_specs()}
    assert set(SKILL_ALIASES) <= specs
    forms: dict[tuple[str, ...], str] = {}
    for s in build_skills(skill_specs(), np.random.default_rng(0)):
        for phrase in (s.skill_id.replace("-", " "), s.name, *s.aliases):
            f = normalise(phrase)
            assert forms.setdefault(f, s.skill_id) == s.skill_id, (phrase, forms[f], s.skill_id)


@pytest.mark.parametrize(("text", "expected"), [
    ("I want to learn k8s and Terraform by March", ["kubernetes", "terraform"]),
    ("LLM apps with RAG and vector DBs", ["llm-apis", "rag", "vector-databases"]),
    ("She uses C++ and C# and .NET, plus R for stats", ["cpp", "csharp", "dotnet", "r-lang"]),
    ("Next.js or next js", ["nextjs", "nextjs"]),
    ("a/b tests and A/B testing", ["ab-testing", "ab-testing"]),
    ("python/sql", ["python", "sql"]),
    ("Let's cover CI/CD for ML next week", ["ci-cd-ml"]),  # the longest form wins over ci/cd
    ("Transformers and embeddings", ["transformers", "embeddings"]),
    ("Large Language Models", ["llm-fundamentals"]),
])
def test_names_ids_aliases_plurals_and_longest_match(vocab: SkillVocabulary, text: str, expected: list[str]) -> None:
    assert ids(vocab, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Let's go over the plan and react to feedback.", []),      # everyday words
    ("Go is fine. We used Go in the backend.", ["go"]),        # capitalised mid-sentence only
    ("the spark job failed; Spark is new to her", ["spark", "spark"]),  # a technical word follows
    ("We write R every day", ["r-lang"]),
    ("golang", ["go"]),
])
def test_everyday_words_count_only_when_written_as_names(vocab: SkillVocabulary, text: str,
                                                         expected: list[str]) -> None:
    assert ids(vocab, text) == expected


def test_ambiguity_switch(vocab: SkillVocabulary) -> None:
    assert ids(vocab, "learn go", ambiguous="always") == ["go"]
    assert ids(vocab, "We used Go daily", ambiguous="never") == []


def test_typos_only_when_asked_and_only_on_long_words(vocab: SkillVocabulary) -> None:
    text = "machine lerning basics and kuberentes, tensorflw and pytorh"
    assert ids(vocab, text) == []
    found = vocab.find(text, fuzzy=True)
    assert [m.skill_id for m in found] == ["ml-fundamentals", "kubernetes", "tensorflow", "pytorch"]
    assert all(0 < m.score < 1 for m in found)
    assert ids(vocab, "scale the data dir and recommend", fuzzy=True) == []  # real words stay words


def test_offsets_point_at_the_mention(vocab: SkillVocabulary) -> None:
    text = "Today: Kubernetes (k8s) and SQL."
    for m in vocab.find(text):
        assert text[m.start:m.end] == m.text
    assert [m.text for m in vocab.find(text)] == ["Kubernetes", "k8s", "SQL"]


def test_lookup_a_whole_phrase(vocab: SkillVocabulary) -> None:
    assert vocab.lookup("K8s") == "kubernetes"
    assert vocab.lookup("machin learning") == "ml-fundamentals"
    assert vocab.lookup("llm-apis") == "llm-apis"
    assert vocab.lookup("cooking") is None


def test_a_custom_catalog_uses_its_own_aliases() -> None:
    v = SkillVocabulary([Skill("ml", "Machine learning", aliases=("ML", "statistical learning")),
                         Skill("sql", "SQL")])
    assert v.skills_in("statistical learning and sql, then ML again") == ["ml", "sql"]


@pytest.mark.parametrize(("text", "expected"), [
    ("any videos on react?", ["react"]),                 # a topic word before, the end after
    ("i want to learn go by friday", ["go"]),
    ("something on agents under 15 mins", ["agents"]),
    ("what should I go for", []),                        # no topic word before
    ("Let's go over the plan and react to feedback.", []),
    ("on testing the app", []),                          # the phrase goes on
])
def test_topic_mode_accepts_lower_case_names_a_topic_word_introduces(vocab: SkillVocabulary, text: str,
                                                                     expected: list[str]) -> None:
    assert ids(vocab, text, ambiguous="topic") == expected
    assert ids(vocab, text) == [s for s in expected if text[0].isupper()]  # "cased" is unchanged


def test_recommend_is_not_a_typo_of_recommenders(vocab: SkillVocabulary) -> None:
    assert ids(vocab, "why was this recommended to me", fuzzy=True) == []
    assert ids(vocab, "recommenders and recomender systems", fuzzy=True) == ["recommender-systems"] * 2


def test_typos_are_also_matched_against_unstemmed_spellings(vocab: SkillVocabulary) -> None:
    # "postgres" is stored as the stem "postgre": "postgress" is two edits from it, one from the spelling
    assert ids(vocab, "we use postgress everywhere", fuzzy=True) == ["postgres"]
    assert ids(vocab, "we use postgress everywhere") == []


def test_a_capital_letter_after_a_label_noun_is_not_a_language(vocab: SkillVocabulary) -> None:
    assert ids(vocab, "Plan B is a rewrite, plan C is to wait; vitamin C helps") == []
    assert ids(vocab, "I want to learn C and then R") == ["c", "r-lang"]


def test_fuzzy_answers_do_not_depend_on_what_was_read_before(vocab: SkillVocabulary) -> None:
    fresh = SkillVocabulary(build_skills(skill_specs(), np.random.default_rng(0)))
    text = "kuberentes and tensorflw, then machine lerning and postgress"
    first = [(m.skill_id, m.start, m.score) for m in fresh.find(text, fuzzy=True)]
    fresh.find("kuberentes pods and tensorflw graphs", fuzzy=True)  # fills the memo with other neighbours
    assert [(m.skill_id, m.start, m.score) for m in fresh.find(text, fuzzy=True)] == first


def test_an_everyday_name_after_a_long_run_of_spaces_reads_the_text_before_them(vocab: SkillVocabulary) -> None:
    """The 'opens a sentence' test looks at a short window first; past 64 spaces it must read further back."""
    assert ids(vocab, "We used" + " " * 100 + "Go in the backend") == ["go"]
    assert ids(vocab, "We stopped." + " " * 100 + "Go in the backend") == []
