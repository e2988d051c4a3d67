"""Synthetic learning resources: who publishes what, when, at which level, for how long.

Content grows over time (more recent items than old ones), AI-tooling content exists only
in the last few years, and a hidden per-item quality (never written to the CSVs) drives
engagement in the simulation. Each item agrees with itself, so a demo never shows a C#
item teaching Python: its title names its main skill and any secondary skill that is
not a prerequisite (prerequisites are implied, revisited at no more than the level the
main skill needs) and reads like its type, level and language (``titles.py``); its
duration stays within bounds for its type; its link lives under ``example.org``
(RFC 2606), so no synthetic link points at a real site.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from catalog.schema import Resource, Skill, SkillLevel
from catalog.synth.config import SynthConfig
from catalog.synth.languages import content_language_p
from catalog.synth.skills_data import SkillSpec
from catalog.synth.titles import make_title

__all__ = ["TYPE_PROFILE", "DURATION_BOUNDS", "URL_DOMAIN", "ContentTruth", "make_resources"]

# type -> (weight, median minutes, log-normal sigma)
TYPE_PROFILE: dict[str, tuple[float, float, float]] = {
    "article": (0.20, 12, 0.5), "video": (0.19, 18, 0.6), "tutorial": (0.12, 45, 0.5),
    "course": (0.08, 480, 0.45), "exercise": (0.08, 40, 0.5), "quiz": (0.07, 12, 0.4),
    "documentation": (0.06, 15, 0.5), "project": (0.05, 300, 0.45), "book": (0.04, 900, 0.35),
    "podcast": (0.04, 45, 0.3), "forum": (0.04, 8, 0.5), "other": (0.03, 25, 0.5),
}
# type -> (min, max) minutes, and the step durations are rounded to. Only books and
# courses run past ten hours; a course past LONG_COURSE_MINUTES says so in its title.
DURATION_BOUNDS: dict[str, tuple[int, int, int]] = {
    "article": (3, 40, 1), "video": (3, 90, 1), "tutorial": (10, 150, 5), "course": (60, 1200, 15),
    "exercise": (10, 120, 5), "quiz": (5, 30, 1), "documentation": (3, 60, 1), "project": (60, 720, 15),
    "book": (300, 1800, 30), "podcast": (20, 90, 1), "forum": (2, 20, 1), "other": (5, 60, 1),
}
URL_DOMAIN = "example.org"  # reserved for examples (RFC 2606): no synthetic link reaches a real site
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
# Providers of items in other languages where every provider above publishes in English only.
_LOCAL_PROVIDERS = {"podcast": ["Community podcast"]}
# Providers that publish in English only: items in other languages come from the rest.
_ENGLISH_ONLY = frozenset({"Towards Data Science", "Real Python", "Frontend Mentor", "No Starch Press", "Manning",
                           "Pragmatic Bookshelf", "Talk Python", "Software Engineering Daily", "Latent Space",
                           "Data Skeptic", "Practical AI", "DeepLearning.AI", "Exercism"})
_URL_PATH = {"article": "articles", "video": "videos", "tutorial": "tutorials", "course": "courses",
             "exercise": "exercises", "quiz": "quizzes", "documentation": "docs", "project": "projects",
             "book": "books", "podcast": "episodes", "forum": "threads", "other": "resources"}
_LEVEL_P = np.array([0.22, 0.30, 0.26, 0.15, 0.07])
_UPDATE_P = {"documentation": 0.5, "course": 0.35, "tutorial": 0.25, "book": 0.2}


@dataclass(frozen=True)
class ContentTruth:
    """Hidden facts about generated items, aligned with the resource list."""

    quality: NDArray[np.float64]   # standard-normal-ish appeal of each item
    primary: list[str]             # the main skill each item teaches


def _slug(s: str, limit: int = 60) -> str:
    """ASCII, lower-case, hyphenated; accents dropped ("Introducción" -> "introduccion"), cut at a word."""
    ascii_ = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug


def _url(provider: str, rtype: str, language: str, title: str, item_id: str) -> str:
    """``https://<provider>.example.org/[<language>/]<type path>/<title slug>-<item id>``."""
    lang = "" if language == "en" else f"{language}/"
    return f"https://{_slug(provider)}.{URL_DOMAIN}/{lang}{_URL_PATH[rtype]}/{_slug(title)}-{item_id}"


def _duration(rtype: str, level: int, z: float) -> int:
    """Minutes from a log-normal draw ``z`` around the type's median (longer at higher levels), in bounds.

    Above 70 % of the range the tail is squashed (tanh) rather than clipped, so the
    maximum is approached smoothly and never piles up.
    """
    _, median, sigma = TYPE_PROFILE[rtype]
    lo, hi, step = DURATION_BOUNDS[rtype]
    d = median * np.exp(sigma * z) * (0.8 + 0.1 * level)
    knee = lo + 0.7 * (hi - lo)
    if d > knee:
        d = knee + (hi - knee) * np.tanh((d - knee) / (hi - knee))
    return int(min(hi, max(lo, step * round(d / step))))


def _dependents(skills: list[Skill]) -> dict[str, list[str]]:
    """Skills built on each skill (it is their prerequisite): what an item may teach alongside it, by name."""
    dep: dict[str, list[str]] = {s.skill_id: [] for s in skills}
    for s in skills:
        for p in s.prerequisites:
            dep[p.skill_id].append(s.skill_id)
    return dep


def _taught(sid: str, level: int, picks: list[str], prereq_level: dict[str, int],
            rng: np.random.Generator) -> tuple[list[SkillLevel], str | None]:
    """The skills an item teaches (main skill first) and the one its title must name, if any.

    A prerequisite is implied by the main skill and revisited at no more than the level
    it requires (nor the item's own); a skill built on the main one is taught only if the
    title names it, and a title names at most one.
    """
    taught = [SkillLevel(sid, level)]
    named = None
    for other in picks:
        if other in prereq_level:
            taught.append(SkillLevel(other, min(prereq_level[other], max(1, level))))
        elif named is None:
            named = other
            taught.append(SkillLevel(other, int(np.clip(level + rng.integers(-1, 1), 1, 5))))
    return taught, named


def make_resources(config: SynthConfig, specs: list[SkillSpec], skills: list[Skill],
                   rng: np.random.Generator) -> tuple[list[Resource], ContentTruth]:
    """Generate ``config.n_items`` resources, ids ``r00001...`` in publication order."""
    n = config.n_items
    spec_by_id = {s.skill_id: s for s in specs}
    name_of = {s.skill_id: s.name for s in skills}
    dependents = _dependents(skills)
    advanced = {s.skill_id for s in skills if s.name.casefold().startswith("advanced")}
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
    providers_q = {p: rng.normal(0, 0.3) for ps in (*_PROVIDERS.values(), *_LOCAL_PROVIDERS.values()) for p in ps}
    end = config.end

    rows = []
    for i in range(n):
        spec = spec_by_id[sids[primary_idx[i]]]
        sid = spec.skill_id
        lvl = int(levels[i])
        if depth[sid] >= 3 and lvl == 1 and rng.random() < 0.6:
            lvl = 2  # advanced topics rarely get true-beginner content
        if lvl == 1 and sid in advanced:
            lvl = 2  # "Advanced Python" has no first-steps material
        pool = list(prereq_level[sid]) + [d for d in dependents[sid] if lvl > 1 or d not in advanced]
        picks: list[str] = []
        if n_sk[i] > 1 and pool:
            picks = [str(x) for x in rng.choice(pool, size=min(len(pool), int(n_sk[i]) - 1), replace=False)]
        taught, named = _taught(sid, lvl, picks, prereq_level[sid], rng)
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
        duration = _duration(rtype, lvl, float(rng.normal()))
        updated = None
        if age_days > 60 and rng.random() < _UPDATE_P.get(rtype, 0.12):
            updated = (published + timedelta(days=float(age_days * rng.uniform(0.3, 0.98)))).replace(microsecond=0)
        hl_override = float(5 * round(rng.uniform(60, 540) / 5)) if rng.random() < 0.03 else None
        active = bool(rng.random() >= 0.08 * age_days / window)
        codes, lang_p = content_language_p(lvl)
        lang = codes[int(rng.choice(len(codes), p=lang_p))]
        providers = ([p for p in _PROVIDERS[rtype] if lang == "en" or p not in _ENGLISH_ONLY]
                     or _LOCAL_PROVIDERS[rtype])
        provider = providers[int(rng.integers(len(providers)))]
        difficulty = int(np.clip(round(lvl + rng.normal(0, 0.6)), 1, 5))
        title = make_title(rtype=rtype, level=lvl, language=lang,
                           names=[spec.name] + ([name_of[named]] if named else []),
                           duration_minutes=duration, year=published.year,
                           edition=spec.kind in ("A", "W") and bool(rng.random() < 0.25), rng=rng)
        quality = float(rng.normal(0, 1) + providers_q[provider])
        rows.append((published, sid, taught, rtype, duration, updated, hl_override, active, provider,
                     difficulty, lang, title, quality))

    rows.sort(key=lambda r: (r[0], r[1]))
    width = max(5, len(str(n)))
    resources: list[Resource] = []
    for k, (published, sid, taught, rtype, duration, updated, hl, active, provider, difficulty, lang,
            title, _q) in enumerate(rows, start=1):
        item_id = f"r{k:0{width}d}"
        resources.append(Resource(
            item_id=item_id, title=title, type=rtype, skills=tuple(taught), published_at=published,
            url=_url(provider, rtype, lang, title, item_id), difficulty=difficulty,
            duration_minutes=duration, updated_at=updated, half_life_days=hl, provider=provider,
            language=lang, active=active,
        ))
    truth = ContentTruth(quality=np.array([r[12] for r in rows]), primary=[r[1] for r in rows])
    return resources, truth
