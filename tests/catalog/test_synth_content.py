"""The synthetic content agrees with itself: titles, skills, levels, languages, durations, links.

Regression tests for issue 22 ("Getting started with C#" tagged python:1, a Spanish
"Hands-on Rust (forum)" on an English mentee's path, a 1,036-minute course,
"Advanced Python basics (podcast)", made-up paths on real domains). The word lists
below are written by hand, independently of the generator's templates.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest

from catalog.catalog import Catalog
from catalog.synth import SynthConfig, generate
from catalog.synth.content import DURATION_BOUNDS, make_resources
from catalog.synth.skills_data import build_skills, skill_specs
from catalog.synth.languages import LANGUAGES
from catalog.synth.titles import TITLE_LANGUAGES, make_title

# Beginner words never at level 4-5, advanced words never at level 1-2 (any language).
BEGINNER = re.compile(r"\b(intro|introduction|basics|beginners?|beginner's|101|getting started|first steps|"
                      r"newcomers|introducción|principiantes|primeros pasos|introdução|iniciantes|primeiros passos|"
                      r"einführung|einsteiger|erste schritte|débutants|premiers pas|parichay|shuruaat)\b", re.I)
ADVANCED = re.compile(r"\b(advanced|mastering|master|expert|experts|internals|deep dive|avanzado|domina|"
                      r"expertos|avançado|domine|especialistas|fortgeschrittene|meistern|experten|avancé|"
                      r"maîtriser|maharat|unnat|visheshagyon)\b", re.I)
# Words a title in each language contains (one at least), and English words none of them may contain.
MARKERS = {
    "es": {"introducción", "principiantes", "primeros", "fundamentos", "paso", "aprende", "práctica", "patrones",
           "aplicado", "avanzado", "fondo", "producción", "domina", "dentro", "expertos", "con", "de", "para", "en"},
    "pt": {"introdução", "iniciantes", "primeiros", "fundamentos", "passo", "aprenda", "prática", "padrões",
           "aplicado", "avançado", "fundo", "produção", "domine", "dentro", "especialistas", "com", "de", "para",
           "na", "em"},
    "de": {"einführung", "einsteiger", "erste", "grundlagen", "schritt", "grundkurs", "praxis", "muster",
           "praktisch", "fortgeschrittene", "detail", "produktivbetrieb", "meistern", "haube", "experten", "mit",
           "in", "für", "die"},
    "fr": {"introduction", "débutants", "premiers", "fondamentaux", "pas", "apprendre", "pratique", "pratiques",
           "appliqué", "avancé", "profondeur", "production", "maîtriser", "capot", "experts", "avec", "à", "en",
           "de", "pour"},
    "hi": {"ka", "ki", "ke", "ko", "se", "mein", "aur", "seekhiye", "shuruaat", "parichay", "buniyaadi",
           "kadam", "vyavhaar", "gehraai", "maharat", "andar"},
}
ENGLISH = {"with", "basics", "beginners", "getting", "started", "hands-on", "mastering", "learn", "episode",
           "practical", "advanced", "deep", "dive", "fundamentals", "essentials", "internals", "the", "and", "your"}
# Upper bounds in minutes a reader would accept for each type; only books and courses pass 12 hours.
MAX_MINUTES = {"article": 60, "video": 120, "tutorial": 180, "course": 1200, "exercise": 180, "quiz": 30,
               "documentation": 60, "project": 720, "book": 1800, "podcast": 120, "forum": 30, "other": 60}


def _content(seed: int, n_items: int = 5000) -> Catalog:
    config = SynthConfig(seed=seed, n_items=n_items)
    rngs = config.rngs()
    skills = build_skills(skill_specs(), rngs["skills"])
    resources, _ = make_resources(config, skill_specs(), skills, rngs["content"])
    return Catalog(skills, resources)


@pytest.fixture(scope="module", params=[7, 3])
def cat(request) -> Catalog:
    return _content(request.param)


def _without_skill_names(cat: Catalog, r) -> str:
    """The title without episode numbers and the names of the skills taught ("Advanced Python" is a name)."""
    title = re.sub(r"^\w+ \d+\b", " ", r.title)
    for name in sorted((cat.skills[s.skill_id].name for s in r.skills), key=len, reverse=True):
        title = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", title, flags=re.I)
    return title


def _words(text: str) -> set[str]:
    return set(re.findall(r"[\w'-]+", text.casefold()))


def test_every_secondary_skill_is_a_prerequisite_or_named_in_the_title(cat):
    for r in cat.resources:
        main = cat.skills[r.skills[0].skill_id]
        required = {p.skill_id: p.level for p in main.prerequisites}
        assert main.name.casefold() in r.title.casefold(), (r.item_id, r.title)
        for sl in r.skills[1:]:
            if sl.skill_id in required:
                assert sl.level <= required[sl.skill_id], (r.item_id, sl)  # revisited, not taught further
            else:
                assert cat.skills[sl.skill_id].name.casefold() in r.title.casefold(), (r.item_id, r.title, sl)


def test_the_csharp_item_of_issue_22_cannot_happen(cat):
    """No item teaches a peer of its main skill: C# content does not teach Python."""
    for r in cat.resources:
        if r.skills[0].skill_id == "csharp":
            assert "python" not in {s.skill_id for s in r.skills[1:]}, r


def test_level_words_agree_with_the_level(cat):
    for r in cat.resources:
        level, words = r.skills[0].level, _without_skill_names(cat, r)
        if level >= 4:
            assert not BEGINNER.search(words), (r.item_id, level, r.title)
        if level <= 2:
            assert not ADVANCED.search(words), (r.item_id, level, r.title)
    levels = {(r.skills[0].skill_id, r.skills[0].level) for r in cat.resources}
    assert ("python-advanced", 1) not in levels and ("excel-advanced", 1) not in levels


def test_titles_read_like_their_type(cat):
    episode = re.compile(r"^(Episode|Episodio|Episódio|Folge|Épisode|Kadi) \d+\b")
    for r in cat.resources:
        assert not r.title.endswith(f"({r.type})") and "  " not in r.title and r.title == r.title.strip()
        assert bool(episode.match(r.title)) == (r.type == "podcast"), (r.type, r.title)
        if r.language == "en" and r.type == "course":
            assert re.search(r"\bcourse\b", r.title), r.title
        if r.language == "en" and r.type == "quiz":
            assert re.search(r"\b(quiz|test|exam|self-assessment|challenge)\b", r.title, re.I), r.title


def test_non_english_items_have_titles_in_their_language(cat):
    assert set(LANGUAGES) == set(TITLE_LANGUAGES) == {"en", *MARKERS}  # every language has templates
    langs = pd.Series([r.language for r in cat.resources]).value_counts()
    assert set(langs.index) == set(LANGUAGES)
    for r in cat.resources:
        if r.language == "en":
            continue
        words = _words(_without_skill_names(cat, r))
        assert words & MARKERS[r.language], (r.language, r.title)
        assert not words & ENGLISH, (r.language, r.title, words & ENGLISH)


def test_every_link_is_under_a_reserved_example_domain(cat):
    for r in cat.resources:
        u = urlparse(r.url)
        assert u.scheme == "https" and u.hostname.endswith(".example.org"), r.url
        assert re.fullmatch(r"[a-z0-9-]+\.example\.org", u.hostname), r.url
        assert u.path.endswith(f"-{r.item_id}") and u.path.isascii(), r.url
    assert len({r.url for r in cat.resources}) == cat.n_items


def test_durations_stay_within_plausible_bounds_per_type(cat):
    for rtype, (lo, hi, _) in DURATION_BOUNDS.items():
        assert 1 <= lo < hi <= MAX_MINUTES[rtype], rtype
    dur = pd.Series(cat.duration_minutes, index=cat.types)
    for r in cat.resources:
        assert 2 <= r.duration_minutes <= MAX_MINUTES[r.type], (r.type, r.duration_minutes, r.title)
    assert dur["article"].median() < 20 and dur["course"].median() >= 240  # an article is minutes, a course hours
    long_ = [r for r in cat.resources if r.duration_minutes >= 600 and r.type == "course"]
    assert long_
    for r in long_:  # a course of ten hours or more says how long it is
        assert re.search(rf"\b{round(r.duration_minutes / 60)}[ -](hour|horas|Stunden|heures|ghante)", r.title), \
            (r.duration_minutes, r.title)


def test_durations_grow_with_level_within_a_type(cat):
    frame = pd.DataFrame({"t": cat.types, "d": cat.duration_minutes, "l": [r.skills[0].level for r in cat.resources]})
    for rtype in ("course", "book", "tutorial"):
        med = frame[frame.t == rtype].groupby("l").d.median()
        assert med.loc[5] > med.loc[1], rtype


@pytest.fixture(scope="module")
def world():
    return generate(SynthConfig(seed=3, n_mentees=600, n_items=600, n_mentors=30, days=60, sessions=False))


def test_each_mentee_and_mentor_language_has_content(world):
    content = {r.language for r in world.world.catalog.resources}
    assert {m.language for m in world.world.mentees.values()} <= content
    assert {m.language for m in world.world.mentors.values()} <= content
    assert len({m.language for m in world.world.mentees.values()}) >= 4
    tiny = generate(SynthConfig(seed=1, n_mentees=50, n_items=2, n_mentors=3, days=2, sessions=False))
    tiny_content = {r.language for r in tiny.world.catalog.resources}
    assert {m.language for m in tiny.world.mentees.values()} <= tiny_content


def test_learners_engage_in_a_language_they_read(world):
    """Everyone reads English; a non-English speaker also reads (and prefers) their own language."""
    lang_item = pd.Series({r.item_id: r.language for r in world.world.catalog.resources})
    lang_user = pd.Series({m.user_id: m.language for m in world.world.mentees.values()})
    ev = world.events[world.events.event_type.isin(["impression", "start"])]
    il, ul = lang_item[ev.item_id].to_numpy(), lang_user[ev.user_id].to_numpy()
    assert ((il == ul) | (il == "en")).all()
    start = ev.event_type.to_numpy() == "start"
    local = start & (ul != "en")
    own_share = (il[local] == ul[local]).mean()
    # Own-language items among what they could read, per language, weighted by their starts.
    avail = {lang: (lang_item == lang).sum() / ((lang_item == lang) | (lang_item == "en")).sum()
             for lang in set(ul[local])}
    expected = np.mean([avail[lang] for lang in ul[local]])
    assert own_share > 2.5 * expected, (own_share, expected)


def test_make_title_names_the_second_skill_where_it_reads_naturally():
    rng = np.random.default_rng(0)
    for _ in range(50):
        t = make_title(rtype="forum", level=2, language="en", names=["pandas", "NumPy"], duration_minutes=8,
                       year=2026, edition=False, rng=rng)
        assert "NumPy" in t and not re.search(r"\? with|with with|with \w+ with", t), t
        t = make_title(rtype="tutorial", level=1, language="en", names=["Python", "pandas"], duration_minutes=30,
                       year=2026, edition=False, rng=rng)
        assert t.count(" with ") <= 1 and "pandas" in t, t
    advanced = {make_title(rtype="article", level=4, language="en", names=["Advanced Python"], duration_minutes=9,
                           year=2026, edition=False, rng=rng) for _ in range(30)}
    assert not any("Advanced Advanced" in t for t in advanced)
