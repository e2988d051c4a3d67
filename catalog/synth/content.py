"""Synthetic learning resources: who publishes what, when, at which level, for how long.

Content grows over time (more recent items than old ones), AI-tooling content exists only
in the last few years, types have realistic durations, difficulty tracks level, and a
hidden per-item quality (never written to the CSVs) drives engagement in the simulation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from catalog.schema import Resource, Skill, SkillLevel
from catalog.synth.config import SynthConfig
from catalog.synth.skills_data import SkillSpec

__all__ = ["TYPE_PROFILE", "ContentTruth", "make_resources"]

# type -> (weight, median minutes, log-normal sigma)
TYPE_PROFILE: dict[str, tuple[float, float, float]] = {
    "article": (0.20, 12, 0.5), "video": (0.19, 18, 0.7), "tutorial": (0.12, 45, 0.5),
    "course": (0.08, 480, 0.6), "exercise": (0.08, 40, 0.5), "quiz": (0.07, 12, 0.4),
    "documentation": (0.06, 15, 0.6), "project": (0.05, 360, 0.5), "book": (0.04, 900, 0.4),
    "podcast": (0.04, 45, 0.3), "forum": (0.04, 8, 0.5), "other": (0.03, 30, 0.6),
}
# kind -> type weight multipliers (books for theory, docs and forums for fast-moving tools)
_KIND_TYPE_BOOST = {
    "T": {"book": 3.0, "documentation": 0.2, "forum": 0.5},
    "F": {"book": 1.5},
    "W": {"documentation": 2.0, "book": 0.7},
    "A": {"documentation": 2.0, "forum": 2.0, "book": 0.2, "podcast": 1.5},
}
_PROVIDERS = {
    "video": ["YouTube", "Coursera", "Udemy", "freeCodeCamp", "Pluralsight", "Conference talks"],
    "course": ["Coursera", "Udemy", "edX", "DataCamp", "Pluralsight", "DeepLearning.AI", "Internal Academy"],
    "article": ["Medium", "Towards Data Science", "Real Python", "dev.to", "Engineering blogs", "Substack"],
    "tutorial": ["Real Python", "freeCodeCamp", "DigitalOcean", "Kaggle", "MDN", "Official tutorial"],
    "exercise": ["Exercism", "LeetCode", "Kaggle", "HackerRank", "Internal Academy"],
    "project": ["Kaggle", "GitHub", "Internal Academy", "Frontend Mentor"],
    "book": ["O'Reilly", "Manning", "No Starch Press", "Packt", "Pragmatic Bookshelf"],
    "podcast": ["Talk Python", "Software Engineering Daily", "Latent Space", "Data Skeptic", "Practical AI"],
    "quiz": ["Internal Academy", "Kaggle Learn", "W3Schools"],
    "documentation": ["Official docs"],
    "forum": ["Stack Overflow", "Reddit", "Community forum"],
    "other": ["GitHub", "Newsletter"],
}
_DOMAINS = {"YouTube": "youtube.com", "Coursera": "coursera.org", "Udemy": "udemy.com", "edX": "edx.org",
            "freeCodeCamp": "freecodecamp.org", "Real Python": "realpython.com", "Kaggle": "kaggle.com",
            "GitHub": "github.com", "Stack Overflow": "stackoverflow.com", "Medium": "medium.com",
            "O'Reilly": "oreilly.com", "Manning": "manning.com", "MDN": "developer.mozilla.org"}
_TITLES = {
    1: ["Intro to {n}", "{n} for beginners", "Getting started with {n}", "{n} basics", "{n} 101"],
    2: ["{n} fundamentals", "A practical introduction to {n}", "Learn {n} step by step", "{n} essentials"],
    3: ["Practical {n}", "{n} in practice", "Hands-on {n}", "{n}: patterns and pitfalls", "Effective {n}"],
    4: ["Advanced {n}", "{n} deep dive", "{n} at scale", "Production {n}"],
    5: ["Mastering {n}", "{n} internals", "Expert {n}", "{n} for experts"],
}
_LEVEL_P = np.array([0.22, 0.30, 0.26, 0.15, 0.07])
_LANGS = (["en", "es", "pt", "de", "fr", "hi"], [0.88, 0.04, 0.03, 0.02, 0.02, 0.01])
_UPDATE_P = {"documentation": 0.5, "course": 0.35, "tutorial": 0.25, "book": 0.2}


@dataclass(frozen=True)
class ContentTruth:
    """Hidden facts about generated items, aligned with the resource list."""

    quality: NDArray[np.float64]   # standard-normal-ish appeal of each item
    primary: list[str]             # the main skill each item teaches


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def _related(specs: list[SkillSpec], skills: list[Skill]) -> dict[str, list[str]]:
    """Skills an item about ``s`` may also teach: its prerequisites, dependents and domain peers."""
    rel: dict[str, list[str]] = {s.skill_id: [p.skill_id for p in s.prerequisites] for s in skills}
    for s in skills:
        for p in s.prerequisites:
            rel[p.skill_id].append(s.skill_id)
    by_domain: dict[str, list[str]] = {}
    for sp_ in specs:
        by_domain.setdefault(sp_.domain, []).append(sp_.skill_id)
    for sp_ in specs:
        peers = [x for x in by_domain[sp_.domain] if x != sp_.skill_id and x not in rel[sp_.skill_id]]
        rel[sp_.skill_id] = rel[sp_.skill_id] + peers[:3]
    return rel


def make_resources(config: SynthConfig, specs: list[SkillSpec], skills: list[Skill],
                   rng: np.random.Generator) -> tuple[list[Resource], ContentTruth]:
    """Generate ``config.n_items`` resources, ids ``r00001...`` in publication order."""
    n = config.n_items
    spec_by_id = {s.skill_id: s for s in specs}
    name_of = {s.skill_id: s.name for s in skills}
    related = _related(specs, skills)
    prereq_level = {s.skill_id: {p.skill_id: p.level for p in s.prerequisites} for s in skills}
    depth: dict[str, int] = {}
    for s in skills:  # specs are listed prerequisites-first
        depth[s.skill_id] = max((depth[p.skill_id] + 1 for p in s.prerequisites), default=0)

    sids = [s.skill_id for s in specs]
    w = np.array([s.popularity for s in specs]) * rng.uniform(0.6, 1.4, len(specs))
    primary_idx = rng.choice(len(specs), size=n, p=w / w.sum())
    n_sk = rng.choice([1, 2, 3], size=n, p=[0.55, 0.33, 0.12])
    levels = rng.choice(np.arange(1, 6), size=n, p=_LEVEL_P)
    window = config.years * 365.0
    beta_age = rng.beta(1.0, 1.6, size=n)
    type_names = list(TYPE_PROFILE)
    base_tw = np.array([TYPE_PROFILE[t][0] for t in type_names])
    providers_q = {p: rng.normal(0, 0.3) for ps in _PROVIDERS.values() for p in ps}
    end = config.end

    rows = []
    for i in range(n):
        spec = spec_by_id[sids[primary_idx[i]]]
        sid = spec.skill_id
        lvl = int(levels[i])
        if depth[sid] >= 3 and lvl == 1 and rng.random() < 0.6:
            lvl = 2  # advanced topics rarely get true-beginner content
        taught = [SkillLevel(sid, lvl)]
        pool = related[sid]
        if n_sk[i] > 1 and pool:
            for other in rng.choice(pool, size=min(len(pool), int(n_sk[i]) - 1), replace=False):
                other = str(other)
                if other in prereq_level[sid]:  # a prerequisite, revisited at its required level
                    ol = min(prereq_level[sid][other], max(1, lvl))
                else:
                    ol = int(np.clip(lvl + rng.integers(-1, 1), 1, 5))
                taught.append(SkillLevel(other, ol))
        # Fast-moving topics only have recent content.
        win = window
        if spec.kind == "A":
            win = min(window, 900.0)
        elif spec.domain == "llm":
            win = min(window, 1400.0)
        age_days = win * beta_age[i]
        published = end - timedelta(days=float(age_days) + 1.0)
        published = published.replace(microsecond=0)
        tw = base_tw * np.array([_KIND_TYPE_BOOST[spec.kind].get(t, 1.0) for t in type_names])
        rtype = type_names[int(rng.choice(len(type_names), p=tw / tw.sum()))]
        _, median, sigma = TYPE_PROFILE[rtype]
        duration = max(3, int(round(median * np.exp(rng.normal(0, sigma)) * (0.8 + 0.1 * lvl))))
        updated = None
        if age_days > 60 and rng.random() < _UPDATE_P.get(rtype, 0.12):
            updated = (published + timedelta(days=float(age_days * rng.uniform(0.3, 0.98)))).replace(microsecond=0)
        hl_override = float(5 * round(rng.uniform(60, 540) / 5)) if rng.random() < 0.03 else None
        active = bool(rng.random() >= 0.08 * age_days / window)
        provider = str(rng.choice(_PROVIDERS[rtype]))
        difficulty = int(np.clip(round(lvl + rng.normal(0, 0.6)), 1, 5))
        lang = str(rng.choice(_LANGS[0], p=_LANGS[1]))
        name = spec.name
        title = str(rng.choice(_TITLES[lvl])).format(n=name)
        if len(taught) > 1 and rng.random() < 0.3:
            title = f"{title} with {name_of[taught[1].skill_id]}"
        if spec.kind in ("A", "W") and rng.random() < 0.25:
            title = f"{title}, {published.year} edition"
        quality = float(rng.normal(0, 1) + providers_q[provider])
        rows.append((published, sid, taught, rtype, duration, updated, hl_override, active, provider,
                     difficulty, lang, f"{title} ({rtype})", quality))

    rows.sort(key=lambda r: (r[0], r[1]))
    width = max(5, len(str(n)))
    resources: list[Resource] = []
    for k, (published, sid, taught, rtype, duration, updated, hl, active, provider, difficulty, lang,
            title, _q) in enumerate(rows, start=1):
        item_id = f"r{k:0{width}d}"
        domain = _DOMAINS.get(provider, f"{_slug(provider)}.example.com")
        resources.append(Resource(
            item_id=item_id, title=title, type=rtype, skills=tuple(taught), published_at=published,
            url=f"https://{domain}/{_slug(title)}-{item_id}", difficulty=difficulty,
            duration_minutes=duration, updated_at=updated, half_life_days=hl, provider=provider,
            language=lang, active=active,
        ))
    truth = ContentTruth(quality=np.array([r[12] for r in rows]), primary=[r[1] for r in rows])
    return resources, truth

