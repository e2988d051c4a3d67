"""Durations and levels in a message: "under half an hour", "short", "level 3", "beginner".

Each finder returns :class:`Span` objects with offsets into the message, so the caller
can blank what was understood before looking for the next kind of thing (a level word
inside "Advanced Python" belongs to the skill, a month inside a date is not a duration).

Conventions (docs/assistant.md): a duration is a *maximum* unless a lower bound is said
("more than an hour": ignored, there is no minimum filter); study time ("2 hours a week")
is not a duration of a resource; "short"/"quick" mean :data:`SHORT_MINUTES`; the *last*
level said wins ("from beginner to expert" targets expert).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from analysis.assistant.entities import SHORT_MINUTES, level_range

__all__ = ["Span", "NUMBER_WORDS", "find_durations", "find_levels", "number"]


@dataclass(frozen=True, slots=True)
class Span:
    """``kind`` with ``value`` found at ``text[start:end]``.

    Kinds: ``minutes`` (int), ``shorter``/``longer`` (relative, value None), ``level``
    (``(lo, hi)``), ``easier``/``harder`` (relative), ``deadline`` (a ``date``).
    """

    kind: str
    value: Any
    start: int
    end: int


NUMBER_WORDS: dict[str, float] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90, "a couple of": 2, "a couple": 2, "couple of": 2,
    "a few": 3, "few": 3,
}
_NUM = r"(\d+(?:\.\d+)?|" + "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True)) + r")"


def number(s: str) -> float:
    """``"6"``, ``"1.5"``, ``"six"``, ``"a couple of"`` as a number."""
    s = s.strip().lower()
    return float(s) if s[0].isdigit() else float(NUMBER_WORDS[s])


_I = re.IGNORECASE
_DURATIONS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\b(?:an?\s+)?hour\s+and\s+a\s+half\b", _I), lambda m: 90),
    (re.compile(r"\b(\d+)\s+and\s+a\s+half\s+hours?\b", _I), lambda m: int(m.group(1)) * 60 + 30),
    (re.compile(r"\bhalf\s*(?:an?\s*|-\s*)?hour\b", _I), lambda m: 30),
    (re.compile(r"\b(?:a\s+)?quarter\s+(?:of\s+)?an?\s+hour\b|\bquarter[- ]hour\b", _I), lambda m: 15),
    (re.compile(r"\b(\d+)\s*h(?:ours?|rs?)?\s*(?:and\s*)?(\d+)\s*(?:m(?:in(?:ute)?s?)?)?\b", _I),
     lambda m: int(m.group(1)) * 60 + int(m.group(2))),
    (re.compile(r"\b" + _NUM + r"\s*-?\s*(?:hours?|hrs?)\b|\b(\d+(?:\.\d+)?)\s*h\b", _I),
     lambda m: round(number(m.group(1) or m.group(2)) * 60)),
    (re.compile(r"\b" + _NUM + r"\s*-?\s*(?:minutes?|mins?)\b|\b(\d+)\s*m\b", _I),
     lambda m: round(number(m.group(1) or m.group(2)))),
    (re.compile(r"\bhour[- ]long\b", _I), lambda m: 60),
]
_LOWER_BOUND = re.compile(r"(?:more\s+than|over|at\s+least|longer\s+than|minimum(?:\s+of)?|no\s+less\s+than|>)"
                          r"\s*(?:an?\s+)?$", _I)
_NOT_A_RESOURCE = re.compile(r"^\s*(?:(?:per|a|an|each|every)\s+(?:week|day|month|night|evening)|weekly|daily|"
                             r"ago|of\s+(?:study|studying|learning))\b", _I)
_HOW_MANY = re.compile(r"how\s+(?:many|much)\s+$", _I)
_SHORT = re.compile(
    r"\b(shorter|quicker|longer|shortest|quickest|short|quick|brief|bite[- ]?sized?|snack[- ]?sized?)\b|"
    r"\b(?:not|nothing|isn'?t|aren'?t|no)\s+(?:too\s+|very\s+|that\s+|so\s+)?long\b", _I)
_NOT_SHORT_AFTER = re.compile(r"^\s*(?:of\b|-?\s*term\b|on\s+(?:time|money|cash|budget)\b|question|q\b|note|thought|check|reminder|update|"
                              r"favou?r|word|look\b|help|route|way|path)", _I)


def _claimed(spans: list[Span], start: int, end: int) -> bool:
    return any(s.start < end and start < s.end for s in spans)


def find_durations(text: str) -> list[Span]:
    """``minutes`` spans (upper bounds) and ``shorter``/``longer`` markers, in text order."""
    out: list[Span] = []
    seen: list[Span] = []
    for pat, minutes in _DURATIONS:
        for m in pat.finditer(text):
            if _claimed(seen, m.start(), m.end()):
                continue
            span = Span("minutes", int(minutes(m)), m.start(), m.end())
            seen.append(span)
            before, after = text[max(0, m.start() - 30):m.start()], text[m.end():m.end() + 30]
            if _LOWER_BOUND.search(before) or _NOT_A_RESOURCE.search(after) or _HOW_MANY.search(before):
                continue
            if span.value > 0:
                out.append(span)
    for m in _SHORT.finditer(text):
        word = (m.group(1) or "").lower()
        if _claimed(seen, m.start(), m.end()):
            continue
        if word in ("short", "quick", "shortest", "quickest") and (_NOT_SHORT_AFTER.search(text[m.end():m.end() + 12])
                                           or re.search(r"\bin\s+$", text[max(0, m.start() - 4):m.start()], _I)):
            continue
        if word in ("shorter", "quicker"):
            out.append(Span("shorter", None, m.start(), m.end()))
        elif word == "longer":
            out.append(Span("longer", None, m.start(), m.end()))
        else:
            out.append(Span("minutes", SHORT_MINUTES, m.start(), m.end()))
    return sorted(out, key=lambda s: s.start)


_LEVEL_WORD = r"(?:level|lvl|lv)s?\s*[-:]?\s*"
_DIGIT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_LV = r"([1-5]|one|two|three|four|five)\b"
_LEVELS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\b" + _LEVEL_WORD + _LV + r"\s*(?:-|–|to|or|and)\s*" + _LV, _I), lambda a, b: (a, b)),
    (re.compile(r"\bat\s+least\s+" + _LEVEL_WORD + _LV, _I), lambda a, b: (a, 5)),
    (re.compile(r"\b(?:up\s+to|at\s+most|max(?:imum)?)\s+" + _LEVEL_WORD + _LV, _I), lambda a, b: (1, a)),
    (re.compile(r"\b" + _LEVEL_WORD + r"([1-5])\s*(?:\+|or\s+(?:above|higher|more|up)\b|and\s+(?:above|up)\b)", _I),
     lambda a, b: (a, 5)),
    (re.compile(r"\b" + _LEVEL_WORD + r"([1-5])\s+or\s+(?:below|lower|less)\b", _I), lambda a, b: (1, a)),
    (re.compile(r"\b" + _LEVEL_WORD + _LV, _I), lambda a, b: (a, a)),
    (re.compile(r"\b(?:goal|target|aim)\b[^.?!]{0,40}?\b(?P<at>to\s+([1-5]))\b"
                r"(?!\s*(?:min|hour|h\b|day|week|month|year))", _I), lambda a, b: (a, a)),
]
_RELATIVE = re.compile(r"\b(easier|simpler|more\s+basic|less\s+advanced|gentler)\b|"
                       r"\b(harder|tougher|more\s+advanced|more\s+challenging|more\s+in[- ]depth|deeper)\b", _I)
_WORD_LEVELS: list[tuple[re.Pattern[str], tuple[int, int]]] = [
    (re.compile(r"\b(?:expert[- ]level|for\s+experts|to\s+(?:an?\s+)?expert|(?:become|becoming|be)\s+an?\s+expert|"
                r"expert\s+(?:content|material|stuff|resources|videos?|courses?|tutorials?|books?|articles?)|"
                r"master(?:ing)?(?=\s+(?!class|degree|'s|of\b)))", _I), (5, 5)),
    (re.compile(r"\b(?:advanced|in[- ]depth|deep[- ]dives?|senior[- ]level)\b", _I), (4, 5)),
    (re.compile(r"\b(?:intermediate|mid[- ]level)\b", _I), (3, 3)),
    (re.compile(r"\b(?:beginners?|beginner[- ]friendly|newbies?|novices?|introductory|intro|basics?|from\s+scratch|"
                r"entry[- ]level|starters?|for\s+dummies|easy)\b", _I), (1, 2)),
]


def _lv(s: str | None) -> int:
    return 0 if s is None else _DIGIT_WORDS.get(s.lower(), 0) or int(s)


def find_levels(text: str) -> list[Span]:
    """``level`` spans (inclusive ranges) and ``easier``/``harder`` markers, in text order."""
    out: list[Span] = []
    for m in _RELATIVE.finditer(text):
        out.append(Span("easier" if m.group(1) else "harder", None, m.start(), m.end()))
    for pat, rng in _LEVELS:
        for m in pat.finditer(text):
            if not _claimed(out, m.start(), m.end()):
                g = [x for x in m.groups() if x is None or x[:1].isdigit() or x.lower() in _DIGIT_WORDS]
                lo, hi = rng(_lv(g[0]), _lv(g[1]) if len(g) > 1 else 0)
                start = m.start("at") if "at" in pat.groupindex else m.start()  # "goal ... to 4": only "to 4"
                out.append(Span("level", level_range(lo, hi), start, m.end()))
    for pat, value in _WORD_LEVELS:
        for m in pat.finditer(text):
            if not _claimed(out, m.start(), m.end()):
                out.append(Span("level", value, m.start(), m.end()))
    return sorted(out, key=lambda s: s.start)
