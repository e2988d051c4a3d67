"""The one-pass VADER gives vaderSentiment's own scores, value for value."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SPECIAL_CASES, SentimentIntensityAnalyzer

from analysis.sessions.transcript import sentences
from analysis.sessions.vader import Vader
from catalog.synth import SynthConfig, generate

DATA = Path(__file__).resolve().parents[3] / "benchmarks" / "data"


@pytest.fixture(scope="module")
def reference() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


@pytest.fixture(scope="module")
def vader() -> Vader:
    return Vader()


@pytest.mark.parametrize("text", [
    "", "   ", "The book was good.", "The book was kind of good.", "The plot was good, but the characters are "
    "uncompelling and the dialog is not great.", "At least it isn't a horrible book.", "Today SUX!",
    "Today only kinda sux! But I'll get by, lol", "Make sure you :) or :D today!", "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all", "VADER is VERY SMART, handsome, and FUNNY!!!", "no good, no bad, nor good", "never so good",
    "without doubt the best", "the least bad option", "at least it works", "yeah right, the shit", "What?!?!",
    "I'm not sure?? Really??? Really????", "a bad ass kiss of death", "Ok😀ok", "he's kind of  good but sort of bad",
])
def test_hand_picked_rules(reference, vader, text):
    assert vader.polarity_scores(text) == reference.polarity_scores(text)


def test_every_labelled_and_synthetic_sentence(reference, vader):
    texts = [json.loads(line)["text"] for name in ("skill_mentions.jsonl", "action_items.jsonl")
             for line in (DATA / name).read_text().splitlines()]
    sw = generate(SynthConfig(seed=5, n_mentees=300, n_items=200, n_mentors=20, days=90))
    for s in sw.sessions.sessions:
        texts += sentences(s.transcript) + [s.transcript] + [s.notes, s.comments.mentee]
    assert len(texts) > 1000
    mismatched = [t for t in texts if vader.polarity_scores(t) != (r := reference.polarity_scores(t))
                  or vader.compound(t) != r["compound"]]
    assert mismatched == []


def test_random_word_salad_exercising_every_rule(reference, vader):
    rng = random.Random(0)
    lexicon = list(reference.lexicon)
    pool = (lexicon[::9] + list(BOOSTER_DICT) + NEGATE + [w for k in SPECIAL_CASES for w in k.split()] +
            ["but", "BUT", "least", "at", "very", "no", "or", "nor", "kind", "of", "so", "this", "never", "without",
             "doubt", "GOOD", "Great!", "?", "!!!", ":)", "😀", "👍", "Kubernetes"])
    for _ in range(3000):
        words = [rng.choice(pool) for _ in range(rng.randint(0, 30))]
        if rng.random() < 0.3:
            words = [w.upper() if rng.random() < 0.3 else w for w in words]
        text = rng.choice([" ", "  ", ", ", ". "]).join(words) + rng.choice(["", "!", "??", "!!!!!", " 😁"])
        expected = reference.polarity_scores(text)
        assert vader.polarity_scores(text) == expected, text
        assert vader.compound(text) == expected["compound"], text
    assert vader.compound("great, thanks!") == reference.polarity_scores("great, thanks!")["compound"]


def test_compounds_of_many_texts(reference, vader):
    texts = ["", "ok", "Great work!", "not bad at all", "😀 fine", "meh...", "I am so angry!!!", "x y z"]
    assert vader.compounds(texts) == [reference.polarity_scores(t)["compound"] for t in texts]


def test_compounds_remembering_misses_give_the_same_scores_twice(reference):
    """Regression for the misses memo: a word once seen without a lexicon hit, then in a sentence with one."""
    from analysis.sessions.vader import Vader

    fresh = Vader()
    texts = ["the build ran", "the build ran fine", "THE BUILD RAN", "ran.", "ok.", "ok", "no, the build ran great"]
    lowered = [t.lower().split() for t in texts]
    want = [reference.polarity_scores(t)["compound"] for t in texts]
    assert fresh.compounds(texts) == want
    assert fresh.compounds(texts, lowered) == want  # second pass: most words now remembered
    assert "build" in fresh._misses and "fine" not in fresh._misses
