"""Entities as JSON documents: what the store keeps and the API answers.

Levels are ``{"skill": id, "level": n}`` objects, goals add ``"deadline"``; dates are
ISO-8601. Reading a document back goes through :func:`catalog.loaders.parse_records`,
the same checks as the data dir's files, so the API, the CLI and CSV import accept and
refuse the same things.
"""

from __future__ import annotations

from typing import Any

from catalog.schema import Goal, Mentee, Mentor, Resource, Skill, SkillLevel

__all__ = ["to_doc"]


def _iso(d: Any) -> str | None:
    return None if d is None else d.isoformat().replace("+00:00", "Z")


def _levels(levels: tuple[SkillLevel, ...]) -> list[dict[str, Any]]:
    return [{"skill": s.skill_id, "level": s.level} for s in levels]


def _goals(goals: tuple[Goal, ...]) -> list[dict[str, Any]]:
    return [{"skill": g.skill_id, "level": g.level, "deadline": None if g.deadline is None else g.deadline.isoformat()}
            for g in goals]


def to_doc(entity: Skill | Resource | Mentee | Mentor) -> dict[str, Any]:
    """The canonical document of a validated entity."""
    if isinstance(entity, Skill):
        return {"skill_id": entity.skill_id, "name": entity.name, "domain": entity.domain,
                "half_life_days": entity.half_life_days, "prerequisites": _levels(entity.prerequisites),
                "aliases": list(entity.aliases)}
    if isinstance(entity, Resource):
        return {"item_id": entity.item_id, "title": entity.title, "url": entity.url, "type": entity.type,
                "skills": _levels(entity.skills), "difficulty": entity.difficulty,
                "duration_minutes": entity.duration_minutes, "published_at": _iso(entity.published_at),
                "updated_at": _iso(entity.updated_at), "half_life_days": entity.half_life_days,
                "provider": entity.provider, "language": entity.language, "active": entity.active}
    if isinstance(entity, Mentee):
        return {"user_id": entity.user_id, "goals": _goals(entity.goals), "self_levels": _levels(entity.self_levels),
                "preferred_types": list(entity.preferred_types), "minutes_per_week": entity.minutes_per_week,
                "language": entity.language, "timezone": entity.timezone}
    return {"mentor_id": entity.mentor_id, "name": entity.name, "skills": _levels(entity.skills),
            "capacity": entity.capacity, "availability_hours": entity.availability_hours,
            "language": entity.language, "timezone": entity.timezone, "formats": list(entity.formats)}
