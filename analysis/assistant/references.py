"""References to items: ids the catalog knows, and "the second one", "this course", "it".

An id is taken only when the catalog has it (:class:`~analysis.assistant.lexicon.Lexicon`).
Pointing words are resolved later against the previous answer's cards
(:func:`resolve_reference`), because only the conversation knows what "the second one" was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from analysis.assistant.lexicon import TYPE_WORDS, Lexicon
from analysis.assistant.quantities import Span

__all__ = ["find_item_ids", "find_pointers", "resolve_reference"]

_ID_TOKEN = re.compile(r"[A-Za-z0-9_.:@-]*\d[A-Za-z0-9_.:@-]*")
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5, "seventh": 6, "eighth": 7,
             "ninth": 8, "tenth": 9, "1st": 0, "2nd": 1, "3rd": 2, "4th": 3, "5th": 4, "6th": 5, "7th": 6,
             "8th": 7, "9th": 8, "10th": 9, "last": -1}
_NOUNS = "|".join(["one", "ones", "item", "items", "step", "card", "result", "link", "resource", "suggestion",
                   "recommendation", "option", "pick", "thing"]
                  + sorted((re.escape(w) for w in TYPE_WORDS if " " not in w), key=len, reverse=True))
_I = re.IGNORECASE
_ORDINAL = re.compile(r"\b(?:the\s+)?(" + "|".join(_ORDINALS) + r")\s+(" + _NOUNS + r")\b", _I)
_NUMBERED = re.compile(r"(?:\b(?:step|item|number|no\.?|result|option|card)\s*|#)(\d{1,2})\b", _I)
_THIS = re.compile(r"\b(this|that|it)\b(?:\s+(" + _NOUNS + r")\b)?", _I)
_THESE = re.compile(r"\b(these|those|them)\b(?:\s+(" + _NOUNS + r")\b)?", _I)
# "this week", "it to the list": not an item.
_NOT_POINTING_AFTER = re.compile(r"^\s*(?:to\b|is\s+(?:a|the)\b|year|month|week|weekend|evening|morning|afternoon|"
                                 r"time|semester|quarter)", _I)


def find_item_ids(text: str, lexicon: Lexicon) -> list[Span]:
    """``item`` spans for tokens that are catalog item ids (value: the id as the catalog spells it)."""
    out = []
    for m in _ID_TOKEN.finditer(text):
        tok = m.group().rstrip(".:-")
        iid = lexicon.item_id(tok)
        if iid is not None:
            out.append(Span("item", iid, m.start(), m.start() + len(tok)))
    return out


def find_pointers(text: str) -> list[Span]:
    """Pointing phrases: ``ordinal`` (value: 0-based index, -1 = last, with a type hint),
    ``this`` (value: a type hint or None) and ``these`` (value: a type hint or None)."""
    out: list[Span] = []
    for m in _ORDINAL.finditer(text):
        out.append(Span("ordinal", (_ORDINALS[m.group(1).lower()], TYPE_WORDS.get(m.group(2).lower())),
                        m.start(), m.end()))
    for m in _NUMBERED.finditer(text):
        n = int(m.group(1))
        if n >= 1 and not any(s.start < m.end() and m.start() < s.end for s in out):
            out.append(Span("ordinal", (n - 1, None), m.start(), m.end()))
    for m in _THIS.finditer(text):
        if any(s.start < m.end() and m.start() < s.end for s in out):
            continue
        noun = (m.group(2) or "").lower()
        if not noun and (m.group(1).lower() == "that" or _NOT_POINTING_AFTER.search(text[m.end():])):
            continue  # "that" alone is mostly a conjunction
        out.append(Span("this", TYPE_WORDS.get(noun), m.start(), m.end()))
    for m in _THESE.finditer(text):
        out.append(Span("these", TYPE_WORDS.get((m.group(2) or "").lower()), m.start(), m.end()))
    return sorted(out, key=lambda s: s.start)


def resolve_reference(pointer: Span, cards: Sequence[str], lexicon: Lexicon) -> str | None:
    """The card id a pointer designates, or None (out of range, or nothing shown before).

    An ordinal counts among cards of the type it names when it names one ("the second
    video"); "this course" is the first card of that type, else the first card.
    """
    if not cards or pointer.kind == "these":
        return None
    if pointer.kind == "ordinal":
        index, type_hint = pointer.value
        pool = [c for c in cards if lexicon.item_type(c) == type_hint] if type_hint else list(cards)
        pool = pool or list(cards)
        return pool[index] if -len(pool) <= index < len(pool) else None
    type_hint = pointer.value
    if type_hint:
        for c in cards:
            if lexicon.item_type(c) == type_hint:
                return c
    return cards[0]
