"""Seeded random mentees, needs and mentors for the matching tests (not a test module)."""

from __future__ import annotations

import numpy as np

from catalog.schema import Goal, Mentee, Mentor, SkillLevel
from recommender.matching import Need

# Names that are never substrings of one another, so reasons can be parsed back.
NAMES = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliett",
         "Kilo", "Lima"]
SKILLS = [f"s{i}" for i in range(len(NAMES))]
SKILL_NAMES = dict(zip(SKILLS, NAMES))
ID_OF_NAME = dict(zip(NAMES, SKILLS))
_LANGS = ["en", "de", "", "en-US", "pt"]
_TZS = [None, -5, 0, 1, 8, 12, -11]
_PREFS = ["video", "article", "project", "chat", "exercise", "unknown-type"]
_FORMATS = ["video-call", "chat", "code-review", "pair-programming", "group-session"]


def _pick(rng: np.random.Generator, pool: list, lo: int, hi: int) -> list:
    n = int(rng.integers(lo, hi + 1))
    return [pool[i] for i in sorted(rng.choice(len(pool), size=min(n, len(pool)), replace=False))]


def random_people(seed: int, n_mentees: int, n_mentors: int):
    """(needs per mentee, mentees, mentors, loads) with every optional field exercised."""
    rng = np.random.default_rng(seed)
    mentees, needs = [], []
    for u in range(n_mentees):
        goals = tuple(Goal(s, int(rng.integers(1, 6))) for s in _pick(rng, SKILLS, 0, 3))
        mentees.append(Mentee(f"u{u:03d}", goals, (), tuple(_pick(rng, _PREFS, 0, 3)), None,
                              str(rng.choice(_LANGS)), _TZS[int(rng.integers(len(_TZS)))]))
        order = rng.permutation(len(SKILLS))[: int(rng.integers(0, 7))]
        needs.append([Need(SKILLS[j], int(rng.integers(1, 6)), float(rng.uniform(0.05, 1.0))) for j in order])
    mentors = []
    for m in range(n_mentors):
        skills = tuple(SkillLevel(s, int(rng.integers(1, 6))) for s in _pick(rng, SKILLS, 0, 5))
        mentors.append(Mentor(f"m{m:03d}", f"Mentor {m}", skills, capacity=int(rng.integers(0, 4)),
                              language=str(rng.choice(_LANGS)), timezone=_TZS[int(rng.integers(len(_TZS)))],
                              formats=tuple(_pick(rng, _FORMATS, 0, 3))))
    loads = rng.integers(0, 4, size=n_mentors)
    return needs, mentees, mentors, loads
