"""Scoring understanding against labelled utterances: intent accuracy, entity precision/recall/F1.

Entities are compared as sets of ``(kind, value)`` pairs: each skill and each type is a
pair, the other kinds one pair each (a level range must match exactly, a deadline to the
day). Micro-averaged per entity kind and per intent, so a message with nothing to find
and nothing found costs nothing, and one stray skill costs precision.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.assistant.entities import ENTITY_KINDS, Entities
from analysis.assistant.examples import Example
from analysis.assistant.intents import INTENTS
from analysis.assistant.state import ConversationState
from analysis.assistant.understand import Understanding

__all__ = ["state_for", "entity_pairs", "Scores", "score", "run"]


def state_for(example: Example) -> ConversationState:
    """The conversation state a follow-up example was labelled in (empty for a first message)."""
    if not example.is_follow_up:
        return ConversationState()
    return ConversationState(1, example.prev_intent, example.prev_entities, example.prev_cards)


def entity_pairs(e: Entities) -> set[tuple[str, Any]]:
    pairs: set[tuple[str, Any]] = {("skills", s) for s in e.skills} | {("types", t) for t in e.types}
    for kind in ENTITY_KINDS[2:]:
        v = getattr(e, kind)
        if v is not None:
            pairs.add((kind, v))
    return pairs


@dataclass
class _Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: set, pred: set) -> None:
        self.tp += len(gold & pred)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)

    def prf(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": self.tp + self.fn}


@dataclass
class Scores:
    """Aggregates; ``errors`` lists ``(text, gold intent, predicted intent)`` of misclassified messages."""

    n: int = 0
    correct: int = 0
    per_intent: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    per_kind: dict[str, _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    per_intent_entities: dict[str, _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    all_entities: _Counts = field(default_factory=_Counts)
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    entity_errors: list[tuple[str, list, list]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "intent_accuracy": round(self.correct / max(self.n, 1), 4),
            "per_intent": {i: {"n": c["n"], "accuracy": round(c["correct"] / max(c["n"], 1), 4),
                               "predicted": c["predicted"]} for i, c in sorted(self.per_intent.items())},
            "entities": self.all_entities.prf(),
            "entities_per_kind": {k: self.per_kind[k].prf() for k in ENTITY_KINDS if k in self.per_kind},
            "entities_per_intent": {i: c.prf() for i, c in sorted(self.per_intent_entities.items())},
        }


def score(examples: Sequence[Example], predictions: Sequence[Understanding]) -> Scores:
    s = Scores()
    for ex, u in zip(examples, predictions, strict=True):
        s.n += 1
        ok = u.intent == ex.intent
        s.correct += ok
        s.per_intent[ex.intent]["n"] += 1
        s.per_intent[ex.intent]["correct"] += ok
        s.per_intent[u.intent]["predicted"] += 1
        if not ok:
            s.errors.append((ex.text, ex.intent, u.intent))
        gold, pred = entity_pairs(ex.entities), entity_pairs(u.entities)
        for kind in ENTITY_KINDS:
            g = {p for p in gold if p[0] == kind}
            q = {p for p in pred if p[0] == kind}
            if g or q:
                s.per_kind[kind].add(g, q)
        s.per_intent_entities[ex.intent].add(gold, pred)
        s.all_entities.add(gold, pred)
        if gold != pred:
            s.entity_errors.append((ex.text, sorted(map(str, gold - pred)), sorted(map(str, pred - gold))))
    for i in INTENTS:
        s.per_intent.setdefault(i, Counter())
    return s


def run(examples: Sequence[Example], understand_one: Callable[[str, ConversationState], Understanding]) -> Scores:
    """Understand every example in its labelled context and score the results."""
    return score(examples, [understand_one(e.text, state_for(e)) for e in examples])
