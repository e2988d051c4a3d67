"""Action items: sentences where someone commits to, or is asked to do, a concrete task.

Rules over the sentence's opening words, with no model (see ``docs/sessions.md``):

- **markers**: "next step(s)", "action item", "homework", "to-do", "for next time",
  "your task";
- **commitments**: "I'll / I will / I'm going to / I plan to / I need to / I have to /
  I should / I can / let me / we'll / let's ..." followed by a task verb ("I'll be
  honest", "I'll think about it" and "let me think" are not tasks);
- **requests and suggestions**: an imperative task verb opening the sentence (after
  "so", "ok", "please", "for next week," ...), "you should / could / need to ...",
  "I want you to", "can you ... by Friday?", "make sure / remember / don't forget to";
- a **deadline** ("by Friday", "before our next session", "this week", "tonight") with
  a task verb anywhere in the sentence.

Questions (without a deadline), past tense and general truths ("you should *always*")
are not action items. The owner is who will do it: the speaker for commitments, the
other side for requests; "we" and markers are the mentee's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain
from typing import Literal

__all__ = ["ActionItem", "Owner", "is_action_item", "action_kind", "action_kinds", "owner_of", "TASK_VERBS"]

Owner = Literal["mentor", "mentee"]
Kind = Literal["marker", "commitment", "request", "deadline"]

TASK_VERBS = frozenset("""
read reread re-read watch try build write rewrite redo finish complete review practise practice set install deploy
refactor implement study go work look check sign schedule book send share prepare draft update push submit add
create do take start fix test learn explore research revisit skim summarise summarize note reach email ping
join attend apply list pick choose compare benchmark measure record document spend aim plan outline sketch solve
clone fork run rerun migrate containerise containerize clean tune bring ask find present register get have block
make call talk follow sort move port upgrade configure train evaluate collect gather open publish post
contact reply answer message write-up time-box timebox up commit rehearse
""".split())
_MARKERS = re.compile(
    r"(?=[nahtfy])\b(next steps?|action items?|homework|to-?do|for next (?:time|week|session)|your (?:task|assignment)"
    r"|take-?aways? for you)\b\s*(?:is|are|:|-|for you)?", re.I)
_FILLER = r"(?:so|ok|okay|alright|right|then|and|also|yes|yeah|sure|fine|great|cool|well|um|uh|like|you know|i mean)"
_COMMIT = re.compile(
    r"^(?:" + _FILLER + r"[,.]?\s+)*"
    r"(?:(?:today|tonight|tomorrow|this week|this weekend|next week|over the weekend)[,]?\s+)?"
    r"(?P<subj>i|we)(?:'ll|’ll| will| shall|'m going to|’m going to| am going to|'m gonna| am gonna| are going to"
    r"|'re going to| plan to| intend to| need to| have to| must| should| can| promise| commit to| want to"
    r"|'d like to| would like to|'m committing to| am committing to)\b\s*(?:to\s+)?(?:(?:try|also|really|"
    r"probably|definitely|just|then|first|quickly|still)\s+(?:to\s+)?)*(?P<verb>[\w'-]+)", re.I)
_LET = re.compile(r"^(?:" + _FILLER + r"[,.]?\s+)*let(?:'s|’s| us| me)\s+(?:both\s+|just\s+)?"
                  r"(?P<verb>[\w'-]+)", re.I)
_YOU = re.compile(
    r"(?=[yicw])\b(?:you should|you could|you need to|you have to|you must|you might want to|you may want to"
    r"|i'?d suggest (?:that )?you|i suggest (?:that )?you|i want you to|i'd like you to|i would like you to"
    r"|it might be worth|it would be worth|it'd be worth|it's worth|can you|could you|would you|will you"
    r"|we agreed (?:that )?you'?l?l?|you'll|you will|you're going to)\s+(?:(?:also|maybe|really|just|then|"
    r"first|definitely|probably)\s+)?(?P<verb>[\w'-]+)", re.I)
_LEAD = re.compile(
    r"^(?:(?:so|ok|okay|alright|right|then|and|also|now|please|maybe|first|next|finally|yeah|well|um|uh|"
    r"you know|i mean)[,.]?\s+|"
    r"(?:for|by|before|until|over|within|during)\s+(?:the\s+)?(?:next|this|our|friday|monday|tuesday|wednesday"
    r"|thursday|saturday|sunday|tomorrow|tonight|the end of)[\w\s]{0,30}?[,:]\s+|"
    r"(?:next session|next time|this week|tonight|tomorrow)[,:]?\s+|"
    r"(?:make sure (?:to|you)|remember to|don't forget to|do not forget to|try to|be sure to|aim to)\s+)*"
    r"(?P<verb>[\w'-]+)", re.I)
_DEADLINE = re.compile(
    r"(?=[butno])(?:\b(?:by|before|until|till|no later than)\s+(?:the\s+)?(?:next|this|our|monday|tuesday|wednesday|thursday"
    r"|friday|saturday|sunday|tomorrow|tonight|end of|the end|weekend|\d)|\b(?:this|next) (?:week|weekend|month"
    r"|sprint)\b|\btonight\b|\btomorrow\b|\bover the weekend\b|\bbefore (?:we|our)\b|\bnext (?:session|call|time)\b)",
    re.I)
_NOT_TASK_AFTER_COMMIT = frozenset("""
be say admit tell think see wonder guess bet never always know remember hope love like feel
""".split())
_GENERAL = re.compile(r"(?=[anigue])\b(?:always|never|in general|generally|usually|every engineer|everyone|anyone)\b", re.I)
_PAST = re.compile(r"(?=[ylauhwsct])\b(?:yesterday|last (?:week|month|time|session|year)|ago|used to|had planned|would have"
                   r"|should have|could have|was going to|were going to|said you'?d|told me to)\b", re.I)
_NEGATED_IMPERATIVE = re.compile(r"^(?:(?:so|ok|okay|and|please)[,.]?\s+)*(?:don't|do not|never|try not)\b", re.I)
_WH = re.compile(r"^\W*(?:what|why|how|when|where|which|who|whom|whose)\b", re.I)
# "Practice matters ...": the would-be imperative is the subject of a verb.
_SUBJECT = re.compile(r"\s+(?:is|are|was|were|matters|helps|makes|takes|means|seems|feels|works|sounds|looks|has|"
                      r"can|will|would|should|might|may|must|does|did)\b", re.I)
# Agenda for the session itself ("let's spend some time on X today") and good-byes are not tasks.
_AGENDA = re.compile(r"(?=[trnif])\b(?:today|right now|now|in this session|first)\b", re.I)
_CLOSING = re.compile(r"(?=[tsc])\b(?:talk|speak|chat|see you|catch up)\s+(?:soon|later)\b", re.I)
_FORGET = re.compile(r"\b(?:don't|do not) forget\b", re.I)


@dataclass(frozen=True, slots=True)
class ActionItem:
    """A task agreed in a session: its sentence, who said it, who will do it, and the skills it names."""

    text: str
    speaker: str
    owner: Owner
    kind: str
    skills: tuple[str, ...] = ()
    source: Literal["detected", "recorded"] = "detected"


def _task(verb: str | None) -> bool:
    if verb is None:
        return False
    v = verb.lower().strip("'")
    if v.endswith("ing") and len(v) > 5:  # "worth reading", "worth trying"
        stem = v[:-3]
        return any(c in TASK_VERBS for c in (stem, stem + "e", stem[:-1] if stem[-1:] == stem[-2:-1] else stem))
    return v in TASK_VERBS


# The unanchored patterns above open with a lookahead on their phrases' first letters: the regex engine
# then skips to those letters instead of trying every alternative at every position (3x faster).
# Words each unanchored pattern needs: tested on the sentence's word set first, as most sentences have none.
_PAST_KEYS = frozenset("yesterday last ago used planned have going said told".split())
_MARKER_KEYS = frozenset("next action homework to-do todo your takeaway takeaways take-away take-aways".split())
_DEADLINE_KEYS = frozenset("by before until till later this next tonight tomorrow weekend".split())
_GENERAL_KEYS = frozenset("always never general generally usually every everyone anyone".split())
_CLOSING_KEYS = frozenset(("soon", "later"))
_AGENDA_KEYS = frozenset("today now session first".split())
_WORDS = re.compile(r"[a-z0-9](?:[a-z0-9'-]*[a-z0-9])?")  # inner ' and - kept: "i'll", "to-do"


def _ing(verb: str) -> set[str]:
    """The -ing forms :func:`_task` reads back as ``verb`` ("read" -> "reading", "plan" -> "planning")."""
    forms = {verb + "ing", verb[:-1] + "ing", verb + verb[-1:] + "ing"}
    return {f for f in forms if len(f) > 5 and _task(f)}


# A sentence none of whose words is here cannot pass any rule: every rule needs a task verb
# (or its -ing form), a marker word, or a deadline with an "I"/"we"/"let" subject.
_TASK_WORDS = TASK_VERBS | {f for v in TASK_VERBS for f in _ing(v)}
_SUBJECTS = frozenset("i i'll i'm i'd we we'll we're we'd let let's".split())
_MARKER_PHRASES = ("next step", "action item", "homework", "todo", "to-do", "for next ", "your task",
                   "your assignment", "takeaway", "take-away")


def action_kind(sentence: str) -> Kind | None:
    """Which rule makes ``sentence`` an action item, or None when it is not one."""
    return _kind(sentence, None)


def _kind(sentence: str, toks: set[str] | None) -> Kind | None:
    """:func:`action_kind`; ``toks``, if given, is the sentence's ``_WORDS`` tokens (from its word cut)."""
    s = sentence.strip().strip("*-•> ").strip()
    if len(s) < 4:
        return None
    low = s.lower()
    if toks is None:
        toks = set(_WORDS.findall(low))
    if toks.isdisjoint(_TASK_WORDS) and toks.isdisjoint(_MARKER_KEYS) and (
            toks.isdisjoint(_DEADLINE_KEYS) or toks.isdisjoint(_SUBJECTS)):
        return None
    if _no_rule_can_fire(s, low, toks):
        return None
    if not toks.isdisjoint(_CLOSING_KEYS) and _CLOSING.search(s):
        return None
    if not toks.isdisjoint(_PAST_KEYS) and _PAST.search(s):
        return None
    question = s.endswith("?")
    dl_keys = not toks.isdisjoint(_DEADLINE_KEYS)
    deadline: bool | None = None  # the deadline search runs only where a rule asks for it

    def has_deadline() -> bool:
        nonlocal deadline
        if deadline is None:
            deadline = dl_keys and _DEADLINE.search(s) is not None
        return deadline

    if not question and not toks.isdisjoint(_MARKER_KEYS) and _marker_words(low) and _MARKERS.search(s):
        return "marker"
    m = _COMMIT.match(s)
    if m:
        verb = m.group("verb").lower()
        if verb not in _NOT_TASK_AFTER_COMMIT and not question and (_task(verb) or has_deadline()):
            return "commitment"
    m = _LET.match(s) if "let" in low else None
    if m and _task(m.group("verb")) and m.group("verb").lower() not in ("me", "think", "see", "know"):
        agenda = not toks.isdisjoint(_AGENDA_KEYS) and _AGENDA.search(s) is not None
        if not question and (not agenda or has_deadline()):
            return "commitment"
    if m and m.group("verb").lower() == "know" and has_deadline():
        return "request"
    general = not toks.isdisjoint(_GENERAL_KEYS) and _GENERAL.search(s) is not None
    # every _YOU phrase has "you" followed by a space, "'" or "l" (never "your"), or "worth"
    m = _YOU.search(s) if ("worth" in low or low.count("you") > low.count("your")) else None
    if m and _task(m.group("verb")) and not general and (not question or (has_deadline() and not _WH.match(s))):
        return "request"
    if not question and not general and (not _NEGATED_IMPERATIVE.match(s) or _FORGET.search(s)):
        m = _LEAD.match(s)
        if m and _task(m.group("verb")) and not _SUBJECT.match(s[m.end():]):
            return "request"
    # any(_task(w) for w in toks) is toks meeting _TASK_WORDS: _TASK_WORDS holds exactly the -ing forms _task accepts
    if not question and not toks.isdisjoint(_TASK_WORDS) and has_deadline():
        return "deadline"
    return None


# Words a sentence can open with and still be a commitment (_COMMIT: fillers, a time, "I"/"we"), a "let's"
# (_LET) or a request (_LEAD's openings); any other opening word must be the task verb itself.
_OPENERS = frozenset("""
so ok okay alright right then and also yes yeah sure fine great cool well um uh like you i
now please maybe first next finally for by before until over within during this tonight tomorrow today
make remember don't do try be aim we i'll i'm i'd we'll we're we'd let let's
""".split())
# What each _YOU phrase contains as written (single spaces), so a sentence holding none cannot match it.
_YOU_PHRASES = ("you should", "you could", "you need to", "you have to", "you must", "you might want to",
                "you may want to", "suggest", "you to", "worth", "can you", "could you", "would you", "will you",
                "agreed", "you'll", "you will", "you're going to")
_FIRST = re.compile(r"[\w'-]+")


def _no_rule_can_fire(s: str, low: str, toks: set[str]) -> bool:
    """Whether ``s`` lacks what every rule of :func:`action_kind` needs, so it is not an action item.

    Each test is a necessary condition of one rule: a marker word; a ``_YOU`` phrase; a deadline
    word with a task verb in a statement; an opening word the anchored rules accept (or the task
    verb itself). Most of a conversation's sentences hold a common task verb ("go", "have", "look")
    somewhere, which is all the word-set prefilter asks; these are rejected here before the
    unanchored searches (past tense, general truths, deadlines, "you should"), the costly part.
    """
    if not toks.isdisjoint(_MARKER_KEYS):
        return False
    if not s.endswith("?") and not toks.isdisjoint(_DEADLINE_KEYS) and not toks.isdisjoint(_TASK_WORDS):
        return False
    first = _FIRST.match(s)
    if first is not None and (first.group().lower() in _OPENERS or _task(first.group())):
        return False
    return not any(p in low for p in _YOU_PHRASES)


def _marker_words(low: str) -> bool:
    """Whether ``low`` holds one of _MARKERS' phrases as a substring (a cheap test before the search)."""
    return any(p in low for p in _MARKER_PHRASES)


# Lower-cased whitespace-cut words by what their _WORDS tokens hold (tokens never span a space, so a
# sentence's tokens are its words' tokens): no task verb or marker word / no deadline word / no subject.
# Filled as words are met, bounded; a sentence all of whose words are in them fails action_kind's prefilter.
_NO_TASK: set[str] = set()
_NO_DEADLINE: set[str] = set()
_NO_SUBJECT: set[str] = set()
_SEEN: set[str] = set()
_TASK_OR_MARKER = _TASK_WORDS | _MARKER_KEYS


class _WordToks(dict):
    """A lower-cased whitespace-cut word -> its ``_WORDS`` tokens (bounded). Tokens never span a space and
    stripping "*-•> " from a sentence's ends removes no token character, so a sentence's token set is
    the union of its words' tokens."""

    def __missing__(self, w: str) -> tuple[str, ...]:
        toks = tuple(_WORDS.findall(w))
        if len(self) < 200_000:  # bounded: texts bring endless new words
            self[w] = toks
        return toks


_WORD_TOKS = _WordToks()


def _learn(words: list[str]) -> None:
    if len(_SEEN) >= 200_000:  # bounded: texts bring endless new words
        return
    for w in words:
        if w not in _SEEN:
            toks = _WORDS.findall(w)
            if _TASK_OR_MARKER.isdisjoint(toks):
                _NO_TASK.add(w)
            if _DEADLINE_KEYS.isdisjoint(toks):
                _NO_DEADLINE.add(w)
            if _SUBJECTS.isdisjoint(toks):
                _NO_SUBJECT.add(w)
            _SEEN.add(w)


def action_kinds(sentences: list[str], lowered: list[list[str]] | None = None) -> list[Kind | None]:
    """:func:`action_kind` of each sentence; ``lowered`` (optional) is each one's ``lower().split()``.

    A sentence made only of words already known to fail the prefilter costs set tests, not a
    tokenisation: ``action_kind``'s prefilter reads nothing but the sentence's tokens.
    """
    out: list[Kind | None] = []
    toks_of = _WORD_TOKS.__getitem__
    for k, sent in enumerate(sentences):
        words = lowered[k] if lowered is not None else sent.lower().split()
        if _NO_TASK.issuperset(words) and (_NO_DEADLINE.issuperset(words) or _NO_SUBJECT.issuperset(words)):
            out.append(None)
            continue
        out.append(_kind(sent, set(chain.from_iterable(map(toks_of, words)))))
        if not _SEEN.issuperset(words):
            _learn(words)
    return out


def is_action_item(sentence: str) -> bool:
    """Whether ``sentence`` commits someone to, or asks someone for, a concrete task."""
    return action_kind(sentence) is not None


def owner_of(sentence: str, kind: str, speaker: str) -> Owner:
    """Who will do it: the speaker for an "I ..." commitment, else the mentee (requests go to the other side)."""
    if kind == "commitment" and re.match(r"^\W*(?:\w+[,.]?\s+){0,3}?(?:i|let me)\b", sentence.strip(), re.I):
        return "mentor" if speaker == "mentor" else "mentee"
    if kind == "request" and speaker == "mentee":
        return "mentor"
    return "mentee"
