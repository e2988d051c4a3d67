"""How well one mentor fits one mentee: the match score, its parts, and its reasons.

The score is a weighted mean (weights in :class:`MatchWeights`, normalised by their sum,
so the score is in [0, 1]) of seven parts, each in [0, 1]:

- ``coverage``: share of the mentee's needs the mentor covers. A mentor covers a need
  when their level in the skill is at least the target level, and earns
  ``partial_credit`` when exactly one level below;
- ``urgency``: the same, weighted by each need's urgency (the next steps count most);
- ``goal_alignment``: the same over the mentee's goals (met or not);
- ``capacity``: free places ``f`` as ``f / (f + 1)`` (0 when full, 0.5 for one place);
- ``language``: 1 same language, 0 different, 0.5 when either is unknown;
- ``timezone``: ``1 - hours apart / 12`` (around the clock), 0.5 when either is unknown;
- ``format``: share of the mentee's preferred resource types the mentor's formats suit
  (see :data:`FORMAT_AFFINITY`), 0.5 when either side lists none.

:func:`score_pair` is the readable reference; ``score_matrix`` computes the same numbers
for every pair at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalog.schema import Mentee, Mentor
from recommender.matching.needs import Need

__all__ = [
    "COMPONENTS", "FORMAT_AFFINITY", "MatchWeights", "MatchScore", "score_pair", "credit",
    "language_match", "timezone_overlap", "format_fit", "capacity_left", "free_places",
    "normalise_language", "name_list",
]

COMPONENTS: tuple[str, ...] = (
    "coverage", "urgency", "goal_alignment", "capacity", "language", "timezone", "format",
)

# Which mentoring formats suit a mentee who prefers a resource type. A preference also
# matches a format spelled the same way (a mentee may list "chat" directly).
FORMAT_AFFINITY: dict[str, tuple[str, ...]] = {
    "video": ("video-call", "group-session"),
    "course": ("group-session", "video-call"),
    "podcast": ("video-call", "chat"),
    "article": ("chat",),
    "book": ("chat",),
    "documentation": ("chat", "code-review"),
    "forum": ("chat", "group-session"),
    "tutorial": ("pair-programming", "video-call"),
    "exercise": ("code-review", "pair-programming"),
    "project": ("pair-programming", "code-review"),
    "quiz": ("group-session", "chat"),
}


class MatchWeights(BaseModel):
    """Relative weight of each part of the match score (normalised by their sum)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    coverage: float = Field(0.35, ge=0, description="share of the mentee's next skills the mentor covers")
    urgency: float = Field(0.25, ge=0, description="coverage weighted by how soon each skill is needed")
    goal_alignment: float = Field(0.15, ge=0, description="share of the mentee's goals the mentor covers")
    capacity: float = Field(0.05, ge=0, description="free places f, as f / (f + 1)")
    language: float = Field(0.10, ge=0, description="same language (0.5 if unknown)")
    timezone: float = Field(0.05, ge=0, description="hours apart, 1 - h / 12 (0.5 if unknown)")
    format: float = Field(0.05, ge=0, description="mentor formats suit the mentee's preferred types")
    partial_credit: float = Field(0.5, ge=0, le=1, description="credit when the mentor is one level short")

    @model_validator(mode="after")
    def _some_weight(self) -> "MatchWeights":
        if self.total() <= 0:
            raise ValueError("at least one match weight must be > 0")
        return self

    def total(self) -> float:
        return float(sum(getattr(self, c) for c in COMPONENTS))

    def combine(self, parts: Mapping[str, float]) -> float:
        """The score from its parts: weighted mean in :data:`COMPONENTS` order."""
        acc = 0.0
        for c in COMPONENTS:
            acc += getattr(self, c) * parts[c]
        return acc / self.total()


@dataclass(frozen=True)
class MatchScore:
    """One mentor for one mentee: score in [0, 1], need coverage, and reasons in skill names.

    ``covered_skills``/``partial_skills`` are need skill ids (in need order) the mentor
    covers fully / one level short; ``parts`` holds each component of the score.
    """

    score: float
    coverage: float
    covered_skills: tuple[str, ...]
    reasons: tuple[str, ...]
    partial_skills: tuple[str, ...] = ()
    parts: Mapping[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------ the parts


def credit(mentor_level: int, target: int, partial: float) -> float:
    """1 if the mentor is at or above the target level, ``partial`` if one below, else 0."""
    if mentor_level >= target:
        return 1.0
    if mentor_level > 0 and mentor_level == target - 1:
        return partial
    return 0.0


def normalise_language(lang: str | None) -> str:
    """``"en-US"`` -> ``"en"``; empty when unknown."""
    return (lang or "").strip().lower().replace("_", "-").split("-")[0]


def language_match(a: str | None, b: str | None) -> float:
    la, lb = normalise_language(a), normalise_language(b)
    if not la or not lb:
        return 0.5
    return 1.0 if la == lb else 0.0


def hours_apart(a: float, b: float) -> float:
    d = abs(a - b) % 24
    return min(d, 24 - d)


def timezone_overlap(a: float | None, b: float | None) -> float:
    if a is None or b is None:
        return 0.5
    return 1.0 - hours_apart(a, b) / 12.0


def _suits(pref: str, formats: set[str]) -> bool:
    return pref in formats or any(f in formats for f in FORMAT_AFFINITY.get(pref, ()))


def format_fit(preferred: Sequence[str], formats: Sequence[str]) -> float:
    prefs = {p.strip().lower() for p in preferred if p.strip()}
    fmts = {f.strip().lower() for f in formats if f.strip()}
    if not prefs or not fmts:
        return 0.5
    return sum(_suits(p, fmts) for p in sorted(prefs)) / len(prefs)


def free_places(capacity: int, load: int) -> int:
    return max(int(capacity) - int(load), 0)


def capacity_left(capacity: int, load: int) -> float:
    f = free_places(capacity, load)
    return f / (f + 1.0)


# ------------------------------------------------------------------ one pair


def score_pair(needs: Sequence[Need], mentee: Mentee, mentor: Mentor, *, load: int = 0,
               weights: MatchWeights | None = None,
               skill_names: Mapping[str, str] | None = None) -> MatchScore:
    """Score ``mentor`` for ``mentee`` whose next needs are ``needs`` (soonest first).

    ``load`` is how many mentees the mentor already has; ``skill_names`` maps skill ids
    to the names used in reasons (ids are shown where a name is missing).
    """
    w = weights or MatchWeights()
    names = skill_names or {}
    levels = {s.skill_id: s.level for s in mentor.skills}
    credits = [credit(levels.get(n.skill_id, 0), n.level, w.partial_credit) for n in needs]
    total_u = sum(n.urgency for n in needs)
    parts = {
        "coverage": sum(credits) / len(needs) if needs else 0.0,
        "urgency": sum(n.urgency * c for n, c in zip(needs, credits)) / total_u if needs else 0.0,
        "goal_alignment": (sum(credit(levels.get(g.skill_id, 0), g.level, w.partial_credit)
                               for g in mentee.goals) / len(mentee.goals)) if mentee.goals else 0.0,
        "capacity": capacity_left(mentor.capacity, load),
        "language": language_match(mentee.language, mentor.language),
        "timezone": timezone_overlap(mentee.timezone, mentor.timezone),
        "format": format_fit(mentee.preferred_types, mentor.formats),
    }
    covered = tuple(n.skill_id for n in needs if levels.get(n.skill_id, 0) >= n.level)
    partial = tuple(n.skill_id for n in needs
                    if 0 < levels.get(n.skill_id, 0) == n.level - 1)
    reasons = _reasons(needs, mentee, mentor, load, covered, partial, levels, names)
    return MatchScore(score=w.combine(parts), coverage=parts["coverage"], covered_skills=covered,
                      reasons=tuple(reasons), partial_skills=partial, parts=parts)


def name_list(skill_ids: Sequence[str], names: Mapping[str, str], limit: int = 5) -> str:
    """``"Python, SQL and 2 more"``: skill names, at most ``limit`` of them."""
    shown = [names.get(s, s) for s in skill_ids[:limit]]
    more = len(skill_ids) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _reasons(needs: Sequence[Need], mentee: Mentee, mentor: Mentor, load: int, covered: tuple[str, ...],
             partial: tuple[str, ...], levels: Mapping[str, int], names: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    n, k = len(needs), len(covered)
    if n == 0:
        out.append("you have no open skill needs (your goals are met)")
    elif k == n:
        out.append(f"covers your next skill: {name_list(covered, names)}" if n == 1
                   else f"covers all {n} of your next skills: {name_list(covered, names)}")
    elif k:
        out.append(f"covers {k} of your {n} next skills: {name_list(covered, names)}")
    else:
        out.append("does not cover your next skill" if n == 1 else f"covers none of your {n} next skills")
    if partial:
        out.append(f"one level short of what you need in {name_list(partial, names)}")
    needed = {x.skill_id for x in needs}
    for g in mentee.goals:
        lvl = levels.get(g.skill_id, 0)
        if g.skill_id not in needed and lvl > 0:
            out.append(f"also mentors {names.get(g.skill_id, g.skill_id)} at level {lvl}")
    la, lb = normalise_language(mentee.language), normalise_language(mentor.language)
    if la and lb:
        out.append(f"speaks your language ({la})" if la == lb else f"speaks {lb} (you: {la})")
    if mentee.timezone is not None and mentor.timezone is not None:
        h = hours_apart(mentee.timezone, mentor.timezone)
        out.append("same time zone" if h == 0 else f"{h:g} h apart")
    prefs = sorted({p.strip().lower() for p in mentee.preferred_types if p.strip()})
    fmts = {f.strip().lower() for f in mentor.formats if f.strip()}
    if prefs and fmts:
        suited = [p for p in prefs if _suits(p, fmts)]
        offered = ", ".join(sorted(fmts))
        out.append(f"offers {offered}, suits your preference for {', '.join(suited)}" if suited
                   else f"offers {offered}, none suits your preference for {', '.join(prefs)}")
    f = free_places(mentor.capacity, load)
    out.append("no free places" if f == 0 else ("1 free place" if f == 1 else f"{f} free places"))
    return out
