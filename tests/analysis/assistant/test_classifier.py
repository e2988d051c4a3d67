"""The classifier and the labelled sets: trained from package data, test set apart from it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from analysis.assistant import INTENTS, IntentClassifier, default_classifier
from analysis.assistant.classifier import masked_training_texts
from analysis.assistant.evaluation import entity_pairs, run, score
from analysis.assistant.examples import Example, load_examples, training_examples
from analysis.assistant.entities import Entities
from analysis.assistant.understand import Understanding
from catalog.errors import DataValidationError, NotReadyError

ROOT = Path(__file__).resolve().parents[3]
TEST_SET = ROOT / "benchmarks" / "data" / "assistant_utterances.jsonl"
QUERIES = ROOT / "benchmarks" / "data" / "assistant_queries.jsonl"


def test_fit_predict_and_not_ready() -> None:
    with pytest.raises(NotReadyError):
        IntentClassifier().predict("what should I do next")
    clf = IntentClassifier(C=5.0).fit(["what should i do next", "who can help me with SKILL", "what next"] * 2,
                                      ["next_step", "mentor", "next_step"] * 2)
    intent, p = clf.predict("who can help me with SKILL please")
    assert intent == "mentor" and 0.5 < p <= 1.0
    assert clf.get_params() == {"C": 5.0, "char_ngrams": (3, 5), "word_ngrams": (1, 2)}


def test_the_default_classifier_is_trained_on_the_shipped_sentences() -> None:
    train = training_examples()
    assert len(train) >= 350 and set(Counter(e.intent for e in train)) == set(INTENTS)
    clf = default_classifier()
    assert set(clf.classes_) == set(INTENTS)
    assert clf.predict("is there a TYPE on SKILL ?")[0] == "search"


def test_training_sentences_are_masked_like_messages() -> None:
    ex = [Example("short videos on k8s by March", "search", Entities())]
    assert masked_training_texts(ex) == ["DURATION TYPE on SKILL DATE"]


def test_the_test_set_is_large_labelled_and_apart_from_training() -> None:
    test = load_examples(TEST_SET)
    assert len(test) >= 300
    assert set(Counter(e.intent for e in test)) == set(INTENTS)
    assert sum(e.is_follow_up for e in test) >= 40
    train = {e.text.lower().strip() for e in training_examples()}
    assert not [e.text for e in test if e.text.lower().strip() in train]
    queries = [json.loads(line) for line in QUERIES.read_text().splitlines() if line.strip()]
    assert len(queries) >= 50 and all("relevant" in q or q.get("no_answer") for q in queries)


def test_a_bad_labelled_row_names_its_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"text": "hi", "intent": "help"}\n{"text": "x", "intent": "dance"}\n')
    with pytest.raises(DataValidationError) as e:
        load_examples(p)
    assert e.value.errors[0].line == 2
    p.write_text('{"text": "x", "intent": "search", "types": ["hologram"]}\n')
    with pytest.raises(DataValidationError, match="types"):
        load_examples(p)


def test_scores_count_entities_as_pairs() -> None:
    gold = [Example("a", "search", Entities(skills=("x", "y"), max_minutes=20)),
            Example("b", "help", Entities())]
    pred = [Understanding("search", Entities(skills=("x", "z"), max_minutes=20), 1.0),
            Understanding("mentor", Entities(), 1.0)]
    s = score(gold, pred).to_dict()
    assert s["intent_accuracy"] == 0.5
    assert s["entities_per_kind"]["skills"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert s["entities_per_kind"]["max_minutes"]["f1"] == 1.0
    assert entity_pairs(Entities(level=(1, 2))) == {("level", (1, 2))}
    assert run(gold[:1], lambda text, state: pred[0]).correct == 1
