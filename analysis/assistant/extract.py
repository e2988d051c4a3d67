"""One message -> what it says on its own: entities, relative changes, pointers, masked text.

Finders run in a fixed order and each blanks what it took, so a later one cannot read
the same words again: item ids, dates, durations, languages, then skills (the
vocabulary, with typos forgiven), then levels and types on what is left (the "advanced"
of "Advanced Python" is the skill's). The classifier reads ``masked``, where every
found thing is a placeholder (``SKILL``, ``TYPE``, ``DATE`` ...), so it learns how
questions are asked rather than which skills were in the training sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from analysis.assistant.dates import find_deadlines
from analysis.assistant.entities import Entities
from analysis.assistant.lexicon import STOPWORDS, Lexicon, find_languages, find_types
from analysis.assistant.quantities import Span, find_durations, find_levels
from analysis.assistant.references import find_item_ids, find_pointers
from analysis.vocabulary import SkillVocabulary, tokens
from catalog.schema import RESOURCE_TYPES

__all__ = ["Parsed", "parse", "find_skills"]

# Words of asking, not of a topic: never search keywords.
_ASKING = frozenset("""
next now step steps plan path roadmap progress goal goal mentor mentors help explain why mean doing track
level deadline target someone somebody anyone person human expert experts review teach""".split())
# Everyday-word skill names that chat uses as plain words often enough to need a cue.
_CHATTY = frozenset("""
go c r excel express spring testing typing dash arrow attention security speech shell terminal monitoring
tracing boosting dashboard dashboards containers sampling charts streaming elastic accessibility
""".split())

_PLACEHOLDER = {"item": "ITEM", "deadline": "DATE", "horizon": "DATE", "minutes": "DURATION", "shorter": "SHORTER",
                "longer": "LONGER", "language": "LANG", "skill": "SKILL", "level": "LEVEL", "easier": "EASIER",
                "harder": "HARDER", "type": "TYPE", "not_type": "NOTTYPE"}


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one message says by itself, before the conversation is taken into account.

    ``entities`` holds absolute values; ``relative`` the changes to the previous answer
    ("shorter", "easier", ``"add_types"`` for "videos too"); ``pointers`` the unresolved
    "the second one"/"this course"; ``horizon`` a "this year" kept only for goals and plans.
    """

    entities: Entities
    relative: frozenset[str]
    pointers: tuple[Span, ...]
    horizon: date | None
    masked: str
    spans: tuple[Span, ...]
    keywords: tuple[str, ...] = ()


def _blank(text: str, spans: list[Span]) -> str:
    chars = list(text)
    for s in spans:
        chars[s.start:s.end] = " " * (s.end - s.start)
    return "".join(chars)


def _free(spans: list[Span], s: Span) -> bool:
    return not any(t.start < s.end and s.start < t.end for t in spans)


def parse(message: str, *, vocabulary: SkillVocabulary, lexicon: Lexicon, today: date) -> Parsed:
    """Everything ``message`` states by itself (see the module docstring for the order)."""
    taken: list[Span] = []

    def take(found: list[Span]) -> list[Span]:
        kept = [s for s in found if _free(taken, s)]
        taken.extend(kept)
        return kept

    items = take(find_item_ids(message, lexicon))
    dates = take(find_deadlines(message, today))
    durations = take(find_durations(message))
    languages = take([Span("language", f.value, f.start, f.end) for f in find_languages(message)])
    text = _blank(message, taken)
    skills = take(find_skills(text, vocabulary))
    text = _blank(message, taken)
    levels = take(find_levels(text))
    pointers = tuple(find_pointers(text))
    # "this course", "the second video": the type says which card, it is not a filter
    named = [p for p in pointers if p.kind in ("this", "ordinal")]
    types = take([Span("not_type" if f.negated else "type", f.value, f.start, f.end)
                  for f in find_types(text) if not _owned(text, f.start, f.end, f.value)
                  and not any(p.start <= f.start and f.end <= p.end for p in named)])

    wanted = [s.value for s in types if s.kind == "type"]
    unwanted = {s.value for s in types if s.kind == "not_type"}
    if unwanted:
        wanted = [t for t in RESOURCE_TYPES if t not in unwanted]
    minutes = [s.value for s in durations if s.kind == "minutes"]
    absolute_levels = [s.value for s in levels if s.kind == "level"]
    deadlines = [s.value for s in dates if s.kind == "deadline"]
    horizons = [s.value for s in dates if s.kind == "horizon"]
    relative = {s.kind for s in durations + levels if s.kind in ("shorter", "longer", "easier", "harder")}
    words = set(re.findall(r"[a-z]+", message.lower()))
    if wanted and not unwanted and (words & {"too", "also"} or "as well" in message.lower()):
        relative.add("add_types")  # "tutorials too?": more types, not other types
    entities = Entities(
        skills=tuple(dict.fromkeys(s.value for s in skills)),
        types=tuple(dict.fromkeys(wanted)),
        max_minutes=min(minutes[-1:]) if minutes else None,
        level=absolute_levels[-1] if absolute_levels else None,
        deadline=deadlines[-1] if deadlines else None,
        item_id=items[0].value if items else None,
        language=languages[-1].value if languages else None,
    )
    ordered = sorted(taken, key=lambda s: s.start)
    rest = _blank(message, [*taken, *pointers])
    keywords = tuple(dict.fromkeys(t for t, _, _ in tokens(rest) if t not in STOPWORDS and t not in _ASKING
                                   and (len(t) > 1 or t in ("c", "r")) and not t.isdigit()))
    return Parsed(entities, frozenset(relative), pointers, horizons[-1] if horizons else None,
                  _mask(message, ordered), tuple(ordered), keywords)


def find_skills(text: str, vocabulary: SkillVocabulary) -> list[Span]:
    """Skill mentions, typos forgiven; everyday-word names ("react", "rag", "spark") count in lower case
    too, as a mentee writes them to a learning assistant, except the few that chat uses as plain words
    ("go", "excel", "testing"): those need the vocabulary's cues ("learn go", "Go", "go code")."""
    cued = {(m.start, m.end): m for m in vocabulary.find(text, fuzzy=True, ambiguous="topic")}
    out = dict(cued)
    for m in vocabulary.find(text, fuzzy=True, ambiguous="always"):
        if (m.start, m.end) not in out and m.text.lower() not in _CHATTY and \
                not any(s < m.end and m.start < e for s, e in out):
            out[(m.start, m.end)] = m
    return [Span("skill", m.skill_id, m.start, m.end) for _, m in sorted(out.items())]


def _owned(text: str, start: int, end: int, type_: str) -> bool:
    """A type word that is not a request: "my project", "my FastAPI project" (skills are blanked),
    "of course", "book a session"."""
    before = text[max(0, start - 48):start].lower().split()
    if type_ == "book" and re.match(r"\s+(?:a|an|me|my|the|in)\b", text[end:], re.IGNORECASE):
        return True
    if not before:
        return False
    return before[-1] in ("my", "our", "your", "his", "her", "their") or (before[-1] == "of" and type_ == "course")


def _mask(message: str, spans: list[Span]) -> str:
    out, at = [], 0
    for s in spans:
        out.append(message[at:s.start])
        out.append(f" {_PLACEHOLDER[s.kind]} ")
        at = s.end
    out.append(message[at:])
    return " ".join("".join(out).split())
