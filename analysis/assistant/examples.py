"""Labelled utterances: the training set shipped with the package, and the same format for test sets.

One JSON object per line::

    {"text": "why the second one?", "intent": "explain", "item_id": "r04011",
     "prev": {"intent": "search", "skills": ["kotlin"], "cards": ["r04019", "r04011"]}}

Entity keys are those of :class:`~analysis.assistant.entities.Entities` (absent = not
said); ``prev`` is the previous turn (its intent, entities and the ids of the cards it
showed) for follow-ups. Dates are resolved against :data:`LABEL_NOW`, the day the sets
were labelled for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from analysis.assistant.entities import ENTITY_KINDS, Entities
from analysis.assistant.intents import INTENTS
from catalog.errors import DataValidationError, InvalidValueError, RowError

__all__ = ["Example", "LABEL_NOW", "load_examples", "training_examples", "TRAINING_FILE"]

LABEL_NOW = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)
TRAINING_FILE = "train.jsonl"


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled utterance; ``prev_*`` describe the turn before a follow-up (else None/empty)."""

    text: str
    intent: str
    entities: Entities
    prev_intent: str | None = None
    prev_entities: Entities = Entities()
    prev_cards: tuple[str, ...] = ()

    @property
    def is_follow_up(self) -> bool:
        return self.prev_intent is not None


def _example(row: dict, line: int, source: str) -> Example:
    def bad(column: str, reason: str) -> DataValidationError:
        return DataValidationError([RowError(line, column, reason, source)], source=source)

    if not isinstance(row.get("text"), str) or row.get("intent") not in INTENTS:
        raise bad("intent", f"needs a text and one of {', '.join(INTENTS)}")
    prev = row.get("prev")
    try:
        ents = Entities.from_dict({k: row[k] for k in ENTITY_KINDS if k in row})
        if prev is None:
            return Example(row["text"], row["intent"], ents)
        if not isinstance(prev, dict) or prev.get("intent") not in INTENTS:
            raise bad("prev.intent", "unknown intent")
        prev_ents = Entities.from_dict({k: prev[k] for k in ENTITY_KINDS if k in prev}, field_name="prev")
    except InvalidValueError as e:
        raise bad(e.field, e.reason) from None
    return Example(row["text"], row["intent"], ents, prev["intent"], prev_ents, tuple(prev.get("cards") or ()))


def load_examples(path: str | Path) -> list[Example]:
    """Read a labelled JSONL file; a bad row raises :class:`DataValidationError` naming its line."""
    p = Path(path)
    out = []
    for line, raw in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.strip():
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as e:
                raise DataValidationError([RowError(line, "json", str(e), p.name)], source=p.name) from None
            out.append(_example(row, line, p.name))
    return out


def training_examples() -> list[Example]:
    """The training utterances shipped with the package (never the evaluation sets)."""
    with resources.as_file(resources.files("analysis.assistant") / "data" / TRAINING_FILE) as p:
        return load_examples(p)
