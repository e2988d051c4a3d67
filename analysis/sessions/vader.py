"""VADER sentiment, the same scores as ``vaderSentiment`` 3.3.2, computed in one pass per text.

``vaderSentiment.SentimentIntensityAnalyzer.polarity_scores`` walks a text character by
character for emojis and rebuilds the lower-cased word list for every sentiment word
(quadratic in the text's length); most of a conversation's words carry no sentiment at
all. :class:`Vader` applies the same rules with the same lexicon and constants (taken
from the package itself), lower-cases once, looks at context only around lexicon words,
and skips texts without any: ``polarity_scores`` returns the package's dict, value for
value (tests compare them on every labelled and synthetic text).
"""

from __future__ import annotations

import math
import string
from functools import cached_property

from vaderSentiment import vaderSentiment as _v

__all__ = ["Vader"]

_NEGATE = frozenset(_v.NEGATE)
_BOOST = _v.BOOSTER_DICT
_SPECIAL = _v.SPECIAL_CASES
_PUNCT = string.punctuation
_C_INCR, _N_SCALAR = _v.C_INCR, _v.N_SCALAR


class _Forms(dict):
    """``w`` -> ``w.strip(punctuation)``, or ``w`` itself when 2 characters or fewer would remain; filled as
    words are met (bounded: texts bring endless new words), so a text's words map in one ``map`` call."""

    def __missing__(self, w: str) -> str:
        form = w if len(s := w.strip(_PUNCT)) <= 2 else s
        if len(self) < 200_000:
            self[w] = form
        return form


def _negated(word: str) -> bool:
    return word in _NEGATE or "n't" in word


class Vader:
    """VADER's ``polarity_scores`` and ``compound`` for one text (a sentence or a turn)."""

    @cached_property
    def _lexicon(self) -> dict[str, float]:
        return self._analyzer.lexicon

    @cached_property
    def _analyzer(self) -> _v.SentimentIntensityAnalyzer:
        return _v.SentimentIntensityAnalyzer()

    @cached_property
    def _misses(self) -> set[str]:
        """Lower-cased ASCII words (as ``str.split`` cuts them) whose VADER form is not in the lexicon."""
        return set()

    @cached_property
    def _forms(self) -> _Forms:
        """Lower-cased word -> VADER's form of it (punctuation stripped unless 2 characters or fewer remain)."""
        return _Forms()

    @cached_property
    def _emoji(self) -> frozenset[str]:
        return frozenset(k for k in self._analyzer.emojis if len(k) == 1)  # the package compares one character

    def compound(self, text: str) -> float:
        """The normalised sum in [-1, 1], rounded to 4 places as VADER does."""
        return _compound(self._valences(text))

    def compounds(self, texts: list[str], lowered: list[list[str]] | None = None) -> list[float]:
        """:meth:`compound` of each text; a text of words already known to miss the lexicon costs one set test.

        Whether a word hits the lexicon depends on the word alone (VADER strips its punctuation
        and lower-cases it), so the lower-cased words seen to miss are remembered (bounded) and a
        sentence made only of them scores 0 without stripping each word again. ``lowered``, if
        given, is each text's ``lower().split()``, already computed.
        """
        lex, out, misses, form = self._lexicon.keys(), [], self._misses, self._forms.__getitem__
        for k, text in enumerate(texts):
            if text.isascii():
                raw = lowered[k] if lowered is not None else text.lower().split()
                if misses.issuperset(raw):
                    out.append(0.0)
                    continue
                lows = list(map(form, raw))  # a dict lookup per word, in C, instead of a strip
                if lex.isdisjoint(lows):
                    out.append(0.0)
                    if len(misses) < 200_000:  # bounded: texts bring endless new words
                        misses.update(raw)
                else:
                    out.append(_compound(self._valences(text, lows)))
            else:
                out.append(self.compound(text))
        return out

    def polarity_scores(self, text: str) -> dict[str, float]:
        """``{"neg", "neu", "pos", "compound"}`` exactly as ``vaderSentiment`` returns them."""
        found = self._valences(text)
        if found is None:
            return {"neg": 0.0, "neu": 0.0 if not text.split() else 1.0, "pos": 0.0, "compound": 0.0}
        return _scores(*found)

    def _valences(self, text: str, lows: list[str] | None = None) -> tuple[list[float], int, str] | None:
        """The non-zero valences after every rule, the count of neutral words, and the text as scored.

        None when no word is in the lexicon (every valence is zero). ``lows``, for an ASCII
        text, are its lower-cased words as VADER strips them, already computed.
        """
        if not text.isascii() and not self._emoji.isdisjoint(text):
            text = self._replace_emojis(text)
        text = text.strip()
        if text.isascii():
            # lower() then strip() is strip() then lower() here, and stripping punctuation removes no
            # cased letter, so the raw words' isupper() is the stripped words' (all VADER asks of them)
            if lows is None:
                lows = [w if len(s := w.strip(_PUNCT)) <= 2 else s for w in text.lower().split()]
            words = text.split()
        else:
            words = [w if len(s := w.strip(_PUNCT)) <= 2 else s for w in text.split()]
            lows = [w.lower() for w in words]
        lex = self._lexicon
        hits = [i for i, w in enumerate(lows) if w in lex]
        if not hits:  # most sentences of a conversation
            return None
        n = len(words)
        caps = sum(map(str.isupper, words))
        cap_diff = 0 < n - caps < n
        vals: list[float] = []
        where: list[int] = []
        # "n't" anywhere in the text sends every word down the full rules (a negation is any word holding it)
        plain_ok = "n't" not in text.lower()
        for i in hits:
            low = lows[i]
            if low in _BOOST or (low == "kind" and i < n - 1 and lows[i + 1] == "of"):
                continue
            if plain_ok and low != "no" and _CONTEXT.isdisjoint(lows[i - 3 if i > 3 else 0:i]) \
                    and _IDIOM_WORDS.isdisjoint(lows[i:i + 3]) and not (cap_diff and words[i].isupper()):
                v = lex[low]  # no rule reaches it: what _valence returns (it adds only 0.0 to it here)
            else:
                v = self._valence(words, lows, i, cap_diff)
            if v != 0:
                vals.append(v)
                where.append(i)
        if "but" in lows:
            _but(vals, where, lows.index("but"))
        return vals, n - len(vals), text

    def _replace_emojis(self, text: str) -> str:
        """The package's loop: each emoji becomes its description, a space before it if none."""
        emojis = self._analyzer.emojis
        out: list[str] = []
        prev_space = True
        for ch in text:
            if ch in emojis:
                if not prev_space:
                    out.append(" ")
                out.append(emojis[ch])
                prev_space = False
            else:
                out.append(ch)
                prev_space = ch == " "
        return "".join(out)

    def _valence(self, words: list[str], lows: list[str], i: int, cap_diff: bool) -> float:
        lex = self._lexicon
        low = lows[i]
        n = len(lows)
        valence = lex[low]
        if low == "no" and i != n - 1 and lows[i + 1] in lex:
            valence = 0.0
        if (i > 0 and lows[i - 1] == "no") or (i > 1 and lows[i - 2] == "no") \
                or (i > 2 and lows[i - 3] == "no" and lows[i - 1] in ("or", "nor")):
            valence = lex[low] * _N_SCALAR
        if cap_diff and words[i].isupper():
            valence = valence + _C_INCR if valence > 0 else valence - _C_INCR
        for start_i in range(3):
            j = i - (start_i + 1)
            if i > start_i and lows[j] not in lex:
                s = _scalar(words[j], lows[j], valence, cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation(valence, lows, start_i, i)
                if start_i == 2:
                    valence = _idioms(valence, lows, i)
        # "least" right before the word negates it, unless "at least" / "very least"
        if i > 1 and lows[i - 1] not in lex and lows[i - 1] == "least":
            if lows[i - 2] != "at" and lows[i - 2] != "very":
                valence = valence * _N_SCALAR
        elif i > 0 and lows[i - 1] not in lex and lows[i - 1] == "least":
            valence = valence * _N_SCALAR
        return valence


def _scalar(word: str, low: str, valence: float, cap_diff: bool) -> float:
    scalar = 0.0
    if low in _BOOST:
        scalar = _BOOST[low]
        if valence < 0:
            scalar *= -1
        if word.isupper() and cap_diff:
            scalar = scalar + _C_INCR if valence > 0 else scalar - _C_INCR
    return scalar


def _negation(valence: float, lows: list[str], start_i: int, i: int) -> float:
    if start_i == 0:
        if _negated(lows[i - 1]):
            valence = valence * _N_SCALAR
    elif start_i == 1:
        if lows[i - 2] == "never" and lows[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lows[i - 2] == "without" and lows[i - 1] == "doubt":
            pass
        elif _negated(lows[i - 2]):
            valence = valence * _N_SCALAR
    else:
        if (lows[i - 3] == "never" and lows[i - 2] in ("so", "this")) or lows[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lows[i - 3] == "without" and (lows[i - 2] == "doubt" or lows[i - 1] == "doubt"):
            pass
        elif _negated(lows[i - 3]):
            valence = valence * _N_SCALAR
    return valence


# Every word of a multi-word special case or booster: _idioms can change nothing around words outside it.
_IDIOM_WORDS = frozenset(w for key in (*_SPECIAL, *(k for k in _BOOST if " " in k)) for w in key.split())


# Every word that can change a lexicon word's valence from up to three words before it (boosters, negations,
# "no", "least", "never so/this", "without doubt", idioms): a word with none of them before it (and no idiom
# word at or just after it, no "n't" in the text, no emphasis by capitals) keeps its lexicon valence.
_CONTEXT = frozenset({*(k for k in _BOOST if " " not in k), *_NEGATE, "no", "least", "never", "without", "doubt",
                      "so", "this", "or", "nor", *_IDIOM_WORDS})


def _idioms(valence: float, lows: list[str], i: int) -> float:
    w3, w2, w1, w0 = lows[i - 3], lows[i - 2], lows[i - 1], lows[i]
    nxt = lows[i + 1:i + 3]
    if _IDIOM_WORDS.isdisjoint((w3, w2, w1, w0, *nxt)):
        return valence
    for seq in (f"{w1} {w0}", f"{w2} {w1} {w0}", f"{w2} {w1}", f"{w3} {w2} {w1}", f"{w3} {w2}"):
        if seq in _SPECIAL:
            valence = _SPECIAL[seq]
            break
    n = len(lows)
    if n - 1 > i and (seq := f"{w0} {lows[i + 1]}") in _SPECIAL:
        valence = _SPECIAL[seq]
    if n - 1 > i + 1 and (seq := f"{w0} {lows[i + 1]} {lows[i + 2]}") in _SPECIAL:
        valence = _SPECIAL[seq]
    for gram in (f"{w3} {w2} {w1}", f"{w3} {w2}", f"{w2} {w1}"):
        if gram in _BOOST:
            valence = valence + _BOOST[gram]
    return valence


def _but(vals: list[float], where: list[int], bi: int) -> None:
    """The package's "but" rule, quirks included, on the non-zero valences only.

    It scales the *first* valence equal to each one met (``list.index``), halving before
    "but" and adding half after; zeros are unchanged by it, so skipping them is exact.
    """
    for k in range(len(vals)):
        q = vals.index(vals[k])
        if where[q] < bi:
            vals[q] = vals[k] * 0.5
        elif where[q] > bi:
            vals[q] = vals[k] * 1.5


def _compound(found: tuple[list[float], int, str] | None) -> float:
    if found is None:
        return 0.0
    vals, _, text = found
    sum_s = float(sum(vals))
    if sum_s:
        punct = _punctuation(text)
        sum_s = sum_s + punct if sum_s > 0 else sum_s - punct
    return round(_v.normalize(sum_s), 4)


def _punctuation(text: str) -> float:
    """Emphasis from "!" (up to 4) and "?" (2 or more), as the package adds it."""
    ep = min(text.count("!"), 4) * 0.292
    qm = text.count("?")
    return ep + ((qm * 0.18 if qm <= 3 else 0.96) if qm > 1 else 0)


def _scores(vals: list[float], n_neutral: int, text: str) -> dict[str, float]:
    punct = _punctuation(text)
    sum_s = float(sum(vals))
    if sum_s > 0:
        sum_s += punct
    elif sum_s < 0:
        sum_s -= punct
    compound = _v.normalize(sum_s)
    pos_sum = neg_sum = 0.0
    for s in vals:
        if s > 0:
            pos_sum += float(s) + 1
        elif s < 0:
            neg_sum += float(s) - 1
    if pos_sum > math.fabs(neg_sum):
        pos_sum += punct
    elif pos_sum < math.fabs(neg_sum):
        neg_sum -= punct
    total = pos_sum + math.fabs(neg_sum) + n_neutral
    return {"neg": round(math.fabs(neg_sum / total), 3), "neu": round(math.fabs(n_neutral / total), 3),
            "pos": round(math.fabs(pos_sum / total), 3), "compound": round(compound, 4)}
