"""Synthetic mentees and mentors, and each mentee's hidden starting mastery.

Mentees come from personas (student, backend developer, data analyst, ML engineer...)
with domain affinities: what they already know, what they want to learn, how much time
they have. True mastery is drawn around the level each mentee really has; the
``self_levels`` they report are a noisy, somewhat over-confident view of it. Languages
come from the table content is drawn from (``catalog/synth/languages.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.schema import Goal, Mentee, Mentor, SkillLevel
from catalog.synth.languages import draw_people_languages

__all__ = ["Persona", "PERSONAS", "PeopleTruth", "make_mentees", "make_mentors"]


@dataclass(frozen=True)
class Persona:
    """A kind of mentee: how common, what they know (domain affinity 0-1), what they want."""

    weight: float
    affinity: dict[str, float]
    goals: dict[str, float]


PERSONAS: dict[str, Persona] = {
    "student": Persona(
        0.15, {"cs": 0.9, "languages": 0.6, "statistics": 0.4, "web": 0.3, "analytics": 0.2},
        {"languages": 2, "web": 2, "ml": 2, "cs": 1, "llm": 1}),
    "frontend-dev": Persona(
        0.10, {"cs": 0.5, "languages": 0.8, "web": 1.0, "cloud": 0.3},
        {"web": 3, "cloud": 1, "llm": 2}),
    "backend-dev": Persona(
        0.15, {"cs": 0.7, "languages": 1.0, "web": 0.7, "databases": 0.8, "cloud": 0.6},
        {"cloud": 2, "llm": 3, "data-engineering": 1, "databases": 1}),
    "devops": Persona(
        0.07, {"cs": 0.6, "languages": 0.5, "cloud": 1.0, "databases": 0.4},
        {"cloud": 3, "mlops": 2, "llm": 1}),
    "data-analyst": Persona(
        0.13, {"cs": 0.3, "databases": 0.6, "analytics": 1.0, "statistics": 0.7, "languages": 0.4},
        {"analytics": 2, "statistics": 2, "ml": 2, "data-engineering": 1}),
    "data-engineer": Persona(
        0.10, {"cs": 0.6, "databases": 0.9, "data-engineering": 1.0, "languages": 0.8, "cloud": 0.6,
               "analytics": 0.4},
        {"data-engineering": 3, "cloud": 1, "mlops": 1, "llm": 1}),
    "data-scientist": Persona(
        0.12, {"cs": 0.6, "statistics": 0.9, "analytics": 0.9, "ml": 0.8, "languages": 0.7, "databases": 0.5,
               "deep-learning": 0.3},
        {"ml": 2, "deep-learning": 2, "llm": 3, "mlops": 1}),
    "ml-engineer": Persona(
        0.08, {"cs": 0.8, "statistics": 0.6, "ml": 0.9, "deep-learning": 0.8, "languages": 0.9, "cloud": 0.5,
               "mlops": 0.6, "llm": 0.4, "analytics": 0.5},
        {"llm": 3, "mlops": 2, "deep-learning": 1}),
    "career-switcher": Persona(
        0.10, {"languages": 0.2, "analytics": 0.3, "cs": 0.2, "web": 0.2},
        {"languages": 2, "analytics": 2, "web": 1, "llm": 1, "ml": 1}),
}
_MENTOR_PERSONAS = ["backend-dev", "frontend-dev", "devops", "data-engineer", "data-scientist", "ml-engineer"]
_PREF_TYPES = (["video", "article", "course", "tutorial", "project", "exercise", "book", "podcast", "quiz"],
               [0.27, 0.23, 0.15, 0.12, 0.06, 0.06, 0.03, 0.05, 0.03])
_LOCAL_HOURS = [7, 8, 12, 13, 18, 19, 20, 21, 22]
_FORMATS = ["video-call", "chat", "code-review", "pair-programming", "group-session"]
_FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Guido",
          "Radia", "Tim", "Katherine", "Yann", "Fei-Fei", "Andrew", "Hedy", "Donald", "Sophie", "John",
          "Mary", "Edsger", "Shafi", "Leslie", "Anita", "Bjarne", "Jean", "Vint", "Adele", "Ivan"]
_LAST = ["Okafor", "Lindqvist", "Tanaka", "Moreau", "Silva", "Novak", "Haddad", "Kowalski", "Nguyen",
         "Fischer", "Rossi", "Mensah", "Ivanova", "Garcia", "Patel", "Chen", "O'Brien", "Kim", "Dubois",
         "Costa", "Schmidt", "Yilmaz", "Andersen", "Mwangi", "Sato", "Jansen", "Kaur", "Reyes"]


@dataclass(frozen=True)
class PeopleTruth:
    """Hidden per-mentee facts the simulation needs (rows aligned with the mentee list)."""

    mastery: NDArray[np.float64]      # (n_mentees, n_skills) true mastery at the start
    target: NDArray[np.float64]       # (n_mentees, n_skills) mastery wanted (goals + what they need)
    persona: NDArray[np.int64]
    motivation: NDArray[np.float64]   # 0-1, scales how often they come back
    hour_utc: NDArray[np.int64]       # usual session hour, UTC


def _content_languages(cat: Catalog) -> set[str]:
    """People speak only languages the catalog has content in (so every mentee has some)."""
    return {r.language for r in cat.resources}


def _gumbel_top(rng: np.random.Generator, log_w: NDArray[np.float64], k: int) -> NDArray[np.int64]:
    """Per row, ``k`` distinct columns sampled without replacement with weights ``exp(log_w)``."""
    keys = log_w + rng.gumbel(size=log_w.shape)
    return np.argsort(-keys, axis=1)[:, :k]


def _affinity(cat: Catalog, persona: NDArray[np.int64], *, goals: bool = False) -> NDArray[np.float64]:
    """Per mentee and skill: the persona's affinity (or goal weight) for the skill's domain."""
    domains = [cat.skills[s].domain for s in cat.skill_ids]
    table = np.array([[(PERSONAS[p].goals.get(d, 0.0) if goals else PERSONAS[p].affinity.get(d, 0.03))
                       for d in domains] for p in PERSONAS])
    return table[persona]


def make_mentees(cat: Catalog, popularity: NDArray[np.float64], *, n: int, start, days: int,
                 rng: np.random.Generator) -> tuple[list[Mentee], PeopleTruth]:
    """Generate ``n`` mentees (ids ``u00001...``) and their hidden truth, in catalog skill order."""
    S = cat.n_skills
    depth_d = cat.graph.depth()
    depth = np.array([depth_d[s] for s in cat.skill_ids], dtype=np.float64)
    pw = np.array([PERSONAS[p].weight for p in PERSONAS])
    persona = rng.choice(len(PERSONAS), size=n, p=pw / pw.sum())
    names = list(PERSONAS)
    exper = rng.beta(2.0, 2.5, size=n) * np.where(persona == names.index("student"), 0.6, 1.0) \
        * np.where(persona == names.index("career-switcher"), 0.4, 1.0)
    aff = _affinity(cat, persona)
    p_known = np.clip(aff * 0.85**depth * (0.4 + exper[:, None]), 0, 0.95)
    known = rng.random((n, S)) < p_known
    p_lvl = np.clip(aff * exper[:, None] * 0.9**depth + 0.1, 0.0, 0.95)
    level = np.where(known, 1 + rng.binomial(4, p_lvl), 0)
    # Nobody knows a skill much better than its prerequisites: cap at min(prereq) + 1.
    for sid in cat.skill_ids:
        pre = cat.graph.prereqs[sid]
        if pre:
            j = cat.skill_ids.index(sid)
            cap = np.min(level[:, [cat.skill_ids.index(p.skill_id) for p in pre]], axis=1) + 1
            level[:, j] = np.minimum(level[:, j], cap)
    mastery = np.where(level > 0, np.clip(level / 5 - 0.08 + rng.normal(0, 0.08, (n, S)), 0.02, 1.0),
                       0.06 * rng.random((n, S)) ** 2)

    # Goals: 1-3 skills from the persona's goal domains, favouring popular, deeper skills.
    n_goals = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
    gaff = _affinity(cat, persona, goals=True)
    with np.errstate(divide="ignore"):
        log_w = np.log(gaff * popularity[None, :] * np.sqrt(1 + depth)[None, :] * (level < 4))
    goal_idx = _gumbel_top(rng, log_w, 3)
    target_pick = rng.choice([3, 4, 5], size=(n, 3), p=[0.35, 0.45, 0.2])
    has_deadline = rng.random((n, 3)) < 0.35
    deadline_days = rng.integers(45, days + 240, size=(n, 3))
    n_pref = rng.choice([1, 2, 3], size=n, p=[0.3, 0.45, 0.25])
    minutes = np.clip(15 * np.round(np.exp(rng.normal(np.log(180), 0.6, n)) / 15), 30, 1200).astype(int)
    langs, tzs = draw_people_languages(rng, n, _content_languages(cat))
    local_hour = rng.choice(_LOCAL_HOURS, size=n)
    reported = np.clip(level + rng.choice([-1, 0, 1], size=(n, S), p=[0.08, 0.72, 0.2]), 1, 5).tolist()

    target = np.zeros((n, S))
    width = max(5, len(str(n)))
    skill_list = cat.skill_ids.to_list()
    mentees: list[Mentee] = []
    for u in range(n):
        goals = []
        for k in range(int(n_goals[u])):
            j = int(goal_idx[u, k])
            if not np.isfinite(log_w[u, j]):
                break
            lvl = int(min(5, max(level[u, j] + 1, target_pick[u, k])))
            dl = (start + timedelta(days=int(deadline_days[u, k]))).date() if has_deadline[u, k] else None
            goals.append(Goal(skill_list[j], lvl, dl))
            target[u, j] = max(target[u, j], lvl / 5)
        known_j = np.flatnonzero(level[u] > 0)
        known_j = known_j[np.argsort(-level[u, known_j] - popularity[known_j] / 100, kind="stable")][:12]
        self_levels = tuple(SkillLevel(skill_list[j], reported[u][j]) for j in sorted(known_j.tolist()))
        prefs = tuple(str(t) for t in rng.choice(_PREF_TYPES[0], size=int(n_pref[u]), replace=False,
                                                 p=_PREF_TYPES[1]))
        mentees.append(Mentee(f"u{u + 1:0{width}d}", tuple(goals), self_levels, prefs, int(minutes[u]),
                              langs[u], tzs[u]))
    # What they need: each goal's prerequisites (transitively) at the required level.
    for sid in reversed(cat.graph.order):
        j = cat.skill_ids.index(sid)
        for p in cat.graph.prereqs[sid]:
            i = cat.skill_ids.index(p.skill_id)
            target[:, i] = np.where(target[:, j] > 0, np.maximum(target[:, i], p.level / 5), target[:, i])
    truth = PeopleTruth(
        mastery=mastery, target=target, persona=persona.astype(np.int64),
        motivation=rng.beta(2.0, 3.0, size=n),
        hour_utc=((local_hour - np.array(tzs)) % 24).astype(np.int64),
    )
    return mentees, truth


def make_mentors(cat: Catalog, popularity: NDArray[np.float64], *, n: int,
                 rng: np.random.Generator) -> list[Mentor]:
    """Generate ``n`` mentors (ids ``m001...``): 2-6 skills at levels 3-5 from a senior persona."""
    if n == 0:
        return []
    names = list(PERSONAS)
    persona = np.array([names.index(p) for p in rng.choice(_MENTOR_PERSONAS, size=n)])
    aff = _affinity(cat, persona)
    with np.errstate(divide="ignore"):
        # Senior people concentrate on their persona's core domains and its deeper skills.
        depth_d = cat.graph.depth()
        depth = np.array([depth_d[s] for s in cat.skill_ids], dtype=np.float64)
        top = _gumbel_top(rng, np.log(aff**4 * popularity[None, :] * np.sqrt(1 + depth)[None, :]), 6)
    n_sk = rng.integers(2, 7, size=n)
    langs, tzs = draw_people_languages(rng, n, _content_languages(cat))
    skill_list = cat.skill_ids.to_list()
    width = max(3, len(str(n)))
    mentors = []
    for m in range(n):
        skills = tuple(SkillLevel(skill_list[int(j)], int(3 + rng.binomial(2, 0.55)))
                       for j in sorted(top[m, : n_sk[m]]))
        formats = tuple(str(f) for f in rng.choice(_FORMATS, size=int(rng.integers(1, 4)), replace=False))
        mentors.append(Mentor(
            mentor_id=f"m{m + 1:0{width}d}", name=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            skills=skills, capacity=int(rng.choice([1, 2, 3, 4, 5], p=[0.15, 0.3, 0.3, 0.15, 0.1])),
            availability_hours=float(0.5 * rng.integers(2, 17)), language=langs[m], timezone=tzs[m],
            formats=formats,
        ))
    return mentors
