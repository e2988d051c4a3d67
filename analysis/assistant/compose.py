"""The grounded answer: text built only from the cards the caller fetched, and the cards it used.

One small function per intent turns :class:`~analysis.assistant.cards.Facts` into
sentences. Names, titles, numbers and reasons are copied from the cards; the only words
of the composer's own are the glue ("Next for you:") and echoes of the question's
filters. Nothing found is said plainly, with what was asked, so an empty answer never
looks like a wrong one. An optional language model may rephrase ``text`` later; it
receives ``cards`` too, and the grounded ``text`` stays the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.assistant.cards import Card, Facts, ResourceCard, SkillCard, StepCard, card_dict
from analysis.assistant.entities import Entities
from analysis.assistant.lexicon import LANGUAGES
from analysis.assistant.understand import Understanding
from catalog.schema import RESOURCE_TYPES

__all__ = ["Answer", "compose", "help_answer", "HELP_TEXT", "describe_filters"]

HELP_TEXT = (
    "Here is what I can do:\n"
    "- what to do next: \"what should I do next?\", \"something short for tonight\"\n"
    "- your learning path: \"how do I get to Kubernetes level 4 by March?\"\n"
    "- why something is suggested, or what a skill needs: \"why the second one?\", \"what is RAG?\"\n"
    "- find resources: \"is there a short video on embeddings?\", then \"and in Spanish?\"\n"
    "- your progress: \"how am I doing?\"\n"
    "- a mentor: \"who can help me with Terraform?\"\n"
    "- set a goal: \"set my goal to SQL level 3 by June\" (I ask before changing anything)\n"
    "- freshness: \"is this course outdated?\""
)
_LANGUAGE_NAMES = {code: name.capitalize() for name, code in reversed(list(LANGUAGES.items())) if name.isascii()}
_PLURAL = {"quiz": "quizzes", "documentation": "documentation pages", "other": "other resources"}


@dataclass(frozen=True)
class Answer:
    """The reply: ``text`` for the mentee, ``cards`` it was built from (in the order shown).

    ``card_ids`` are the item ids of the resource and step cards, what "the second one"
    will mean in the next message (:meth:`ConversationState.advance`).
    """

    intent: str
    text: str
    cards: tuple[Card, ...] = ()
    needs_confirmation: bool = False

    @property
    def card_ids(self) -> tuple[str, ...]:
        return tuple(c.item_id for c in self.cards if isinstance(c, (ResourceCard, StepCard)))

    def to_dict(self) -> dict[str, Any]:
        return {"intent": self.intent, "text": self.text, "cards": [card_dict(c) for c in self.cards],
                "needs_confirmation": self.needs_confirmation}


def help_answer(*, understood: bool = True) -> Answer:
    """What the assistant can do; prefixed with an admission when the message was not understood."""
    lead = "" if understood else "I did not understand that, and I only answer from SkillPath's own data.\n"
    return Answer("help", lead + HELP_TEXT)


def _plural(t: str) -> str:
    return _PLURAL.get(t, t + "s")


def describe_filters(e: Entities, names: Mapping[str, str] | None = None, *, count: int = 2) -> str:
    """The question as a noun phrase: "videos on Kubernetes of at most 20 minutes", "resources in Spanish".

    ``count`` picks singular or plural ("1 video"); skill ids are shown by ``names`` when given.
    """
    names = names or {}
    if not e.types:
        noun = "resource" if count == 1 else "resources"
    elif len(e.types) <= 3:
        noun = " or ".join(t if count == 1 else _plural(t) for t in e.types)
    else:
        missing = [t for t in RESOURCE_TYPES if t not in e.types]
        noun = "resources that are not " + " or ".join(_plural(t) for t in missing)
    parts = [noun]
    if e.skills:
        parts.append("on " + " or ".join(names.get(s, s) for s in e.skills))
    if e.max_minutes is not None:
        parts.append(f"of at most {e.max_minutes} minutes")
    if e.level:
        parts.append(f"at level {e.level[0]}" if e.level[0] == e.level[1] else f"at level {e.level[0]}-{e.level[1]}")
    if e.language:
        parts.append("in " + _LANGUAGE_NAMES.get(e.language, e.language))
    return " ".join(parts)


def _filters_said(e: Entities) -> bool:
    return bool(e.types or e.skills or e.language or e.level or e.max_minutes is not None)


def _resource_line(n: int, c: ResourceCard, *, reasons: int = 1) -> str:
    bits = [] if c.title.endswith(f"({c.type})") else [c.type]
    bits.append(f"{c.minutes} min")
    if c.provider:
        bits.append(c.provider)
    line = f"{n}. {c.title} ({', '.join(bits)})"
    if reasons and c.reasons:
        line += ": " + "; ".join(c.reasons[:reasons])
    return line


def _next_step(u: Understanding, f: Facts, limit: int) -> Answer:
    cards = f.resources[:limit]
    asked = f" among {describe_filters(u.entities, f.names)}" if _filters_said(u.entities) else ""
    if not cards:
        return Answer(u.intent, f"I have no suggestion{asked} right now. "
                                "Try fewer filters, or ask for your learning path.")
    lines = [f"Next for you{asked}:"]
    lines += [_resource_line(i, c, reasons=2) for i, c in enumerate(cards, 1)]
    return Answer(u.intent, "\n".join(lines), cards)


def _search(u: Understanding, f: Facts, limit: int) -> Answer:
    cards = f.resources[:limit]
    words = f" matching “{' '.join(u.keywords)}”" if u.keywords and not u.entities.skills else ""
    if not cards:
        return Answer(u.intent, f"I found no {describe_filters(u.entities, f.names)}{words} in the catalog.")
    lines = [f"I found {len(cards)} {describe_filters(u.entities, f.names, count=len(cards))}{words}:"]
    lines += [_resource_line(i, c, reasons=0) for i, c in enumerate(cards, 1)]
    return Answer(u.intent, "\n".join(lines), cards)


def _path(u: Understanding, f: Facts, limit: int) -> Answer:
    steps = f.steps[:limit]
    lines = []
    if steps:
        total = f.total_steps if f.total_steps is not None else len(f.steps)
        minutes = f.total_minutes if f.total_minutes is not None else sum(s.minutes for s in f.steps)
        lines.append(f"Your path: {total} step{'s' if total != 1 else ''}, about {_hours(minutes)} in all. "
                     + ("First steps:" if total > len(steps) else "Steps:"))
        for s in steps:
            line = f"{s.step}. {s.title} ({s.type}, {s.minutes} min): {s.skill_name} to level {s.level}"
            if s.eta:
                line += f", done by {s.eta.isoformat()}"
            if s.mentor_name:
                line += f"; {s.mentor_name} can help"
            lines.append(line)
        last = f.steps[-1].eta if f.steps and (f.total_steps in (None, len(f.steps))) else None
        if u.entities.deadline and last:
            due = u.entities.deadline.isoformat()
            if last > u.entities.deadline:
                lines.append(f"At your study time the last step ends on {last.isoformat()}, after your deadline of "
                             f"{due}.")
            elif f.unreachable:  # the steps fit, but they do not reach every goal: never say "it fits" then
                lines.append(f"These steps end by {last.isoformat()}, before your deadline of {due}, but they do "
                             "not reach every goal:")
            else:
                lines.append(f"That fits your deadline of {due}.")
    for name, reason in f.unreachable:
        lines.append(f"{name} cannot be reached: {reason}.")
    if not lines:
        lines.append("I could not plan a path: there is no goal to plan for. Name a skill, or set a goal first.")
    return Answer(u.intent, "\n".join(lines), steps)


def _hours(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} minutes"
    h = f"{minutes / 60:.1f}".removesuffix(".0")
    return f"{h} hour{'s' if h != '1' else ''}"


def _explain(u: Understanding, f: Facts, limit: int) -> Answer:
    iid = u.entities.item_id
    if iid:
        for c in f.resources:
            if c.item_id == iid:
                return Answer(u.intent, _why(c.title, c.reasons, c), (c,))
        for s in f.steps:
            if s.item_id == iid:
                why = "; ".join(s.reasons) or f"it takes {s.skill_name} to level {s.level}"
                return Answer(u.intent, f"Why “{s.title}” (step {s.step}): {why}.", (s,))
        return Answer(u.intent, "I have nothing on that resource.")
    cards = [c for c in f.skills if not u.entities.skills or c.skill_id in u.entities.skills][:limit]
    if cards:
        return Answer(u.intent, "\n".join(_skill_text(c) for c in cards), tuple(cards))
    return Answer(u.intent, "Which one do you mean? Name a resource or a skill, or say \"the second one\" right "
                            "after a list.")


def _why(title: str, reasons: Sequence[str], c: ResourceCard) -> str:
    if reasons:
        return f"Why “{title}”: " + "; ".join(reasons) + "."
    taught = ", ".join(c.skills) or "no listed skill"
    level = f" at level {c.level}" if c.level else ""
    return f"“{title}” is a {c.type} of {c.minutes} minutes on {taught}{level}."


def _skill_text(c: SkillCard) -> str:
    head = f"{c.name}" + (f" ({c.domain})" if c.domain else "")
    if c.prerequisites:
        need = ", ".join(f"{p.name} at level {p.level}" for p in c.prerequisites)
        parts = [f"needs {need} first"]
    else:
        parts = ["has no prerequisites"]
    if c.dependents:
        parts.append("leads to " + ", ".join(d.name for d in c.dependents[:5]))
    if c.resources is not None:
        parts.append(f"{c.resources} active resource{'s' if c.resources != 1 else ''} teach it")
    return f"{head}: " + "; ".join(parts) + "."


def _progress(u: Understanding, f: Facts, limit: int) -> Answer:
    p = f.progress
    if p is None:
        return Answer(u.intent, "I have no progress recorded for you yet.")
    goals = [g for g in p.goals if not u.entities.skills or g.skill_id in u.entities.skills] or list(p.goals)
    lines = []
    for g in goals[:limit]:
        if g.met:
            state = f"level {g.target_level} reached"
        elif g.level is not None:
            state = f"about level {g.level:.1f} of {g.target_level}"
        else:
            state = f"aiming for level {g.target_level}"
        if g.mastery is not None:
            state += f" (mastery {g.mastery:.0%})"
        if g.deadline:
            state += f", deadline {g.deadline.isoformat()}"
            if g.eta and not g.met:
                state += ": on track" if g.eta <= g.deadline else f": expected {g.eta.isoformat()}, late"
        lines.append(f"{g.name}: {state}.")
    if p.completed is not None:
        lines.append(f"You have completed {p.completed} resource{'s' if p.completed != 1 else ''}"
                     + (f" and started {p.started}." if p.started else "."))
    if not lines:
        lines.append("You have no goals set yet.")
    return Answer(u.intent, "\n".join(lines), (p,))


def _mentor(u: Understanding, f: Facts, limit: int) -> Answer:
    cards = f.mentors[:limit]
    topic = " with " + " or ".join(f.names.get(s, s) for s in u.entities.skills) if u.entities.skills else ""
    if not cards:
        return Answer(u.intent, f"No mentor with a free place can help{topic} right now.")
    lines = [f"Mentors who can help{topic}:"]
    for i, m in enumerate(cards, 1):
        line = f"{i}. {m.name}" + (" (your mentor)" if m.assigned else "")
        if m.skills:
            line += ": " + ", ".join(m.skills)
        if m.free_places is not None:
            line += f"; {m.free_places} free place{'s' if m.free_places != 1 else ''}"
        if m.reasons:
            line += f"; {m.reasons[0]}"
        lines.append(line)
    return Answer(u.intent, "\n".join(lines), cards)


def _set_goal(u: Understanding, f: Facts, limit: int) -> Answer:
    g = f.goal
    if u.confirm is False:
        return Answer(u.intent, "OK, your goals stay as they are.")
    if g is None:
        return Answer(u.intent, "Which skill should the goal be? For example: \"set my goal to SQL level 3 by June\".")
    what = f"{g.name} at level {g.level}" + (f" by {g.deadline.isoformat()}" if g.deadline else "")
    if u.confirm is True:
        text = f"Done: your goal is now {what}." if g.saved else f"I could not save the goal {what}."
        return Answer(u.intent, text, (g,))
    return Answer(u.intent, f"Shall I set your goal to {what}? Answer yes or no.", (g,), needs_confirmation=True)


def _stale(u: Understanding, f: Facts, limit: int) -> Answer:
    cards = [c for c in f.resources if not u.entities.item_id or c.item_id == u.entities.item_id][:limit]
    if not cards:
        return Answer(u.intent, "I found nothing to check. Name a resource, or ask right after a list.")
    lines = []
    for c in cards:
        bits = []
        if c.updated:
            bits.append(f"last updated {c.updated.isoformat()}")
        if c.freshness is not None:
            bits.append(f"freshness {c.freshness:.0%}")
        verdict = "" if c.stale is None else (": outdated" if c.stale else ": still current")
        lines.append(f"{c.title}" + (f" ({', '.join(bits)})" if bits else "") + verdict + ".")
    return Answer(u.intent, "\n".join(lines), tuple(cards))


_COMPOSERS: dict[str, Callable[[Understanding, Facts, int], Answer]] = {
    "next_step": _next_step, "search": _search, "path": _path, "explain": _explain, "progress": _progress,
    "mentor": _mentor, "set_goal": _set_goal, "stale": _stale,
}


def compose(understanding: Understanding, facts: Facts = Facts(), *, limit: int = 5) -> Answer:
    """The grounded answer to ``understanding`` from ``facts`` (at most ``limit`` cards shown).

    Every card of the answer is one of ``facts``' cards, and every title, name, number
    and reason in ``text`` is copied from them.
    """
    if understanding.intent == "help" or not understanding.understood:
        return help_answer(understood=understanding.understood)
    return _COMPOSERS[understanding.intent](understanding, facts, limit)
