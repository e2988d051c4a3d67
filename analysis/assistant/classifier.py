"""The intent classifier: TF-IDF word and character n-grams -> logistic regression (scikit-learn).

It reads masked messages (``"is there a DURATION TYPE on SKILL ?"``), so a few hundred
training sentences cover every skill of any catalog; character n-grams (within words)
carry it over typos ("wat shoud i do nxt"). It is trained from the shipped utterances
when first needed (well under a second) rather than loaded from a pickle: nothing
executable crosses a file boundary, and the model always matches the code.
Hyper-parameters were chosen by cross-validation on the training set only
(benchmarks/assistant.md, "Tuning").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from analysis.assistant.examples import LABEL_NOW, Example, training_examples
from analysis.assistant.extract import parse
from analysis.assistant.lexicon import Lexicon
from analysis.vocabulary import SkillVocabulary
from catalog.errors import NotReadyError

__all__ = ["IntentClassifier", "default_classifier", "masked_training_texts", "synthetic_vocabulary"]

_PLACEHOLDER = re.compile(r"\b(ITEM|DATE|DURATION|SHORTER|LONGER|LANG|SKILL|LEVEL|EASIER|HARDER|TYPE|NOTTYPE)\b")


def _prepare(text: str) -> str:
    """Lower case, with placeholders as tokens no real word can be (``SKILL`` -> ``_skill_``)."""
    return _PLACEHOLDER.sub(lambda m: f"_{m.group(1).lower()}_", text).lower()


class IntentClassifier:
    """Scikit-learn estimator shape: ``__init__`` stores parameters, ``fit`` returns self.

    Parameters
    ----------
    C : inverse regularisation of the logistic regression.
    char_ngrams : character n-gram range (within word boundaries).
    word_ngrams : word n-gram range.
    """

    def __init__(self, *, C: float = 10.0, char_ngrams: tuple[int, int] = (3, 5),
                 word_ngrams: tuple[int, int] = (1, 2)) -> None:
        self.C = C
        self.char_ngrams = char_ngrams
        self.word_ngrams = word_ngrams

    def get_params(self) -> dict[str, object]:
        return {"C": self.C, "char_ngrams": self.char_ngrams, "word_ngrams": self.word_ngrams}

    def fit(self, masked_texts: Sequence[str], intents: Sequence[str]) -> "IntentClassifier":
        # scikit-learn (~6 s of imports on a loaded machine) loads when a classifier is fitted, so
        # importing the assistant's package (its conversation state, its cards) stays cheap.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        features = FeatureUnion([
            ("words", TfidfVectorizer(ngram_range=self.word_ngrams, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngrams, sublinear_tf=True)),
        ])
        self.pipeline_ = Pipeline([
            ("features", features),
            ("lr", LogisticRegression(C=self.C, max_iter=5000, class_weight="balanced")),
        ])
        self.pipeline_.fit([_prepare(t) for t in masked_texts], list(intents))
        self.classes_: NDArray[np.str_] = self.pipeline_.classes_
        return self

    def predict_proba(self, masked_texts: Sequence[str]) -> NDArray[np.float64]:
        if not hasattr(self, "pipeline_"):
            raise NotReadyError("IntentClassifier: call fit() first")
        return self.pipeline_.predict_proba([_prepare(t) for t in masked_texts])

    def predict(self, masked_text: str) -> tuple[str, float]:
        """The most likely intent of one masked message and its probability."""
        p = self.predict_proba([masked_text])[0]
        k = int(np.argmax(p))
        return str(self.classes_[k]), float(p[k])


@lru_cache(maxsize=1)
def synthetic_vocabulary() -> SkillVocabulary:
    """The synthetic world's skills: the vocabulary the training sentences were written against."""
    from catalog.synth.skills_data import build_skills, skill_specs  # pure: curated tables only

    return SkillVocabulary(build_skills(skill_specs(), np.random.default_rng(0)))


def masked_training_texts(examples: Sequence[Example]) -> list[str]:
    """Training sentences masked as messages are at run time (same parser, synthetic vocabulary)."""
    items = {e.entities.item_id for e in examples if e.entities.item_id}
    items |= {c for e in examples for c in e.prev_cards}
    lexicon = Lexicon.from_items((i, "other") for i in items)
    vocab = synthetic_vocabulary()
    return [parse(e.text, vocabulary=vocab, lexicon=lexicon, today=LABEL_NOW.date()).masked for e in examples]


@lru_cache(maxsize=1)
def default_classifier() -> IntentClassifier:
    """The classifier trained on the shipped utterances (follow-ups excluded: their intent is the context's)."""
    examples = [e for e in training_examples() if not e.is_follow_up]
    return IntentClassifier().fit(masked_training_texts(examples), [e.intent for e in examples])
