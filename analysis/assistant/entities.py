"""What a message was understood to be about: skills, resource types, limits, dates, an item.

:class:`Entities` is the one shape every step shares: the parser fills it, a follow-up
merges it with the previous turn's, search reads its filters, and ``to_dict`` is the
``entities`` object of the answer. It is frozen and JSON-round-trips exactly, so a
conversation state can be stored anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from catalog.errors import InvalidValueError
from catalog.schema import MAX_LEVEL, MIN_LEVEL, RESOURCE_TYPES

__all__ = ["Entities", "ENTITY_KINDS", "SHORT_MINUTES", "level_range"]

ENTITY_KINDS: tuple[str, ...] = ("skills", "types", "max_minutes", "level", "deadline", "item_id", "language")
# "short", "quick", "bite-sized": what a mentee means, in minutes (the median video is about 18).
SHORT_MINUTES = 20


def level_range(lo: int, hi: int) -> tuple[int, int]:
    """``(lo, hi)`` clipped to the catalog's levels and ordered."""
    lo, hi = sorted((int(lo), int(hi)))
    return max(MIN_LEVEL, min(MAX_LEVEL, lo)), max(MIN_LEVEL, min(MAX_LEVEL, hi))


@dataclass(frozen=True, slots=True)
class Entities:
    """Parsed filters and references; empty tuples and ``None`` mean "not said".

    ``level`` is an inclusive range (``"beginner"`` is ``(1, 2)``, ``"level 3"`` is
    ``(3, 3)``); ``types`` are catalog resource types; ``item_id`` is an id present in
    the catalog (named, or referred to as "the second one"); ``language`` is an ISO 639-1
    code ("in Spanish" -> ``"es"``).
    """

    skills: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    max_minutes: int | None = None
    level: tuple[int, int] | None = None
    deadline: date | None = None
    item_id: str | None = None
    language: str | None = None

    def with_(self, **changes: Any) -> "Entities":
        return replace(self, **changes)

    def is_empty(self) -> bool:
        return not (self.skills or self.types or self.item_id or self.language) and \
            self.max_minutes is None and self.level is None and self.deadline is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: lists for tuples, ``YYYY-MM-DD`` for the deadline."""
        return {
            "skills": list(self.skills), "types": list(self.types), "max_minutes": self.max_minutes,
            "level": list(self.level) if self.level else None,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "item_id": self.item_id, "language": self.language,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, field_name: str = "entities") -> "Entities":
        """The inverse of :meth:`to_dict`; a bad value raises naming ``field_name.key``."""
        if not isinstance(d, Mapping):
            raise InvalidValueError(field_name, "must be an object")
        unknown = set(d) - set(ENTITY_KINDS)
        if unknown:
            raise InvalidValueError(f"{field_name}.{sorted(unknown)[0]}", "unknown entity")
        try:
            types = tuple(str(t) for t in d.get("types") or ())
            bad = [t for t in types if t not in RESOURCE_TYPES]
            if bad:
                raise InvalidValueError(f"{field_name}.types", f"unknown resource type {bad[0]!r}")
            level = d.get("level")
            minutes = d.get("max_minutes")
            deadline = d.get("deadline")
            return cls(
                skills=tuple(str(s) for s in d.get("skills") or ()),
                types=types,
                max_minutes=None if minutes is None else int(minutes),
                level=None if not level else level_range(level[0], level[-1]),
                deadline=None if not deadline else date.fromisoformat(str(deadline)),
                item_id=None if d.get("item_id") is None else str(d["item_id"]),
                language=None if d.get("language") is None else str(d["language"]),
            )
        except InvalidValueError:
            raise
        except (TypeError, ValueError, IndexError) as e:
            raise InvalidValueError(field_name, f"cannot read entities: {e}") from None
