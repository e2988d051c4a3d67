"""Titles of synthetic resources that read like their type, level and language.

A title is a level phrase about the item's topic (its main skill, plus a secondary skill
it names: "pandas with NumPy") set in a frame that reads like the type: an episode
number for a podcast, a question for a forum thread, a "complete 14-hour course" label
for a long course. English has a phrase set per type; Spanish, Portuguese, German,
French and Hindi have one phrase set per language with a type word in front. Hindi is
written in Latin transliteration (as much Indian tech content is titled), which keeps
titles in one script and table columns aligned. Beginner words never appear above
level 3 and advanced words never below it, in every language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["TITLE_LANGUAGES", "LONG_COURSE_MINUTES", "make_title"]

LONG_COURSE_MINUTES = 600  # a course this long says so in its title ("complete 14-hour course")

# English: type -> five levels -> templates. {n} is the topic.
_EN: dict[str, tuple[tuple[str, ...], ...]] = {
    "article": (
        ("A beginner's guide to {n}", "{n} explained simply", "Intro to {n}"),
        ("{n} fundamentals explained", "{n}: the essentials", "A practical introduction to {n}"),
        ("{n} in practice: lessons learned", "{n}: patterns and pitfalls", "Effective {n}"),
        ("Advanced {n} techniques", "A deep dive into {n}", "{n} at scale: what we learned"),
        ("{n} internals", "The hard parts of {n}", "{n}: notes for experts"),
    ),
    "video": (
        ("{n} explained for beginners", "Intro to {n}", "{n} for absolute beginners"),
        ("{n} fundamentals", "{n} tutorial, step by step", "{n} crash course"),
        ("{n} in practice", "Hands-on {n}", "{n}: patterns and pitfalls"),
        ("Advanced {n}", "{n} deep dive", "Talk: {n} at scale"),
        ("{n} internals", "Mastering {n}", "Talk: {n} under the hood"),
    ),
    "tutorial": (
        ("Getting started with {n}", "{n} tutorial for beginners", "Your first steps with {n}"),
        ("Learn {n} step by step", "A practical introduction to {n}", "{n} tutorial: the fundamentals"),
        ("Hands-on {n}", "{n} tutorial: real-world examples", "How to use {n} in practice"),
        ("Advanced {n} tutorial", "{n} deep dive, step by step", "{n} in production: a tutorial"),
        ("Mastering {n}: a tutorial", "{n} internals, step by step", "Expert {n} techniques"),
    ),
    "course": (
        ("Intro to {n}", "{n} for beginners", "Getting started with {n}"),
        ("{n} fundamentals", "Learn {n} step by step", "{n} essentials"),
        ("Practical {n}", "Hands-on {n}", "Applied {n}"),
        ("Advanced {n}", "{n} in production", "{n} at scale"),
        ("Mastering {n}", "Expert {n}", "Expert {n} techniques"),
    ),
    "exercise": (
        ("{n} exercises for beginners", "First steps in {n}: exercises", "{n} basics: practice problems"),
        ("{n} practice problems", "{n} fundamentals: exercises", "{n} drills"),
        ("{n} exercises: real-world problems", "{n} kata", "Practice {n} on realistic tasks"),
        ("Advanced {n} exercises", "{n} challenge problems", "Hard {n} problems"),
        ("{n} expert challenges", "{n} puzzles for experts", "Expert-level {n} problems"),
    ),
    "quiz": (
        ("Quiz: {n} basics", "Test yourself: {n} for beginners", "{n} 101 quiz"),
        ("Quiz: {n} fundamentals", "Check your {n} essentials: a quiz", "{n} self-assessment"),
        ("Quiz: {n} in practice", "{n} practice test", "How well do you know {n}? A quiz"),
        ("Quiz: advanced {n}", "{n} certification practice exam", "{n} deep dive quiz"),
        ("{n} expert challenge", "Quiz: {n} internals", "Are you a {n} expert? Take the test"),
    ),
    "documentation": (
        ("{n} documentation: getting started", "{n} quickstart", "{n} docs: installation and first steps"),
        ("{n} user guide", "{n} documentation: tutorial", "{n} docs: core concepts"),
        ("{n} how-to guides", "{n} documentation: best practices", "{n} docs: common recipes"),
        ("{n} documentation: performance and scaling", "{n} advanced usage guide", "{n} docs: production checklist"),
        ("{n} API reference", "{n} documentation: architecture and internals", "{n} specification"),
    ),
    "project": (
        ("Your first {n} project", "A beginner {n} project, step by step", "Guided project: getting started with {n}"),
        ("Guided project: {n} fundamentals", "{n} starter project", "A small {n} project"),
        ("{n} portfolio project", "Capstone: {n} in practice", "A real-world project with {n}"),
        ("Capstone: {n} at scale", "Advanced {n} project", "A production-grade {n} project"),
        ("Expert {n} project", "Capstone: {n} internals", "Research-grade {n} project"),
    ),
    "book": (
        ("Learning {n}", "{n} for Beginners", "{n}: A Beginner's Guide"),
        ("{n} Fundamentals", "{n} Essentials", "A Practical Introduction to {n}"),
        ("{n} in Practice", "{n} in Action", "Effective {n}", "The {n} Cookbook"),
        ("Advanced {n}", "{n} at Scale", "{n} in Production", "High-Performance {n}"),
        ("Mastering {n}", "{n} Internals", "The Art of {n}"),
    ),
    "podcast": (
        ("Why learn {n}?", "{n} for newcomers", "Getting into {n}"),
        ("{n} fundamentals, explained", "What you need to know about {n}", "Learning {n} step by step"),
        ("{n} in the real world", "Lessons from using {n} in practice", "{n}: patterns and pitfalls"),
        ("{n} at scale", "Advanced {n}, with a practitioner", "Running {n} in production"),
        ("Inside {n}", "{n} internals, with an expert", "Where {n} is heading: an expert panel"),
    ),
    "forum": (
        ("{n}: where should a complete beginner start?", "{n} for beginners: which resources helped you?",
         "Confused by the basics of {n}"),
        ("{n}: understanding the fundamentals", "{n}: what should I learn next?",
         "Common {n} mistakes and how to avoid them"),
        ("{n} in a real project: what patterns do you use?", "{n} best practices: a discussion",
         "Debugging a tricky {n} problem"),
        ("{n} at scale: what worked for you?", "Advanced {n}: performance problems in production",
         "{n} in production: war stories"),
        ("{n} internals: how does it really work?", "{n} edge cases experts should know",
         "Expert discussion: the design of {n}"),
    ),
    "other": (
        ("{n} cheat sheet for beginners", "Awesome {n}: beginner resources", "{n} starter kit"),
        ("{n} cheat sheet", "{n} weekly: the fundamentals", "A reading list for learning {n}"),
        ("{n} weekly digest", "Curated {n} resources", "{n} patterns: a collection"),
        ("Advanced {n} reading list", "{n} weekly: deep dives", "{n} in production: a curated list"),
        ("{n} research digest", "{n} internals: a reading list", "Expert {n} newsletter"),
    ),
}
_EN_PREFIX = {"podcast": "Episode {k}"}
_EN_COURSE = ("{t} course", "{t}{c}online course", "{t}{c}a self-paced course")
_EN_LONG_COURSE = ("{t}{c}the complete {h}-hour course", "{t} ({h}-hour course)")
_EN_EDITION = "{t}, {y} edition"


@dataclass(frozen=True)
class _Lang:
    """A small template set for one language: level phrases, a type word put in front, connectors, labels."""

    levels: tuple[tuple[str, ...], ...]
    prefixes: dict[str, str]
    with_: str
    and_: str
    long_course: str
    edition: str
    colon: str = ": "
    inside: bool = False  # a named second skill joins the topic ("X aur Y ka parichay")


_OTHER: dict[str, _Lang] = {
    "es": _Lang(
        (("Introducción a {n}", "{n} para principiantes", "Primeros pasos con {n}"),
         ("Fundamentos de {n}", "{n} paso a paso", "Aprende {n} desde cero"),
         ("{n} en la práctica", "{n}: patrones y errores comunes", "{n} aplicado"),
         ("{n} avanzado", "{n} a fondo", "{n} en producción"),
         ("Domina {n}", "{n} por dentro", "{n} para expertos")),
        {"course": "Curso", "quiz": "Cuestionario", "exercise": "Ejercicios",
         "project": "Proyecto", "podcast": "Episodio {k}", "forum": "Pregunta",
         "documentation": "Documentación", "tutorial": "Tutorial", "other": "Recursos"},
        with_="con", and_="y", long_course="Curso completo{c}{t} ({h} horas)", edition="{t}, edición {y}"),
    "pt": _Lang(
        (("Introdução a {n}", "{n} para iniciantes", "Primeiros passos com {n}"),
         ("Fundamentos de {n}", "{n} passo a passo", "Aprenda {n} do zero"),
         ("{n} na prática", "{n}: padrões e armadilhas", "{n} aplicado"),
         ("{n} avançado", "{n} a fundo", "{n} em produção"),
         ("Domine {n}", "{n} por dentro", "{n} para especialistas")),
        {"course": "Curso", "quiz": "Questionário", "exercise": "Exercícios",
         "project": "Projeto", "podcast": "Episódio {k}", "forum": "Pergunta",
         "documentation": "Documentação", "tutorial": "Tutorial", "other": "Recursos"},
        with_="com", and_="e", long_course="Curso completo{c}{t} ({h} horas)", edition="{t}, edição {y}"),
    "de": _Lang(
        (("Einführung in {n}", "{n} für Einsteiger", "Erste Schritte mit {n}"),
         ("{n}: die Grundlagen", "{n} Schritt für Schritt", "Grundkurs {n}"),
         ("{n} in der Praxis", "{n}: Muster und Stolperfallen", "{n} praktisch angewandt"),
         ("{n} für Fortgeschrittene", "{n} im Detail", "{n} im Produktivbetrieb"),
         ("{n} meistern", "{n} unter der Haube", "{n} für Experten")),
        {"course": "Kurs", "quiz": "Quiz", "exercise": "Übungen", "project": "Projekt",
         "podcast": "Folge {k}", "forum": "Frage", "documentation": "Dokumentation",
         "tutorial": "Tutorial", "other": "Ressourcen"},
        with_="mit", and_="und", long_course="Komplettkurs{c}{t} ({h} Stunden)", edition="{t}, Ausgabe {y}"),
    "fr": _Lang(
        (("Introduction à {n}", "{n} pour débutants", "Premiers pas avec {n}"),
         ("Les fondamentaux de {n}", "{n} pas à pas", "Apprendre {n}"),
         ("{n} en pratique", "{n} : bonnes pratiques et pièges", "{n} appliqué"),
         ("{n} avancé", "{n} en profondeur", "{n} en production"),
         ("Maîtriser {n}", "{n} : sous le capot", "{n} pour experts")),
        {"course": "Cours", "quiz": "Quiz", "exercise": "Exercices", "project": "Projet",
         "podcast": "Épisode {k}", "forum": "Question", "documentation": "Documentation",
         "tutorial": "Tutoriel", "other": "Ressources"},
        with_="avec", and_="et", colon=" : ", long_course="Cours complet{c}{t} ({h} heures)",
        edition="{t}, édition {y}"),
    "hi": _Lang(  # transliterated Hindi (Latin script)
        (("{n} ka parichay", "{n} seekhiye shuruaat se", "{n} ki shuruaat"),
         ("{n} ki buniyaadi baatein", "{n} kadam dar kadam", "{n} aasaan bhasha mein"),
         ("{n} vyavhaar mein", "{n} ko kaam mein lana", "{n} ke vyavhaarik udaharan"),
         ("{n} gehraai se", "{n} ka unnat upyog", "{n} production mein"),
         ("{n} mein maharat", "{n} andar se", "{n} visheshagyon ke liye")),
        {"course": "Paathyakram", "quiz": "Prashnottari", "exercise": "Abhyaas",
         "project": "Pariyojana", "podcast": "Kadi {k}", "forum": "Prashn",
         "documentation": "Dastavez", "tutorial": "Margdarshika", "other": "Sansaadhan"},
        with_="ke saath", and_="aur", inside=True, long_course="Sampoorn paathyakram{c}{t} ({h} ghante)",
        edition="{t} ({y} sanskaran)"),
}
TITLE_LANGUAGES = ("en", *_OTHER)
_EDITION_TYPES = frozenset({"course", "book", "tutorial"})


def _words(s: str) -> set[str]:
    return {w for w in re.findall(r"[a-zà-ÿ]+", s.casefold()) if len(w) >= 4}


def _pick(rng: np.random.Generator, templates: tuple[str, ...], names: list[str]) -> str:
    """One template, avoiding those that repeat a word of the skill names ("Advanced Advanced Python")."""
    taken = set().union(*(_words(n) for n in names))
    fits = [t for t in templates if not (_words(t.replace("{n}", "")) & taken)] or list(templates)
    return fits[int(rng.integers(len(fits)))]


def _phrase(template: str, names: list[str], *, with_: str, and_: str, inside: bool) -> str:
    """The template about ``names[0]``, naming ``names[1]`` (if any) where it reads naturally.

    The second skill closes the clause the topic is in ("SQL at scale with dbt: what we
    learned", "How well do you know SQL with dbt?"), or joins the topic with "and" when
    the template already says "with" or the language puts it inside ("X aur Y ka parichay").
    """
    if len(names) == 1:
        return template.format(n=names[0])
    if inside or f" {with_} {{n}}" in template.casefold():
        return template.format(n=f"{names[0]} {and_} {names[1]}")
    after = template.index("{n}") + 3
    cut = min((i for i in (template.find(c, after) for c in ":,?") if i >= 0), default=len(template))
    cut -= template[cut - 1:cut] == " "  # French puts a space before the colon
    return (template[:cut] + f" {with_} {names[1]}" + template[cut:]).format(n=names[0])


def _colon(phrase: str, colon: str) -> str:
    """The separator between a phrase and its label: a dash when the phrase has a colon of its own."""
    return " – " if ":" in phrase else colon


def _prefixed(prefix: str | None, phrase: str, colon: str) -> str:
    """``Prefix: phrase`` (``Prefix – phrase`` when the phrase has a colon)."""
    return phrase if prefix is None else f"{prefix}{_colon(phrase, colon)}{phrase}"


def make_title(*, rtype: str, level: int, language: str, names: list[str], duration_minutes: int,
               year: int, edition: bool, rng: np.random.Generator) -> str:
    """The title of an item of type ``rtype`` teaching ``names[0]`` (and naming ``names[1]``) at ``level``.

    ``edition`` adds the year (for fast-moving topics) where an edition makes sense.
    Languages without templates get English titles.
    """
    lang = _OTHER.get(language)
    episode = int(rng.integers(1, 400))
    hours = round(duration_minutes / 60)
    long_course = rtype == "course" and duration_minutes >= LONG_COURSE_MINUTES
    if lang is None:
        template = _pick(rng, _EN[rtype][level - 1], names)
        phrase = _phrase(template, names, with_="with", and_="and", inside=False)
        prefix = _EN_PREFIX.get(rtype)
        title = _prefixed(prefix.format(k=episode) if prefix else None, phrase, ": ")
        if rtype == "course":
            options = _EN_LONG_COURSE if long_course else _EN_COURSE
            title = options[int(rng.integers(len(options)))].format(t=title, h=hours, c=_colon(title, ": "))
        edition_frame = _EN_EDITION
    else:
        template = _pick(rng, lang.levels[level - 1], names)
        phrase = _phrase(template, names, with_=lang.with_, and_=lang.and_, inside=lang.inside)
        if long_course:
            title = lang.long_course.format(t=phrase, h=hours, c=_colon(phrase, lang.colon))
        else:
            prefix = lang.prefixes.get(rtype)
            title = _prefixed(prefix.format(k=episode) if prefix else None, phrase, lang.colon)
        edition_frame = lang.edition
    if edition and rtype in _EDITION_TYPES:
        title = edition_frame.format(t=title, y=year)
    return title
