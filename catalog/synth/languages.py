"""The languages of the synthetic world, one table for content and people.

Content and people draw their languages from the same table, so the two agree: most
content is English (the lingua franca of technical material, read by every simulated
mentee), the other languages have a smaller share of content than of people, and
translated or local content leans toward beginner levels. Mentees and mentors only
speak languages the catalog has content in.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Language", "LANGUAGES", "content_language_p", "draw_people_languages"]


@dataclass(frozen=True)
class Language:
    """Share of content and of people, and the UTC offsets (with weights) its speakers live in."""

    content: float
    people: float
    utc_offsets: tuple[int, ...]
    offset_weights: tuple[float, ...]


LANGUAGES: dict[str, Language] = {
    "en": Language(0.84, 0.74, (-8, -7, -6, -5, 0, 1, 5, 8, 10),
                   (0.15, 0.05, 0.08, 0.2, 0.15, 0.1, 0.12, 0.08, 0.07)),
    "es": Language(0.05, 0.09, (-6, -5, -3, 1), (0.35, 0.2, 0.25, 0.2)),
    "pt": Language(0.04, 0.07, (-3, 0), (0.8, 0.2)),
    "de": Language(0.025, 0.04, (1,), (1.0,)),
    "fr": Language(0.025, 0.04, (1,), (1.0,)),
    "hi": Language(0.02, 0.02, (5,), (1.0,)),
}
# How much more (or less) often an item at level 1..5 is in a language other than English.
_LOCAL_BY_LEVEL = np.array([1.4, 1.2, 0.9, 0.6, 0.4])


def content_language_p(level: int) -> tuple[list[str], NDArray[np.float64]]:
    """Languages and their probabilities for an item at ``level`` (1-5)."""
    codes = list(LANGUAGES)
    w = np.array([LANGUAGES[c].content * (1.0 if c == "en" else _LOCAL_BY_LEVEL[level - 1]) for c in codes])
    return codes, w / w.sum()


def draw_people_languages(rng: np.random.Generator, n: int,
                          available: Collection[str]) -> tuple[list[str], list[int]]:
    """``n`` (language, UTC offset) pairs, languages restricted to ``available`` (the catalog's).

    One draw per person for the language and one for the offset, whatever ``available``
    holds, so the rest of the stream does not shift with it.
    """
    codes = [c for c in LANGUAGES if c in available] or ["en"]
    p = np.array([LANGUAGES[c].people for c in codes])
    chosen = rng.choice(len(codes), size=n, p=p / p.sum())
    tzs = [int(rng.choice(LANGUAGES[codes[c]].utc_offsets, p=LANGUAGES[codes[c]].offset_weights)) for c in chosen]
    return [codes[c] for c in chosen], tzs
