"""Fixtures for the assistant: the synthetic world's vocabulary and a tiny catalog, a fixed ``now``."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from analysis.assistant import ConversationState, Lexicon, Understanding, understand
from analysis.assistant.classifier import synthetic_vocabulary
from analysis.vocabulary import SkillVocabulary
from catalog.catalog import Catalog

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)  # a Sunday
# Item ids of the synthetic catalog (seed 7) with their types, enough for references.
ITEMS = {"r04003": "course", "r04010": "article", "r04011": "video", "r04019": "video", "r04020": "exercise",
         "r04024": "course", "r04028": "video", "r00010": "article"}


@pytest.fixture(scope="session")
def vocab() -> SkillVocabulary:
    return synthetic_vocabulary()


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return Lexicon.from_items(ITEMS.items(), ["en", "es"])


@pytest.fixture(scope="session")
def ask(vocab: SkillVocabulary, lexicon: Lexicon):
    """``ask(message, state=None) -> Understanding`` against the synthetic vocabulary at ``NOW``."""
    def _ask(message: str, state: ConversationState | None = None) -> Understanding:
        return understand(message, state=state, vocabulary=vocab, lexicon=lexicon, now=NOW)
    return _ask


@pytest.fixture
def tiny_lexicon(tiny_catalog: Catalog) -> Lexicon:
    return Lexicon.from_catalog(tiny_catalog)
