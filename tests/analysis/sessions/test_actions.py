"""Action items: commitments, requests, markers and deadlines; and what is not one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.sessions.actions import action_kind, is_action_item, owner_of

DATA = Path(__file__).resolve().parents[3] / "benchmarks" / "data" / "action_items.jsonl"


@pytest.mark.parametrize(("sentence", "kind"), [
    ("Next step: containerise the API.", "marker"),
    ("Homework for Thursday - two SQL katas", "marker"),
    ("I'll write the design doc tonight.", "commitment"),
    ("um, I'm gonna finish the course by Sunday", "commitment"),
    ("Let's both review the plan before our next call.", "commitment"),
    ("You should try writing the parser yourself.", "request"),
    ("Could you send me the notebook by Friday?", "request"),
    ("It might be worth skimming the RFC.", "request"),
    ("So, read chapter two and bring questions.", "request"),
    ("Don't forget to book the exam.", "request"),
    ("Over the weekend the benchmark needs a rerun, ideally.", "deadline"),
])
def test_action_items(sentence: str, kind: str):
    assert action_kind(sentence) == kind


@pytest.mark.parametrize("sentence", [
    "How did the interview go?", "I read the docs yesterday.", "I'll be honest, it was dull.", "Let me think.",
    "Let's spend some time on Docker today.", "You should always write tests.", "Practice matters.",
    "Alright, talk soon.", "What would you do differently next time?", "Last time you said you'd read it.",
    "Don't worry about the deadline.", "ok", "Great session!",
])
def test_not_action_items(sentence: str):
    assert not is_action_item(sentence)


def test_owner_is_the_speaker_for_commitments_and_the_other_side_for_requests():
    assert owner_of("I'll send you the link.", "commitment", "mentor") == "mentor"
    assert owner_of("So I will finish it by Friday.", "commitment", "mentee") == "mentee"
    assert owner_of("Read chapter two.", "request", "mentor") == "mentee"
    assert owner_of("Can you send me the slides by Monday?", "request", "mentee") == "mentor"
    assert owner_of("Next step: deploy it.", "marker", "mentor") == "mentee"
    assert owner_of("Let's review it on Tuesday.", "commitment", "mentor") == "mentee"


def test_the_rules_hold_on_the_dev_part_of_the_labelled_set():
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    dev = [r for r in rows if r["split"] == "dev"]
    assert len(rows) >= 150 and len(dev) >= 50
    tp = sum(is_action_item(r["text"]) and r["action_item"] for r in dev)
    fp = sum(is_action_item(r["text"]) and not r["action_item"] for r in dev)
    fn = sum(not is_action_item(r["text"]) and r["action_item"] for r in dev)
    assert tp / (tp + fp) >= 0.9 and tp / (tp + fn) >= 0.9


def test_action_kinds_skips_only_what_action_kind_rejects():
    """The word-flag prefilter of action_kinds gives action_kind's answers, first and second time a word is met."""
    from analysis.sessions.actions import action_kinds

    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    texts = [r["text"] for r in rows]
    texts += [t.upper() for t in texts[:50]] + ["I'll-draft the plan by Friday.", "we're done", "-- ok --", "So."]
    want = [action_kind(t) for t in texts]
    assert action_kinds(texts) == want
    assert action_kinds(texts, [t.lower().split() for t in texts]) == want


def test_the_opening_and_phrase_filter_and_the_shared_word_cut_change_no_answer(monkeypatch):
    """Regression for the speed work: ``_no_rule_can_fire`` only rejects sentences every rule rejects, and
    ``action_kinds`` on the shared ``lower().split()`` cut answers as ``action_kind`` on each sentence
    alone; on the labelled sets, a synthetic world's sentences and their mutations."""
    import random

    import analysis.sessions.actions as actions
    from analysis.sessions.transcript import parse_transcript, sentences
    from catalog.synth import SynthConfig, generate

    data = DATA.parent
    texts = [json.loads(line)["text"] for name in ("action_items.jsonl", "skill_mentions.jsonl")
             for line in (data / name).read_text().splitlines() if line.strip()]
    sw = generate(SynthConfig(seed=5, n_mentees=300, n_items=200, n_mentors=20, days=90))
    texts += [x for s in sw.sessions.sessions if s.transcript
              for t in parse_transcript(s.transcript).turns for x in sentences(t.text)]
    rng = random.Random(5)
    openers = ["So, ", "Um, ", "Today, ", "By Friday, ", "Please ", "You know, ", "Next time, ", "'", "(", "- "]
    texts += [rng.choice(openers) + t[:1].lower() + t[1:] for t in texts[:1500]]
    texts += [t.replace("'", "’").upper() if k % 2 else t.rstrip(".!?") + "?" for k, t in enumerate(texts[:800])]
    fast = [action_kind(t) for t in texts]
    shared = actions.action_kinds(texts, [t.lower().split() for t in texts])
    rejects = actions._no_rule_can_fire
    stripped = [t.strip().strip("*-•> ").strip() for t in texts]
    rejected = sum(rejects(s, s.lower(), set(actions._WORDS.findall(s.lower()))) for s in stripped)
    monkeypatch.setattr(actions, "_no_rule_can_fire", lambda s, low, toks: False)
    rules_only = [action_kind(t) for t in texts]
    assert fast == rules_only and shared == rules_only
    assert sum(k is not None for k in rules_only) > 300 and rejected > 500  # both sides of the filter are exercised
