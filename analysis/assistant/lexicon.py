"""The words the assistant knows besides skill names: resource types, languages, item ids.

Types and languages are fixed word lists (the catalog's :data:`RESOURCE_TYPES`, ISO 639-1
codes); item ids and their types come from the catalog (:meth:`Lexicon.from_catalog`),
so "why r04024?" is a reference only when ``r04024`` exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import OSA

from catalog.catalog import Catalog

__all__ = ["Lexicon", "TYPE_WORDS", "LANGUAGES", "STOPWORDS", "Found", "find_types", "find_languages"]

# phrase -> resource type; plurals are listed, not derived ("quizzes", "classes").
TYPE_WORDS: dict[str, str] = {
    **{w: "article" for w in ("article", "articles", "blog post", "blog posts", "blog", "blogs", "write-up",
                              "write-ups", "writeup", "writeups")},
    **{w: "video" for w in ("video", "videos", "vid", "vids", "clip", "clips", "screencast", "screencasts",
                            "webinar", "webinars", "watch")},
    **{w: "course" for w in ("course", "courses", "mooc", "moocs", "bootcamp", "bootcamps")},
    **{w: "exercise" for w in ("exercise", "exercises", "practice problem", "practice problems", "kata", "katas",
                               "drill", "drills", "coding challenge", "coding challenges")},
    **{w: "project" for w in ("project", "projects")},
    **{w: "book" for w in ("book", "books", "ebook", "ebooks", "e-book", "e-books", "textbook", "textbooks")},
    **{w: "tutorial" for w in ("tutorial", "tutorials", "walkthrough", "walkthroughs", "how-to", "how-tos",
                               "guides")},
    **{w: "podcast" for w in ("podcast", "podcasts", "episode", "episodes", "listen", "listen to")},
    **{w: "quiz" for w in ("quiz", "quizzes", "quizz")},
    **{w: "documentation" for w in ("documentation", "docs", "doc", "reference docs", "manual", "manuals",
                                    "api reference")},
    **{w: "forum" for w in ("forum", "forums", "thread", "threads", "discussion", "discussions", "q&a")},
}
# Long enough to forgive one typo ("turorial", "vidoes", "artcle"); shorter words must be exact.
_FUZZY_TYPE_WORDS = {w: t for w, t in TYPE_WORDS.items() if " " not in w and len(w) >= 6 and w != "listen"}

# Words that say nothing about *what* to find: English function words (as bm25s' English list),
# request words ("find", "show me") and the assistant's own vocabulary ("mentor", "plan").
STOPWORDS = frozenset("""
a about above after again against ain all am an and any are aren as at be because been before being below between
both but by can couldn d did didn do does doesn doing don down during each few for from further had hadn has hasn
have haven having he her here hers herself him himself his how i if in into is isn it its itself just ll m ma me
mightn more most mustn my myself needn no nor not now o of off on once only or other our ours ourselves out over
own re s same shan she should shouldn so some such t than that the their theirs them themselves then there these
they this those through to too under until up ve very was wasn we were weren what when where which while who whom
why will with won wouldn y you your yours yourself yourselves
could would wanna want need needs like love please pls plz find show search look looking lookup give list anything
something stuff thing things good best great nice resource resources content material materials link links learn
learning study studying recommend recommendation suggest suggestion tell available also ones one get got ok okay
hi hey hello thanks thank lol
""".split())

LANGUAGES: dict[str, str] = {
    "english": "en", "spanish": "es", "español": "es", "espanol": "es", "portuguese": "pt", "german": "de",
    "deutsch": "de", "french": "fr", "français": "fr", "francais": "fr", "hindi": "hi", "italian": "it",
    "dutch": "nl", "polish": "pl", "japanese": "ja", "chinese": "zh", "korean": "ko", "russian": "ru",
    "arabic": "ar", "turkish": "tr",
}

_TYPE_RE = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(w) for w in sorted(TYPE_WORDS, key=len, reverse=True)) + r")(?![\w-])",
    re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z][a-z-]{5,}", re.IGNORECASE)
# "that isn't a video", "no videos", "anything but books": the types *not* wanted.
_NEGATION = re.compile(r"(?:\b(?:no|not|without|except|excluding|but not|anything but|other than|"
                       r"isn'?t|aren'?t|non)\s*-?\s*(?:an?\s+|any\s+)?)$", re.IGNORECASE)
_LANG_RE = re.compile(
    r"\b(?:in|speaks?|speaking|en)\s+(" + "|".join(LANGUAGES) + r")\b|\b(" + "|".join(LANGUAGES) +
    r")[- ](?:speaking|speakers?|content|resources|material|videos|courses|ones)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Found:
    """A value found at ``text[start:end]``; ``negated`` for a type the message excludes."""

    value: str
    start: int
    end: int
    negated: bool = False


@lru_cache(maxsize=4096)
def _fuzzy_type(word: str) -> str | None:
    w = word.lower()
    best = None
    for cand, t in _FUZZY_TYPE_WORDS.items():
        if abs(len(cand) - len(w)) <= 1 and cand[0] == w[0] and OSA.distance(w, cand, score_cutoff=1) <= 1:
            if cand == w:
                return t
            best = best or t
    return best


def find_types(text: str, *, fuzzy: bool = True) -> list[Found]:
    """Resource types named in ``text`` (exact phrases, then one-typo words), in order."""
    out = []
    for m in _TYPE_RE.finditer(text):
        neg = bool(_NEGATION.search(text[max(0, m.start() - 24):m.start()]))
        out.append(Found(TYPE_WORDS[m.group(1).lower()], m.start(), m.end(), neg))
    if fuzzy:
        taken = [(f.start, f.end) for f in out]
        for m in _WORD_RE.finditer(text):
            if m.group().lower() in TYPE_WORDS or any(s < m.end() and m.start() < e for s, e in taken):
                continue
            t = _fuzzy_type(m.group())
            if t is not None:
                neg = bool(_NEGATION.search(text[max(0, m.start() - 24):m.start()]))
                out.append(Found(t, m.start(), m.end(), neg))
        out.sort(key=lambda f: f.start)
    return out


def find_languages(text: str) -> list[Found]:
    """Languages asked for ("in Spanish", "French-speaking"), as ISO 639-1 codes."""
    out = []
    for m in _LANG_RE.finditer(text):
        name = (m.group(1) or m.group(2)).lower()
        out.append(Found(LANGUAGES[name], m.start(), m.end()))
    return out


@dataclass(frozen=True)
class Lexicon:
    """Catalog facts the parser needs: which item ids exist and their types.

    Build it once per catalog with :meth:`from_catalog`; it is read-only afterwards.
    """

    item_types: Mapping[str, str] = field(default_factory=dict)
    languages: frozenset[str] = frozenset()
    _lower: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_items(cls, items: Iterable[tuple[str, str]], languages: Iterable[str] = ()) -> "Lexicon":
        """From ``(item_id, type)`` pairs (tests and evaluation use a handful)."""
        types = dict(items)
        return cls(types, frozenset(languages), {k.lower(): k for k in types})

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> "Lexicon":
        return cls.from_items(((r.item_id, r.type) for r in catalog.resources),
                              (r.language for r in catalog.resources))

    def item_id(self, token: str) -> str | None:
        """The catalog id ``token`` spells (case-insensitively), else None."""
        if token in self.item_types:
            return token
        return self._lower.get(token.lower())

    def item_type(self, item_id: str) -> str | None:
        return self.item_types.get(item_id)

    def __len__(self) -> int:
        return len(self.item_types)

