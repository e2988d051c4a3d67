"""Speaker-labelled transcripts: who said what, whatever the labelling style.

A line opens a turn when it starts with a speaker label and a separator, after an
optional time stamp or markup: ``Mentor: ...``, ``MENTEE - ...``, ``[00:12:03] Ada: ...``,
``**Mentee**: ...``, ``Mentor (Ada) — ...``. A label is resolved to a side by

1. a role word in it (mentor, coach; mentee, student, learner, coachee);
2. the names given (``mentor_name``/``mentee_name``: the full name, first or last name);
3. elimination: when one side is known, the most frequent other name-like label that
   opens at least two lines is the other side.

Anything else that looks like a label ("Next step: read ...", "Kubernetes - the control
plane") is text, not a speaker, unless it opens two lines or more; such speakers stay
``"unknown"`` and are left out of the talk balance. Unlabelled lines continue the
current turn (or open an ``"unknown"`` one at the top).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

__all__ = ["Side", "Turn", "Transcript", "parse_transcript", "sentences", "words"]

Side = Literal["mentor", "mentee", "unknown"]

_ROLE = {
    "mentor": "mentor", "coach": "mentor", "tutor": "mentor",
    "mentee": "mentee", "student": "mentee", "learner": "mentee", "coachee": "mentee", "apprentice": "mentee",
}
# Words that open "label: text" lines without being a speaker.
_NOT_SPEAKERS = frozenset("""
note notes next step steps action item items todo to-do homework summary agenda update ps p.s edit q a tl;dr re
goal goals topic topics example e.g i.e http https deadline task tasks reminder recap follow-up followup plan
""".split())
_STAMP = r"(?:\[?\(?\d{1,2}:\d{2}(?::\d{2})?\)?\]?\s*[-–—]?\s*)?"
_LABEL = re.compile(
    r"^\s*(?:>\s*)?" + _STAMP + r"(?:\*\*|__)?"
    r"(?P<label>[^\W\d_][\w.'’-]*(?:\s+[\w.'’-]+){0,3}?(?:\s*\([^)]{1,40}\))?)"
    r"(?:\*\*|__)?\s*" + _STAMP + r"(?:\*\*|__)?(?P<sep>:|\s[-–—]\s|\s[-–—]$)(?:\*\*|__)?\s*(?P<text>.*)$"
)
_WORD = re.compile(r"[\w'’]+(?:[-.][\w'’]+)*")
# A cut: a sentence's end mark (kept with the sentence, hence the group), closing quotes or brackets
# (dropped) and whitespace; or line breaks. Opening on the end mark or a line break lets the regex
# engine skip to those few characters instead of trying a match at every space.
_SENT = re.compile(r"""([.!?])["')\]]*\s+|\n+""")


@dataclass(frozen=True, slots=True)
class Turn:
    """What one speaker said in one go. ``label`` as written ("" when unlabelled); ``line`` 1-based."""

    speaker: Side
    text: str
    label: str
    line: int

    @property
    def n_words(self) -> int:
        """Whitespace-separated words (what a word count means to most people, and fast)."""
        return len(self.text.split())


@dataclass(frozen=True, slots=True)
class Transcript:
    """The turns in order, and the label each side was recognised by."""

    turns: tuple[Turn, ...]
    labels: tuple[tuple[str, Side], ...] = ()

    def side(self, speaker: Side) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.speaker == speaker)

    def word_counts(self) -> dict[str, int]:
        """Words said by ``mentor``, ``mentee`` and ``unknown`` speakers."""
        out = {"mentor": 0, "mentee": 0, "unknown": 0}
        for t in self.turns:
            out[t.speaker] += t.n_words
        return out

    @property
    def labelled(self) -> bool:
        """Whether any turn was attributed to the mentor or the mentee."""
        return any(t.speaker != "unknown" for t in self.turns)


def words(text: str) -> list[str]:
    """The words of ``text`` (letters, digits, inner apostrophes, hyphens and dots)."""
    return _WORD.findall(text)


def sentences(text: str) -> list[str]:
    """``text`` cut after ``.``, ``!``, ``?`` (before a space) and at line breaks; blanks dropped."""
    parts = _SENT.split(text)  # [text, end mark or None, text, ...]
    out = []
    for k in range(0, len(parts) - 1, 2):
        mark = parts[k + 1]
        if s := (parts[k] + mark if mark else parts[k]).strip():
            out.append(s)
    if s := parts[-1].strip():
        out.append(s)
    return out


def _name_parts(name: str | None) -> set[str]:
    if not name:
        return set()
    parts = [p for p in re.split(r"\s+", name.strip().lower()) if p]
    return {" ".join(parts), *parts}


def _resolve(label: str, names: dict[str, set[str]]) -> Side | None:
    low = label.lower()
    for w in re.findall(r"[a-z]+", low):
        if w in _ROLE:
            return _ROLE[w]  # type: ignore[return-value]
    bare = re.sub(r"\s*\(.*\)\s*$", "", low).strip(" .")
    for side, parts in names.items():
        if bare in parts:
            return side  # type: ignore[return-value]
    return None


def _name_like(label: str) -> bool:
    bare = re.sub(r"\s*\(.*\)\s*$", "", label).strip()
    toks = bare.split()
    if not toks or len(toks) > 3 or bare.lower() in _NOT_SPEAKERS or toks[0].lower() in _NOT_SPEAKERS:
        return False
    return all(t[:1].isupper() for t in toks)


def parse_transcript(text: str, *, mentor_name: str | None = None, mentee_name: str | None = None) -> Transcript:
    """Cut ``text`` into :class:`Turn` s and attribute each to the mentor, the mentee or ``"unknown"``."""
    names = {"mentor": _name_parts(mentor_name), "mentee": _name_parts(mentee_name)}
    lines = text.splitlines()
    heads: list[tuple[str, str] | None] = []
    for raw in lines:
        m = _LABEL.match(raw)
        heads.append((m.group("label").strip(), m.group("text")) if m else None)
    counts = Counter(h[0] for h in heads if h is not None)
    sides: dict[str, Side] = {}
    for label in counts:
        side = _resolve(label, names)
        if side is not None:
            sides[label] = side
    frequent = [lab for lab, c in counts.most_common() if c >= 2 and lab not in sides and _name_like(lab)]
    known = set(sides.values())
    if len(known) == 1 and frequent:
        sides[frequent[0]] = "mentee" if "mentor" in known else "mentor"
        frequent = frequent[1:]
    speakers = set(sides) | set(frequent)

    turns: list[list] = []  # [speaker, [texts], label, line]
    for n, (raw, head) in enumerate(zip(lines, heads), start=1):
        if head is not None and head[0] in speakers:
            label, body = head
            turns.append([sides.get(label, "unknown"), [body.strip()], label, n])
        elif raw.strip():
            if turns:
                turns[-1][1].append(raw.strip())
            else:
                turns.append(["unknown", [raw.strip()], "", n])
    out = tuple(Turn(s, "\n".join(t for t in texts if t), label, line) for s, texts, label, line in turns)
    return Transcript(out, tuple(sorted(sides.items())))
