"""Skills mentioned in free text, matched against the catalog's own vocabulary.

A skill is known by its id (``llm-apis`` reads as "llm apis"), its name and its aliases
(:class:`catalog.schema.Skill`). Text and those names are cut into the same tokens
(lower case, a light plural rule, ``c++``/``ci/cd``/``.net`` kept whole) and matched
longest first, so "machine learning fundamentals" wins over "machine learning".

Two precautions keep precision high on conversation text:

- a name that is also an everyday word ("go", "spark", "react", "helm") counts only when
  the text writes it as a name (capitalised, not opening a sentence, or in capitals) or
  a technical word follows it ("go code", "spark job"); ``ambiguous="topic"`` also accepts
  one a topic word introduces at the end of a phrase ("videos on react", "learn go by May"),
  which is how short lower-case chat messages name things; ``"always"`` drops the
  precaution for short queries, ``"never"`` ignores such names;
- typos are forgiven (``fuzzy=True``) only on words of six letters or more that are not
  common words: one edit (a swap counts as one) up to 9 letters, two from 10.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from bisect import bisect_right
from itertools import accumulate, chain, compress
from typing import Literal

from rapidfuzz.distance import OSA

from catalog.schema import Skill

__all__ = ["Mention", "SkillVocabulary", "tokens", "normalise", "COMMON_WORDS"]

Ambiguity = Literal["cased", "topic", "always", "never"]

# Skill names and aliases that are also everyday English words.
_COMMON = """
go rust spark flask express helm attention regression transactions sampling agents speech shell terminal
streaming charts diffusion fairness containers elastic notebooks dashboard dashboards react angular node
spring azure iceberg prophet whisper copilot rag arrow dash
prompts prompting boosting testing tracing monitoring security accessibility serverless
evals guardrails scraping causality bayes acid excel typing c r
""".split()
# A technical word right after an everyday-word name makes it a name ("spark job", "go code").
_CUE_WORDS = """
language lang programming framework library libraries code developer developers app apps api apis cluster
clusters chart job jobs project projects component components hook hooks query queries pipeline pipelines
dataframe dataframes script scripts module modules package packages server servers sdk tutorial tutorials
course courses certification
""".split()
# ambiguous="topic": a word that introduces a subject, then one that may follow a subject's name.
_TOPIC_BEFORE = frozenset("""
about on with in into learn learning study studying know knows knowing master use using practice practise
teach teaches teaching cover covers covering regarding re for of
""".split())
_TOPIC_AFTER = frozenset("""
and or but please pls plz by before until till in at for under below within with from to next now
too also then first stuff thing things content material materials resource resources skill skills
level lvl video videos article articles course courses tutorial tutorials book books exercise exercises
project projects podcast podcasts quiz quizzes doc docs
""".split())
_TOPIC_END = ",.?!;:)"
# Words too common to be typos of a skill.
_STOP = frozenset("""
about above after again against their there these those would could should which while where being
before below between other others under until since through during because often always never maybe
really thing things think thanks going doing making taking great right might still first second last
week weeks month months today yesterday tomorrow start started later early every people learn learning
recommend recommends recommended recommendation recommendations
""".split())

# Words after which a capital letter is a label, not the C or R language.
_LETTER_HEADS = frozenset("""
plan vitamin grade option type class section part point appendix level row column floor room building block
gate group team model series size hepatitis category tier
""".split())

_MISS = object()
_TOKEN = re.compile(r"[a-z0-9]+|\+\+|#|/|\.(?=[a-z0-9])")
# The lookahead names every token's first character, so the regex engine skips separators without
# trying each branch on them.
_TOKEN_GROUP = re.compile(f"(?=[a-z0-9+#/.])({_TOKEN.pattern})")


def _split(low: str) -> tuple[list[str], list[int]]:
    """The tokens of ``low`` and their character boundaries: token ``k`` is ``low[b[2k]:b[2k + 1]]``.

    One ``re.split`` and a running sum, both in C: a match object per token would cost more
    than the rest of the scan.
    """
    parts = _TOKEN_GROUP.split(low)
    return parts[1::2], list(accumulate(map(len, parts)))


# What stands between two sentences in a per-sentence scan: a "word" str.split() never yields (it holds a
# space) whose one token the token pattern never yields either, so no match, cue or typo pair spans it.
_BREAK = " "


class _WordTokens(dict):
    """A lower-cased whitespace-cut word -> its tokens; filled as words are met (bounded).

    Tokens never span whitespace (the pattern has none, and a "." token looks ahead only at a
    letter or digit), so a text's tokens are its words' tokens in order.
    """

    def __missing__(self, w: str) -> tuple[str, ...]:
        toks = tuple(_TOKEN.findall(w))
        if len(self) < 200_000:  # bounded: texts bring endless new words
            self[w] = toks
        return toks


@dataclass(frozen=True, slots=True)
class Mention:
    """``skill_id`` mentioned at ``text[start:end]``; ``score`` 1.0 for an exact match, less for a typo."""

    skill_id: str
    start: int
    end: int
    text: str
    score: float


@lru_cache(maxsize=65536)
def _stem(tok: str) -> str:
    if len(tok) > 4 and tok.endswith("ies"):
        return tok[:-3] + "y"
    if len(tok) > 3 and tok.endswith("s") and not tok.endswith(("ss", "us", "is", "ys")) and tok.isalpha():
        return tok[:-1]
    return tok


COMMON_WORDS = frozenset(_stem(w) for w in _COMMON)
_CUES = frozenset(_stem(w) for w in _CUE_WORDS)


def tokens(text: str) -> list[tuple[str, int, int]]:
    """``(normalised token, start, end)`` for each token of ``text`` (offsets into ``text``)."""
    return [(_stem(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text.lower())]


def normalise(phrase: str) -> tuple[str, ...]:
    """A phrase as the token tuple the vocabulary is keyed by (``"LLM APIs"`` -> ``("llm", "api")``)."""
    return tuple(t for t, _, _ in tokens(phrase))


class SkillVocabulary:
    """The skills' ids, names and aliases as token sequences, ready to scan text.

    Parameters
    ----------
    skills : the catalog's skills (``Catalog.skills`` or any iterable of :class:`Skill`).
    """

    def __init__(self, skills: Iterable[Skill]) -> None:
        self._forms: dict[tuple[str, ...], str] = {}
        self._names: dict[str, str] = {}
        spellings: dict[tuple[str, ...], str] = {}  # unstemmed, for typos ("postgress" is one edit from "postgres")
        for s in skills:
            self._names[s.skill_id] = s.name
            # precedence on a clash: ids, then names, then aliases (the first skill keeps a form)
            for phrase in (s.skill_id.replace("-", " "), s.name, *s.aliases):
                form = normalise(phrase)
                if form:
                    self._forms.setdefault(form, s.skill_id)
                    raw = tuple(_TOKEN.findall(phrase.lower()))
                    if raw != form:
                        spellings.setdefault(raw, s.skill_id)
        widths: dict[str, set[int]] = {}
        for f in self._forms:
            widths.setdefault(f[0], set()).add(len(f))
        self._widths = {t: sorted(w, reverse=True) for t, w in widths.items()}  # longest first
        # raw spellings whose stem starts a form: the scan skips every other token without stemming it
        self._first = {v for t in self._widths for v in (t, t + "s", t[:-1] + "ies" if t.endswith("y") else t)}
        # raw start token -> the longest form its stem starts (0: its stem starts none, "s" being no plural)
        self._reach = {v: self._widths[st][0] if (st := _stem(v)) in self._widths else 0 for v in self._first}
        # the next ``reach`` raw tokens -> what _exact_form finds there; same answers, one dict lookup
        self._exact_memo: dict[tuple[str, ...], tuple[str, int, bool] | None] = {}
        fuzzy: dict[tuple[str, int], list[tuple[tuple[str, ...], str]]] = {}
        for form, sid in [*self._forms.items(), *spellings.items()]:
            text = " ".join(form)
            if len(text) >= 6 and not (len(form) == 1 and form[0] in COMMON_WORDS) and len(form) <= 2:
                fuzzy.setdefault((text[0], len(form)), []).append((form, sid))
        self._fuzzy = fuzzy
        self._typos: dict[str, tuple[str, float] | None] = {}
        # (word, next word) -> what _fuzzy_at found there; same answers, one dict lookup per long word
        self._fuzzy_memo: dict[tuple[str, str], tuple[str, int, float] | None] = {}
        self._word_tokens = _WordTokens({_BREAK: (_BREAK,)})

    @property
    def skill_ids(self) -> list[str]:
        return list(self._names)

    def name(self, skill_id: str) -> str:
        return self._names[skill_id]

    def __len__(self) -> int:
        return len(self._forms)

    def lookup(self, phrase: str, *, fuzzy: bool = True) -> str | None:
        """The skill a whole phrase names ("K8s", "machine lerning"), else None."""
        form = normalise(phrase)
        if form in self._forms:
            return self._forms[form]
        if fuzzy and 1 <= len(form) <= 2:
            hit = self._typo(" ".join(form), len(form))
            return None if hit is None else hit[0]
        return None

    def find(self, text: str, *, fuzzy: bool = False, ambiguous: Ambiguity = "cased") -> list[Mention]:
        """Every skill mention in ``text``, in order, longest match first, not overlapping."""
        words, spans = _split(text.lower())
        out: list[Mention] = []
        for i, sid, width, score in self._scan(words, fuzzy,
                                               lambda i: self._named(text, spans, words, i, ambiguous)):
            start, end = spans[2 * i], spans[2 * (i + width) - 1]
            out.append(Mention(sid, start, end, text[start:end], score))
        return out

    def find_by_sentence(self, sentences: list[str], lowered: list[list[str]], *,
                         fuzzy: bool = False) -> list[list[str]]:
        """The skill ids each sentence names, in order, as ``find(sentence, fuzzy=fuzzy)`` finds them alone.

        ``lowered`` is each sentence's ``lower().split()`` (the session analysis cuts it once for
        every reader). One scan for all sentences: their tokens are their words' tokens
        (remembered per word, joined in C) with a break between sentences; character offsets are
        computed only where an everyday-word name's case has to be read, in its sentence alone.
        """
        seq: list[str] = []
        for ws in lowered:
            seq.extend(ws)
            seq.append(_BREAK)
        words = list(chain.from_iterable(map(self._word_tokens.__getitem__, seq)))
        starts, j = [0], -1
        for _ in range(len(lowered) - 1):
            j = words.index(_BREAK, j + 1)
            starts.append(j + 1)

        def named(i: int) -> bool:
            k = bisect_right(starts, i) - 1
            sent = sentences[k]
            own, spans = _split(sent.lower())
            return self._named(sent, spans, own, i - starts[k], "cased")

        out: list[list[str]] = [[] for _ in lowered]
        for i, sid, _, _ in self._scan(words, fuzzy, named):
            out[bisect_right(starts, i) - 1].append(sid)
        return out

    def _scan(self, words: list[str], fuzzy: bool, named) -> list[tuple[int, str, int, float]]:
        """``(token, skill, width, score)`` of each match in ``words``; ``named(i)`` says whether the
        everyday-word name at token ``i`` is written as a name."""
        out: list[tuple[int, str, int, float]] = []
        n = len(words)
        first, memo, reach, exact_memo = self._first, self._fuzzy_memo, self._reach, self._exact_memo
        # Only tokens that can start a name (or, for typos, long ones) are looked at; the rest are skipped
        # in one pass, which is what a scan of a long transcript spends most of its time on.
        # (decided once per distinct word, then picked out in C: a transcript repeats most of its words)
        look = {w for w in set(words) if w in first or len(w) >= 6} if fuzzy else first
        candidates = list(compress(range(n), map(look.__contains__, words)))
        free = 0  # tokens before this one are inside an earlier match
        for i in candidates:
            if i < free:
                continue
            w = words[i]
            hit = None
            if w in first:
                key = tuple(words[i:i + reach[w]])
                form = exact_memo.get(key, _MISS)  # type: ignore[arg-type]
                if form is _MISS:
                    form = self._exact_form(words, i)
                    if len(exact_memo) < 200_000:  # bounded: texts bring endless new words
                        exact_memo[key] = form
                if form is not None and (not form[2] or named(i)):
                    hit = form[0], form[1], 1.0
            if hit is None and fuzzy and len(w) >= 6:
                key = (w, words[i + 1] if i + 1 < n else "")
                hit = memo.get(key, _MISS)  # type: ignore[arg-type]
                if hit is _MISS:
                    hit = self._fuzzy_at(words, i)
                    if len(memo) < 200_000:  # bounded: texts bring endless new words
                        memo[key] = hit
            if hit is None:
                continue
            sid, width, score = hit
            out.append((i, sid, width, score))
            free = i + width
        return out

    def skills_in(self, text: str, **kw: object) -> list[str]:
        """Distinct skill ids mentioned in ``text``, in order of first mention."""
        return list(dict.fromkeys(m.skill_id for m in self.find(text, **kw)))  # type: ignore[arg-type]

    # ------------------------------------------------------------ matching
    def _exact_form(self, words: list[str], i: int) -> tuple[str, int, bool] | None:
        """The longest form starting at token ``i``: its skill, its width, and whether it is an everyday word.

        A pure function of the next few tokens (``find`` remembers it); an everyday word
        still has to be written as a name (:meth:`_named`), which reads the text around it.
        """
        first = _stem(words[i])
        for width in self._widths.get(first, ()):
            if i + width > len(words):
                continue
            form = (first, *(_stem(w) for w in words[i + 1:i + width]))
            sid = self._forms.get(form)
            if sid is not None:
                return sid, width, width == 1 and first in COMMON_WORDS
        return None

    @staticmethod
    def _named(text: str, spans: list[int], words: list[str], i: int, ambiguous: Ambiguity) -> bool:
        """Whether an everyday-word name at token ``i`` is written as a name."""
        if ambiguous not in ("cased", "topic"):
            return ambiguous == "always"
        if i + 1 < len(words) and _stem(words[i + 1]) in _CUES:
            return True
        start, end = spans[2 * i], spans[2 * i + 1]
        word = text[start:end]
        if len(word) == 1 and i > 0 and words[i - 1] in _LETTER_HEADS:
            return False  # "plan C", "vitamin C", "grade C"
        if word.isupper():
            return True
        # the last character before the word that is not a space: a short window first, as copying the
        # whole text before it cost more than the rest of a long transcript's scan
        before = text[max(0, start - 64):start].rstrip()
        if not before and start > 64:
            before = text[:start].rstrip()
        opens_sentence = not before or before[-1] in ".!?:\n\"'("
        if word[0].isupper() and not opens_sentence:
            return True
        if ambiguous == "topic" and i > 0 and words[i - 1] in _TOPIC_BEFORE:
            after = text[end:].lstrip()
            return not after or after[0] in _TOPIC_END or (i + 1 < len(words) and words[i + 1] in _TOPIC_AFTER)
        return False

    def _fuzzy_at(self, words: list[str], i: int) -> tuple[str, int, float] | None:
        for width in (2, 1):
            if i + width > len(words):
                continue
            parts = [_stem(w) for w in words[i:i + width]]
            if any(not w.isalpha() or w in _STOP or w in COMMON_WORDS for w in parts):
                continue
            phrase = " ".join(parts)
            if len(phrase) < 6:
                continue
            hit = self._typo(phrase, width)
            raw = " ".join(words[i:i + width])
            if hit is None and raw != phrase:
                hit = self._typo(raw, width)
            if hit is not None:
                return hit[0], width, hit[1]
        return None

    def _typo(self, text: str, width: int) -> tuple[str, float] | None:
        key = f"{width}|{text}"
        if key in self._typos:
            return self._typos[key]
        limit = 1 if len(text) <= 9 else 2
        best: tuple[int, str] | None = None
        for form, sid in self._fuzzy.get((text[0], width), ()):
            cand = " ".join(form)
            if abs(len(cand) - len(text)) > limit:
                continue
            d = OSA.distance(text, cand, score_cutoff=limit)
            if d <= limit and (best is None or d < best[0]):
                best = (d, sid)
        hit = None if best is None or best[0] == 0 else (best[1], round(1.0 - best[0] / max(len(text), 1), 3))
        if len(self._typos) < 100_000:  # bounded: texts bring endless new words
            self._typos[key] = hit
        return hit
